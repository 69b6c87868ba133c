/**
 * Summarises a V8 `.cpuprofile` (written by `node --cpu-prof`, see `npm run bench -- --cpu-prof`): self and
 * inclusive time per function and per module, heaviest first, idle time left out.
 * Usage: `node bench/cpuprofile.ts <file.cpuprofile> [top]`.
 *
 * Self time is the sum of the sample intervals (`timeDeltas`) whose leaf frame is the function — the "bottom-up"
 * view, pointing at the code that burns CPU. Inclusive time adds every sample with the function anywhere on its
 * stack (once per sample, so recursion is not counted twice) — the "top-down" view that answers "what does the
 * status pass cost in all". The benchmark profiles the minified bundle (`dist/bundle/operator.mjs`, what the image
 * runs); frames in a script with a `sourceMappingURL` are mapped back to their original file, line and name through
 * Node's own source-map reader (`node:module` `SourceMap`), so the summary names `src/...` and npm packages.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import type { SourceMapPayload } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
    functionName: string;
    url: string;
    lineNumber: number;
    columnNumber?: number;
}
interface ProfileNode {
    id: number;
    callFrame: CallFrame;
    children?: number[];
}
export interface CpuProfile {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
    startTime: number;
    endTime: number;
}

export interface SelfTime {
    name: string;
    ms: number;
    share: number;
}

/** Where a frame really is: its original file (a URL or path) and line (1-based), and its name. */
export interface Origin {
    url: string;
    line: number;
    name: string;
}

/** Maps a frame to its origin; `undefined` keeps the frame as V8 reported it. */
export type Resolve = (frame: CallFrame) => Origin | undefined;

/** Where a frame lives: `node_modules/<pkg>`, `src/...` path, `node:` built-in, or a V8 pseudo-frame. */
export function moduleOf(url: string): string {
    if (!url) return '(v8/native)';
    const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    if (nm) return nm[1]!;
    const repo = /(?:^|\/)(src|test|bench)\/(.*)$/.exec(url);
    if (repo) return `${repo[1]}/${repo[2]}`;
    return url.startsWith('node:') ? url : url.replace(/^file:\/\//, '');
}

const IDLE = '(idle)';

export interface ProfileTimes {
    byFunction: SelfTime[];
    byModule: SelfTime[];
    inclusiveByFunction: SelfTime[];
    inclusiveByModule: SelfTime[];
    /** Sampled time outside `(idle)`. */
    totalMs: number;
    idleMs: number;
}

export function profileTimes(p: CpuProfile, resolve: Resolve = () => undefined): ProfileTimes {
    const nodes = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const keys = new Map<number, { fn: string; mod: string }>();
    const keyOf = (id: number) => {
        let k = keys.get(id);
        if (k) return k;
        const f = nodes.get(id)!.callFrame;
        const o = resolve(f);
        const url = o?.url ?? f.url;
        const mod = moduleOf(url);
        k = {
            fn: `${o?.name || f.functionName || '(anonymous)'} ${mod}:${o?.line ?? f.lineNumber + 1}`,
            mod,
        };
        keys.set(id, k);
        return k;
    };
    const self = { fn: new Map<string, number>(), mod: new Map<string, number>() };
    const incl = { fn: new Map<string, number>(), mod: new Map<string, number>() };
    const add = (m: Map<string, number>, k: string, dt: number) => m.set(k, (m.get(k) ?? 0) + dt);
    let total = 0;
    let idle = 0;
    for (let i = 0; i < p.samples.length; i++) {
        const id = p.samples[i]!;
        const dt = (p.timeDeltas[i] ?? 0) / 1000;
        if (!nodes.has(id)) continue;
        if (nodes.get(id)!.callFrame.functionName === IDLE) {
            idle += dt;
            continue;
        }
        total += dt;
        const leaf = keyOf(id);
        add(self.fn, leaf.fn, dt);
        add(self.mod, leaf.mod, dt);
        const seenFn = new Set<string>();
        const seenMod = new Set<string>();
        for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
            const k = keyOf(at);
            if (!seenFn.has(k.fn)) (add(incl.fn, k.fn, dt), seenFn.add(k.fn));
            if (!seenMod.has(k.mod)) (add(incl.mod, k.mod, dt), seenMod.add(k.mod));
        }
    }
    const sorted = (m: Map<string, number>) =>
        [...m.entries()]
            .map(([name, ms]) => ({ name, ms, share: total ? ms / total : 0 }))
            .sort((a, b) => b.ms - a.ms);
    return {
        byFunction: sorted(self.fn),
        byModule: sorted(self.mod),
        inclusiveByFunction: sorted(incl.fn),
        inclusiveByModule: sorted(incl.mod),
        totalMs: total,
        idleMs: idle,
    };
}

/** Self time only (kept for callers that want the bottom-up view). */
export function selfTimes(p: CpuProfile): { byFunction: SelfTime[]; byModule: SelfTime[]; totalMs: number } {
    const t = profileTimes(p);
    return { byFunction: t.byFunction, byModule: t.byModule, totalMs: t.totalMs };
}

/** A resolver through the source maps of the profiled scripts (`<script>.map` next to each, when present). */
export function sourceMapResolver(): Resolve {
    const maps = new Map<string, SourceMap | undefined>();
    const mapFor = (url: string) => {
        if (!maps.has(url)) {
            let map: SourceMap | undefined;
            if (url.startsWith('file://')) {
                const file = fileURLToPath(url);
                const src = existsSync(file) ? readFileSync(file, 'utf8') : '';
                const ref = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(src)?.[1];
                const path = ref && !ref.startsWith('data:') ? join(dirname(file), ref) : undefined;
                if (path && existsSync(path))
                    map = new SourceMap(JSON.parse(readFileSync(path, 'utf8')) as SourceMapPayload);
            }
            maps.set(url, map);
        }
        return maps.get(url);
    };
    return (f) => {
        const map = f.url ? mapFor(f.url) : undefined;
        const e = map?.findEntry(f.lineNumber, f.columnNumber ?? 0);
        if (!e || !('originalSource' in e)) return undefined;
        return {
            url: e.originalSource,
            line: e.originalLine + 1,
            name: (e as { name?: string }).name ?? f.functionName,
        };
    };
}

if (import.meta.url === `file://${process.argv[1]}`) {
    const file = process.argv[2];
    if (!file) throw new Error('usage: node bench/cpuprofile.ts <file.cpuprofile> [top]');
    const top = Number(process.argv[3] ?? 25);
    const t = profileTimes(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, sourceMapResolver());
    const line = (s: SelfTime) =>
        `${s.ms.toFixed(0).padStart(8)} ms ${(s.share * 100).toFixed(1).padStart(5)} %  ${s.name}`;
    const show = (title: string, list: SelfTime[], n: number) => {
        console.log(`\n${title}:`);
        for (const s of list.slice(0, n)) console.log(line(s));
    };
    console.log(
        `busy: ${(t.totalMs / 1000).toFixed(2)} s (idle ${(t.idleMs / 1000).toFixed(2)} s not counted)`,
    );
    show('self time by module', t.byModule, 20);
    show('self time by function', t.byFunction, top);
    show('inclusive time by module', t.inclusiveByModule, 20);
    show('inclusive time by function', t.inclusiveByFunction, top);
}
