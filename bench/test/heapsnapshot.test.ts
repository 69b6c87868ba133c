/**
 * Unit tests of the heap snapshot summary (bench/heapsnapshot.ts) on a hand-built seven-node snapshot: dominators
 * and retained sizes, weak edges ignored, and retaining paths named by class and edge.
 */
import assert from 'node:assert/strict';

import { analyse } from '../heapsnapshot.ts';
import type { HeapSnapshot } from '../heapsnapshot.ts';

const EDGE_TYPES = ['context', 'element', 'property', 'internal', 'hidden', 'shortcut', 'weak'];
const NODE_TYPES = [
    'hidden',
    'array',
    'string',
    'object',
    'code',
    'closure',
    'regexp',
    'number',
    'native',
    'synthetic',
];

/** root → Cache → Map → string; root → Other → Shared ← Cache; Map ⇢(weak) Weakling. */
function snapshot(): HeapSnapshot {
    const strings = [
        '',
        'root',
        'Cache',
        'Other',
        'Shared',
        'Map',
        'x'.repeat(10),
        'Weakling',
        'cache',
        'other',
        'a',
        'b',
        'items',
    ];
    const s = (v: string) => strings.indexOf(v);
    const t = (v: string) => NODE_TYPES.indexOf(v);
    // type, name, id, self_size, edge_count
    const nodes = [
        [t('synthetic'), s('root'), 1, 0, 2],
        [t('object'), s('Cache'), 3, 10, 2],
        [t('object'), s('Other'), 5, 5, 1],
        [t('object'), s('Shared'), 7, 7, 0],
        [t('object'), s('Map'), 9, 20, 2],
        [t('string'), s('x'.repeat(10)), 11, 100, 0],
        [t('object'), s('Weakling'), 13, 50, 0],
    ].flat();
    const e = (type: string, name: number, to: number) => [EDGE_TYPES.indexOf(type), name, to * 5];
    const edges = [
        e('property', s('cache'), 1),
        e('property', s('other'), 2),
        e('property', s('a'), 3),
        e('property', s('items'), 4),
        e('property', s('b'), 3),
        e('element', 0, 5),
        e('weak', 1, 6),
    ].flat();
    return {
        snapshot: {
            meta: {
                node_fields: ['type', 'name', 'id', 'self_size', 'edge_count'],
                node_types: [NODE_TYPES],
                edge_fields: ['type', 'name_or_index', 'to_node'],
                edge_types: [EDGE_TYPES],
            },
        },
        nodes,
        edges,
        strings,
    };
}

describe('heap snapshot summary', () => {
    it('computes retained sizes from the dominator tree and ignores objects reachable only weakly', () => {
        const a = analyse(snapshot());
        assert.equal(a.totalBytes, 142);
        assert.equal(a.nodeCount, 6);
        const byName = new Map(a.byClass.map((c) => [c.name, c]));
        assert.equal(byName.get('Cache')?.retainedBytes, 130); // itself, its Map and the string; not Shared
        assert.equal(byName.get('Shared')?.retainedBytes, 7);
        assert.equal(byName.get('(string)')?.selfBytes, 100);
        assert.equal(byName.has('Weakling'), false);
        assert.equal(a.byClass[0]!.name, 'Cache');
    });

    it('names the shortest retaining path of the largest retainers by class and edge', () => {
        const a = analyse(snapshot());
        assert.deepEqual(
            a.topRetainers.map((r) => [r.name, r.retainedBytes]),
            [
                ['Cache', 130],
                ['Map', 120],
                ['Shared', 7],
                ['Other', 5],
            ],
        );
        assert.deepEqual(a.topRetainers[1]!.path, ['(synthetic).cache', 'Cache.items']);
    });
});
