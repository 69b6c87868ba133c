import assert from 'node:assert/strict';
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';

import { listAllPages } from '../../../src/runtime/pager.ts';
import type { PageRequest } from '../../../src/runtime/pager.ts';

describe('listAllPages (paginated LIST)', () => {
    it('follows continue tokens, keeps the snapshot resourceVersion and trims every page', async () => {
        const all = Array.from({ length: 1234 }, (_, i) => ({
            metadata: { name: `o${i}`, annotations: { big: 'x' } },
        }));
        const requests: PageRequest[] = [];
        const list = await listAllPages<KubernetesObject>(
            (req) => {
                requests.push(req);
                const start = req._continue ? Number(req._continue) : 0;
                const items = all.slice(start, start + req.limit);
                const next = start + req.limit < all.length ? String(start + req.limit) : undefined;
                const page: KubernetesListObject<KubernetesObject> = {
                    items,
                    metadata: { resourceVersion: '42', _continue: next },
                };
                return Promise.resolve(page);
            },
            { limit: 500, transform: (o) => ({ metadata: { name: o.metadata?.name } }) },
        );
        assert.equal(list.items.length, 1234);
        assert.deepEqual(
            requests.map((r) => r._continue ?? '-'),
            ['-', '500', '1000'],
        );
        assert.equal(list.metadata?.resourceVersion, '42');
        assert.equal(list.metadata?._continue, undefined);
        assert.deepEqual(list.items[1233], { metadata: { name: 'o1233' } });
    });

    it('follows the raw JSON token name `continue` of custom-objects lists', async () => {
        let calls = 0;
        const list = await listAllPages<KubernetesObject>((req) => {
            calls++;
            const raw = req._continue
                ? { items: [{ metadata: { name: 'b' } }], metadata: { resourceVersion: '7' } }
                : {
                      items: [{ metadata: { name: 'a' } }],
                      metadata: { resourceVersion: '7', continue: 'next' },
                  };
            return Promise.resolve(raw as KubernetesListObject<KubernetesObject>);
        });
        assert.equal(calls, 2);
        assert.deepEqual(
            list.items.map((o) => o.metadata?.name),
            ['a', 'b'],
        );
    });
});
