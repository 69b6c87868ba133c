/**
 * Summarises a V8 `.cpuprofile` (written by `node --cpu-prof`, see `npm run bench -- --cpu-prof`): self time per
 * function and per module, heaviest first. Usage: `node bench/cpuprofile.ts <file.cpuprofile> [top]`.
 *
 * Self time is the sum of the sample intervals (`timeDeltas`) whose leaf frame is the function — the standard
 * "bottom-up" view; it points at the code that burns CPU rather than at its callers.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
    functionName: string;
    url: string;
    lineNumber: number;
}
interface ProfileNode {
    id: number;
    callFrame: CallFrame;
}
interface CpuProfile {
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

/** Where a frame lives: `node_modules/<pkg>`, `src/...` path, `node:` built-in, or a V8 pseudo-frame. */
export function moduleOf(url: string): string {
    if (!url) return '(v8/native)';
    const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    if (nm) return nm[1]!;
    const repo = /\/(src|test|bench)\/(.*)$/.exec(url);
    if (repo) return `${repo[1]}/${repo[2]}`;
    return url.startsWith('node:') ? url : url.replace(/^file:\/\//, '');
}

export function selfTimes(p: CpuProfile): { byFunction: SelfTime[]; byModule: SelfTime[]; totalMs: number } {
    const nodes = new Map(p.nodes.map((n) => [n.id, n]));
    const fn = new Map<string, number>();
    const mod = new Map<string, number>();
    let total = 0;
    for (let i = 0; i < p.samples.length; i++) {
        const node = nodes.get(p.samples[i]!);
        const dt = (p.timeDeltas[i] ?? 0) / 1000;
        if (!node) continue;
        total += dt;
        const f = node.callFrame;
        const key = `${f.functionName || '(anonymous)'} ${moduleOf(f.url)}:${f.lineNumber + 1}`;
        fn.set(key, (fn.get(key) ?? 0) + dt);
        const m = moduleOf(f.url);
        mod.set(m, (mod.get(m) ?? 0) + dt);
    }
    const sorted = (m: Map<string, number>) =>
        [...m.entries()]
            .map(([name, ms]) => ({ name, ms, share: total ? ms / total : 0 }))
            .sort((a, b) => b.ms - a.ms);
    return { byFunction: sorted(fn), byModule: sorted(mod), totalMs: total };
}

if (import.meta.url === `file://${process.argv[1]}`) {
    const file = process.argv[2];
    if (!file) throw new Error('usage: node bench/cpuprofile.ts <file.cpuprofile> [top]');
    const top = Number(process.argv[3] ?? 25);
    const { byFunction, byModule, totalMs } = selfTimes(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
    const line = (s: SelfTime) =>
        `${s.ms.toFixed(0).padStart(8)} ms ${(s.share * 100).toFixed(1).padStart(5)} %  ${s.name}`;
    console.log(`total sampled: ${(totalMs / 1000).toFixed(2)} s\n\nself time by function:`);
    for (const s of byFunction.slice(0, top)) console.log(line(s));
    console.log('\nself time by module:');
    for (const s of byModule.slice(0, 15)) console.log(line(s));
}
