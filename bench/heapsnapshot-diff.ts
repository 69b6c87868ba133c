/**
 * Compares two V8 heap snapshots of one process (e.g. the memory soak's baseline and end, test/faults/soak.test.ts
 * with SOAK_HEAP_SNAPSHOT_DIR): growth by class (count, self size, retained size from `analyse`), and, given a
 * pattern, the live strings of the second snapshot that match it (names of deleted objects are the tell-tale of a
 * leak) with their shortest retaining paths from the GC roots, grouped. Usage:
 *   node --max-old-space-size=4096 bench/heapsnapshot-diff.ts <before> <after> [string-regex]
 *
 * Design choice: the pure parts (`classGrowth`, `retainingPaths`) take parsed snapshots; only the CLI reads files.
 * Paths are shortest by breadth-first search over strong edges, which is what "who keeps this alive" asks.
 */
import { readFileSync } from 'node:fs';

import { analyse } from './heapsnapshot.ts';
import type { HeapSnapshot } from './heapsnapshot.ts';

export interface ClassGrowth {
    name: string;
    count: number;
    selfBytes: number;
    retainedBytes: number;
}

/** Per class: after minus before, largest self-size growth first. */
export function classGrowth(before: HeapSnapshot, after: HeapSnapshot): ClassGrowth[] {
    const a = new Map(analyse(before, 0).byClass.map((c) => [c.name, c]));
    return analyse(after, 0)
        .byClass.map((c) => ({
            name: c.name,
            count: c.count - (a.get(c.name)?.count ?? 0),
            selfBytes: c.selfBytes - (a.get(c.name)?.selfBytes ?? 0),
            retainedBytes: c.retainedBytes - (a.get(c.name)?.retainedBytes ?? 0),
        }))
        .sort((x, y) => y.selfBytes - x.selfBytes);
}

/** Live strings matching `pattern`, grouped by the last `depth` steps of their shortest retaining path. */
export function retainingPaths(s: HeapSnapshot, pattern: RegExp, depth = 6): Map<string, number> {
    const meta = s.snapshot.meta;
    const nf = meta.node_fields.length;
    const ef = meta.edge_fields.length;
    const nodeTypes = meta.node_types[0];
    const edgeTypes = meta.edge_types[0];
    const edgeCount = meta.node_fields.indexOf('edge_count');
    const toField = meta.edge_fields.indexOf('to_node');
    const typeField = meta.edge_fields.indexOf('type');
    const nameField = meta.edge_fields.indexOf('name_or_index');
    const n = s.nodes.length / nf;
    const first = new Uint32Array(n + 1);
    for (let i = 0, e = 0; i < n; i++) {
        first[i] = e;
        e += s.nodes[i * nf + edgeCount]! * ef;
        first[i + 1] = e;
    }
    const parent = new Int32Array(n).fill(-1);
    const via = new Int32Array(n).fill(-1);
    parent[0] = 0;
    const queue = [0];
    for (let h = 0; h < queue.length; h++) {
        const i = queue[h]!;
        for (let e = first[i]!; e < first[i + 1]!; e += ef) {
            if (edgeTypes[s.edges[e + typeField]!] === 'weak') continue;
            const j = s.edges[e + toField]! / nf;
            if (parent[j] !== -1) continue;
            parent[j] = i;
            via[j] = e;
            queue.push(j);
        }
    }
    const type = (i: number) => nodeTypes[s.nodes[i * nf]!]!;
    const name = (i: number) => s.strings[s.nodes[i * nf + 1]!]!;
    const groups = new Map<string, number>();
    for (let i = 0; i < n; i++) {
        if (!type(i).includes('string') || !pattern.test(name(i)) || parent[i] === -1) continue;
        const steps: string[] = [];
        for (let j = i; j !== 0 && steps.length < depth; j = parent[j]!) {
            const e = via[j]!;
            const kind = edgeTypes[s.edges[e + typeField]!];
            const label =
                kind === 'element' || kind === 'hidden' ? '' : String(s.strings[s.edges[e + nameField]!]);
            const edge = label === '' || /^\d+$/.test(label) ? '[]' : label; // slots group as one path
            const p = parent[j]!;
            steps.push(`${type(p) === 'object' ? name(p) : `(${type(p)})`}.${edge}`);
        }
        const key = steps.reverse().join(' → ');
        groups.set(key, (groups.get(key) ?? 0) + 1);
    }
    return groups;
}

if (import.meta.url === `file://${process.argv[1]}`) {
    const [beforeFile, afterFile, pattern] = process.argv.slice(2);
    if (!beforeFile || !afterFile)
        throw new Error('usage: node bench/heapsnapshot-diff.ts <before> <after> [string-regex]');
    const read = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as HeapSnapshot;
    const before = read(beforeFile);
    const after = read(afterFile);
    const kib = (b: number) => `${(b / 1024).toFixed(0).padStart(9)} KiB`;
    console.log('growth by class (self, retained, count):');
    for (const c of classGrowth(before, after).slice(0, 15))
        console.log(`${kib(c.selfBytes)} ${kib(c.retainedBytes)} ${String(c.count).padStart(8)}  ${c.name}`);
    if (pattern) {
        const groups = [...retainingPaths(after, new RegExp(pattern))].sort((a, b) => b[1] - a[1]);
        console.log(
            `\nlive strings matching /${pattern}/, by retaining path (count, path from the root side):`,
        );
        for (const [path, count] of groups.slice(0, 15)) console.log(`${String(count).padStart(6)}  ${path}`);
    }
}
