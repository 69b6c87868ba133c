import assert from 'node:assert/strict';

import { compareStrings, sortStrings } from '../../../src/plan/order.ts';

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

describe('plan/order: sortStrings', () => {
    it('sorts in place in compareStrings order, short and long arrays alike', () => {
        for (const n of [0, 1, 2, 5, 16, 17, 40]) {
            const items = Array.from(
                { length: n },
                (_, i) => `k${(i * 7919) % 97}${i % 3 === 0 ? 'Z' : 'a'}`,
            );
            const want = [...items].sort(compareStrings);
            const got = sortStrings(items);
            assert.equal(got, items, 'the same array');
            assert.deepEqual(got, want);
        }
    });
});
