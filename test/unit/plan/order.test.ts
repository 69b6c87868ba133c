import assert from 'node:assert/strict';

import { compareStrings } from '../../../src/plan/order.ts';

describe('compareStrings', () => {
    it('orders by code unit, not by locale: capitals first, digits before letters, equal is 0', () => {
        assert.deepEqual(['b', 'B', 'a', '10', '9', 'A'].sort(compareStrings), [
            '10',
            '9',
            'A',
            'B',
            'a',
            'b',
        ]);
        assert.equal(compareStrings('x', 'x'), 0);
        assert.ok(compareStrings('a', 'b') < 0 && compareStrings('b', 'a') > 0);
    });
});
