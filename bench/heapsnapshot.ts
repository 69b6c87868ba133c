/**
 * Summarises a V8 heap snapshot (written by the operator on SIGUSR2, `npm run bench -- --heap-snapshot`): live
 * memory by constructor (count, self size, retained size) and the single objects that retain the most, each with
 * its shortest retaining path from the GC roots. Usage:
 *   node --max-old-space-size=4096 bench/heapsnapshot.ts <file.heapsnapshot> [top]
 *
 * Design choice: retained sizes come from the dominator tree (Cooper–Harvey–Kennedy iteration over a reverse
 * postorder, weak edges ignored), as in Chrome DevTools, computed over flat typed arrays so that snapshots with
 * millions of nodes fit. The pure analysis (`analyse`) takes the parsed snapshot; only the CLI reads files.
 */
import { readFileSync } from 'node:fs';

export interface HeapSnapshot {
    snapshot: {
        meta: {
            node_fields: string[];
            node_types: [string[], ...unknown[]];
            edge_fields: string[];
            edge_types: [string[], ...unknown[]];
        };
    };
    nodes: number[];
    edges: number[];
    strings: string[];
}

export interface ClassSummary {
    name: string;
    count: number;
    selfBytes: number;
    /** Sum of the retained sizes of the instances not dominated by another instance of the same class. */
    retainedBytes: number;
}

export interface Retainer {
    name: string;
    selfBytes: number;
    retainedBytes: number;
    /** Shortest path from the root: `Class.edge` steps (the last 12, after `…` if cut). */
    path: string[];
}

export interface HeapAnalysis {
    totalBytes: number;
    nodeCount: number;
    byClass: ClassSummary[];
    topRetainers: Retainer[];
}

/** DevTools' class name of a node: the constructor for objects, `(type)` otherwise. */
function className(type: string, name: string): string {
    if (type === 'object' || type === 'native') return name;
    if (type === 'closure') return '(closure)';
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') return '(string)';
    return `(${type})`;
}

export function analyse(s: HeapSnapshot, top = 25): HeapAnalysis {
    const meta = s.snapshot.meta;
    const nf = meta.node_fields.length;
    const ef = meta.edge_fields.length;
    const nType = meta.node_fields.indexOf('type');
    const nName = meta.node_fields.indexOf('name');
    const nSelf = meta.node_fields.indexOf('self_size');
    const nEdges = meta.node_fields.indexOf('edge_count');
    const eType = meta.edge_fields.indexOf('type');
    const eName = meta.edge_fields.indexOf('name_or_index');
    const eTo = meta.edge_fields.indexOf('to_node');
    const nodeTypes = meta.node_types[0];
    const edgeTypes = meta.edge_types[0];
    const weak = edgeTypes.indexOf('weak');
    const n = s.nodes.length / nf;

    const firstEdge = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) firstEdge[i + 1] = firstEdge[i]! + s.nodes[i * nf + nEdges]!;
    const target = (e: number) => s.edges[e * ef + eTo]! / nf;
    const strong = (e: number) => s.edges[e * ef + eType] !== weak;
    const cls = (i: number) =>
        className(nodeTypes[s.nodes[i * nf + nType]!] ?? '?', s.strings[s.nodes[i * nf + nName]!] ?? '');
    const selfOf = (i: number) => s.nodes[i * nf + nSelf]!;

    // Postorder numbering from the root (node 0) over strong edges, iteratively; BFS parents for paths.
    const po = new Int32Array(n).fill(-1);
    const order = new Int32Array(n); // po index -> node
    const visited = new Uint8Array(n);
    const cursor = new Int32Array(n);
    const stack = new Int32Array(n);
    let sp = 0;
    let count = 0;
    stack[sp++] = 0;
    visited[0] = 1;
    cursor[0] = firstEdge[0]!;
    while (sp > 0) {
        const v = stack[sp - 1]!;
        let pushed = false;
        while (cursor[v]! < firstEdge[v + 1]!) {
            const e = cursor[v]!;
            cursor[v] = e + 1;
            if (!strong(e)) continue;
            const w = target(e);
            if (visited[w]) continue;
            visited[w] = 1;
            cursor[w] = firstEdge[w]!;
            stack[sp++] = w;
            pushed = true;
            break;
        }
        if (!pushed) {
            sp--;
            po[v] = count;
            order[count++] = v;
        }
    }

    // Predecessors of reachable nodes, by po index (CSR).
    const predStart = new Int32Array(count + 1);
    for (let v = 0; v < n; v++) {
        if (po[v]! < 0) continue;
        for (let e = firstEdge[v]!; e < firstEdge[v + 1]!; e++) {
            if (strong(e) && po[target(e)]! >= 0) predStart[po[target(e)]! + 1]!++;
        }
    }
    for (let i = 0; i < count; i++) predStart[i + 1]! += predStart[i]!;
    const preds = new Int32Array(predStart[count]!);
    const fill = predStart.slice(0, count);
    for (let v = 0; v < n; v++) {
        if (po[v]! < 0) continue;
        for (let e = firstEdge[v]!; e < firstEdge[v + 1]!; e++) {
            if (!strong(e)) continue;
            const w = po[target(e)]!;
            if (w >= 0) preds[fill[w]!++] = po[v]!;
        }
    }

    // Cooper–Harvey–Kennedy: idom by po index; the root has the highest index.
    const root = count - 1;
    const idom = new Int32Array(count).fill(-1);
    idom[root] = root;
    const intersect = (a: number, b: number) => {
        while (a !== b) {
            while (a < b) a = idom[a]!;
            while (b < a) b = idom[b]!;
        }
        return a;
    };
    for (let changed = true; changed;) {
        changed = false;
        for (let b = root - 1; b >= 0; b--) {
            let d = -1;
            for (let k = predStart[b]!; k < predStart[b + 1]!; k++) {
                const p = preds[k]!;
                if (idom[p]! < 0) continue;
                d = d < 0 ? p : intersect(p, d);
            }
            if (d >= 0 && idom[b] !== d) {
                idom[b] = d;
                changed = true;
            }
        }
    }

    // Retained sizes: children (lower po index) are done before their dominator.
    const retained = new Float64Array(count);
    for (let i = 0; i < count; i++) retained[i] = selfOf(order[i]!);
    for (let i = 0; i < root; i++) if (idom[i]! >= 0 && idom[i] !== i) retained[idom[i]!]! += retained[i]!;

    const names = new Array<string>(count);
    for (let i = 0; i < count; i++) names[i] = cls(order[i]!);
    const byName = new Map<string, ClassSummary>();
    for (let i = 0; i < root; i++) {
        const name = names[i]!;
        let c = byName.get(name);
        if (!c) byName.set(name, (c = { name, count: 0, selfBytes: 0, retainedBytes: 0 }));
        c.count++;
        c.selfBytes += selfOf(order[i]!);
        // Count an instance's retained size unless an instance of the same class dominates it.
        let d = idom[i]!;
        let nested = false;
        while (d !== root && d >= 0) {
            if (names[d] === name) {
                nested = true;
                break;
            }
            d = idom[d]!;
        }
        if (!nested) c.retainedBytes += retained[i]!;
    }

    // Shortest retaining paths (BFS over strong edges) for the top retainers.
    const parentEdge = new Int32Array(n).fill(-1);
    const parentNode = new Int32Array(n).fill(-1);
    const queue = new Int32Array(n);
    const seen = new Uint8Array(n);
    let qh = 0;
    let qt = 0;
    queue[qt++] = 0;
    seen[0] = 1;
    while (qh < qt) {
        const v = queue[qh++]!;
        for (let e = firstEdge[v]!; e < firstEdge[v + 1]!; e++) {
            if (!strong(e)) continue;
            const w = target(e);
            if (seen[w]) continue;
            seen[w] = 1;
            parentEdge[w] = e;
            parentNode[w] = v;
            queue[qt++] = w;
        }
    }
    const edgeLabel = (e: number) => {
        const t = edgeTypes[s.edges[e * ef + eType]!];
        const v = s.edges[e * ef + eName]!;
        return t === 'element' || t === 'hidden' ? `[${v}]` : `.${s.strings[v] ?? v}`;
    };
    const pathTo = (node: number) => {
        const steps: string[] = [];
        let v = node;
        for (; parentNode[v]! >= 0 && steps.length < 12; v = parentNode[v]!)
            steps.unshift(`${cls(parentNode[v]!)}${edgeLabel(parentEdge[v]!)}`);
        if (parentNode[v]! >= 0) steps.unshift('…');
        return steps;
    };
    const ranked = Array.from({ length: root }, (_, i) => i)
        .filter((i) => !names[i]!.startsWith('(') || names[i] === '(closure)')
        .sort((a, b) => retained[b]! - retained[a]!)
        .slice(0, top);

    return {
        totalBytes: retained[root]!,
        nodeCount: count,
        byClass: [...byName.values()].sort((a, b) => b.retainedBytes - a.retainedBytes),
        topRetainers: ranked.map((i) => ({
            name: names[i]!,
            selfBytes: selfOf(order[i]!),
            retainedBytes: retained[i]!,
            path: pathTo(order[i]!),
        })),
    };
}

if (import.meta.url === `file://${process.argv[1]}`) {
    const file = process.argv[2];
    if (!file) throw new Error('usage: node bench/heapsnapshot.ts <file.heapsnapshot> [top]');
    const top = Number(process.argv[3] ?? 25);
    const a = analyse(JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshot, top);
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(1).padStart(8)} MiB`;
    console.log(
        `reachable: ${mib(a.totalBytes)} in ${a.nodeCount} nodes\n\nby class (retained, self, count):`,
    );
    for (const c of a.byClass.slice(0, top))
        console.log(`${mib(c.retainedBytes)} ${mib(c.selfBytes)} ${String(c.count).padStart(9)}  ${c.name}`);
    console.log('\nlargest single retainers (retained, self, path from the GC roots):');
    for (const r of a.topRetainers)
        console.log(`${mib(r.retainedBytes)} ${mib(r.selfBytes)}  ${r.name}  <- ${r.path.join(' ')}`);
}
