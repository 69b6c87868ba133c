/**
 * Resource use of one process from /proc (Linux): resident memory (VmRSS) sampled on an interval, and CPU
 * seconds (utime + stime). Reading /proc costs nothing measurable, unlike asking the process itself (which would
 * perturb the event loop being measured). Samples are tagged with the current phase so peaks are per phase.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

import { maxOf } from './stats.ts';

let clockTicks: number | undefined;

function ticksPerSecond(): number {
    if (clockTicks === undefined) {
        try {
            clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
        } catch {
            clockTicks = 100;
        }
    }
    return clockTicks;
}

/** VmRSS in MiB, or undefined once the process is gone. */
export function rssMiB(pid: number): number | undefined {
    try {
        const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        return m ? Number(m[1]) / 1024 : undefined;
    } catch {
        return undefined;
    }
}

/** User + system CPU seconds the process has used so far, or undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
    try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        // Fields after the parenthesised command name (which may contain spaces); utime and stime are 14 and 15.
        const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return (Number(rest[11]) + Number(rest[12])) / ticksPerSecond();
    } catch {
        return undefined;
    }
}

export interface RssSample {
    t: number;
    phase: string;
    rssMiB: number;
}

/** Where the memory was at a phase's highest sample: the smaps breakdown taken with it. */
export interface PeakDetail {
    phase: string;
    /** Seconds from the phase's first sample to this one. */
    secondsIntoPhase: number;
    memory: MemoryBreakdown;
}

export class RssSampler {
    readonly samples: RssSample[] = [];
    #pid = 0;
    #phase = '';
    #timer: NodeJS.Timeout | undefined;
    readonly #intervalMs: number;
    readonly #maxSamples: number;
    readonly #breakdown: ((pid: number) => MemoryBreakdown | undefined) | undefined;
    /** Per phase: its first sample's time and the breakdown read at its highest sample so far. */
    readonly #phases = new Map<string, { from: number; peak: number; detail?: PeakDetail }>();

    /**
     * `breakdown` (smaps, a few milliseconds) is read only when a sample is a new high of its phase, so a report
     * can say what the peak was made of without reading smaps every interval.
     */
    constructor(
        intervalMs = 500,
        maxSamples = 100_000,
        breakdown?: (pid: number) => MemoryBreakdown | undefined,
    ) {
        this.#intervalMs = intervalMs;
        this.#maxSamples = maxSamples;
        this.#breakdown = breakdown;
    }

    /** Follows `pid` (a restarted operator gets a new one) and tags further samples with `phase`. */
    track(pid: number, phase: string): void {
        this.#pid = pid;
        this.#phase = phase;
        this.#timer ??= setInterval(() => this.sample(), this.#intervalMs);
        this.#timer.unref();
        this.sample();
    }

    phase(phase: string): void {
        this.#phase = phase;
        this.sample();
    }

    sample(): void {
        if (!this.#pid || this.samples.length >= this.#maxSamples) return;
        const rss = rssMiB(this.#pid);
        if (rss === undefined) return;
        const t = Date.now();
        this.samples.push({ t, phase: this.#phase, rssMiB: rss });
        let p = this.#phases.get(this.#phase);
        if (!p) this.#phases.set(this.#phase, (p = { from: t, peak: -1 }));
        if (rss > p.peak) {
            p.peak = rss;
            const memory = this.#breakdown?.(this.#pid);
            if (memory) p.detail = { phase: this.#phase, secondsIntoPhase: (t - p.from) / 1000, memory };
        }
    }

    /** The breakdown at the highest sample among `phases`, if one was read. */
    peakDetail(phases: string[]): PeakDetail | undefined {
        let best: { peak: number; detail?: PeakDetail } | undefined;
        for (const ph of phases) {
            const p = this.#phases.get(ph);
            if (p?.detail && (!best || p.peak > best.peak)) best = p;
        }
        return best?.detail;
    }

    stop(): void {
        if (this.#timer) clearInterval(this.#timer);
        this.#timer = undefined;
    }

    peak(phases?: string[]): number {
        const s = this.samples.filter((x) => !phases || phases.includes(x.phase));
        return maxOf(s.map((x) => x.rssMiB));
    }

    /** The last sample of a phase (the settled value). */
    last(phase: string): number {
        const s = this.samples.filter((x) => x.phase === phase);
        return s.length ? s[s.length - 1]!.rssMiB : Number.NaN;
    }
}

/**
 * Where a process' resident memory lives, from /proc/<pid>/smaps: file-backed (binary, libraries), the brk heap
 * (glibc's main malloc arena), anonymous mappings that start on a 64 MiB boundary (glibc's per-thread malloc
 * arenas reserve 64 MiB-aligned regions; a heuristic, V8 pages rarely start there), and other anonymous memory
 * (mostly V8's heap and code). Lets a report say whether RSS beyond the V8 heap is malloc memory.
 *
 * Within the other anonymous memory, `v8PagesMiB` counts the mappings of exactly 256 KiB: V8's regular heap pages,
 * each mapped on its own. Compared with V8's `heapTotal` it shows the pages V8 has freed but keeps mapped and
 * resident in its page pool for reuse (the pool is only released with the isolate, or page by page under
 * `--optimize-for-size`): after a converge burst at 10,000 namespaces, 128 MiB of such pages for a 92 MiB heap.
 */
export interface MemoryBreakdown {
    rssMiB: number;
    fileMiB: number;
    brkHeapMiB: number;
    mallocArenasMiB: number;
    mallocArenaCount: number;
    otherAnonMiB: number;
    /** Part of `otherAnonMiB`: 256 KiB mappings (V8 regular pages, in use or pooled). */
    v8PagesMiB: number;
}

const ARENA_ALIGN = 64n * 2n ** 20n;
const V8_PAGE = 256n * 1024n;

export function summariseSmaps(text: string): MemoryBreakdown {
    const out: MemoryBreakdown = {
        rssMiB: 0,
        fileMiB: 0,
        brkHeapMiB: 0,
        mallocArenasMiB: 0,
        mallocArenaCount: 0,
        otherAnonMiB: 0,
        v8PagesMiB: 0,
    };
    let kind: 'file' | 'brk' | 'arena' | 'anon' | 'v8page' = 'anon';
    for (const line of text.split('\n')) {
        const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
        if (head) {
            const start = BigInt(`0x${head[1]}`);
            const size = BigInt(`0x${head[2]}`) - start;
            const name = head[4]!.trim();
            if (name === '[heap]') kind = 'brk';
            else if (name.startsWith('/')) kind = 'file';
            else if (
                name === '' &&
                head[3]!.startsWith('rw') &&
                start % ARENA_ALIGN === 0n &&
                size <= ARENA_ALIGN
            ) {
                kind = 'arena';
                out.mallocArenaCount++;
            } else if (name === '' && size === V8_PAGE && head[3]!.startsWith('rw')) kind = 'v8page';
            else kind = 'anon';
            continue;
        }
        const rss = /^Rss:\s+(\d+) kB/.exec(line);
        if (!rss) continue;
        const mib = Number(rss[1]) / 1024;
        out.rssMiB += mib;
        if (kind === 'file') out.fileMiB += mib;
        else if (kind === 'brk') out.brkHeapMiB += mib;
        else if (kind === 'arena') out.mallocArenasMiB += mib;
        else {
            out.otherAnonMiB += mib;
            if (kind === 'v8page') out.v8PagesMiB += mib;
        }
    }
    return out;
}

/** The memory breakdown of a live process, or undefined once it is gone. */
export function memoryBreakdown(pid: number): MemoryBreakdown | undefined {
    try {
        return summariseSmaps(readFileSync(`/proc/${pid}/smaps`, 'utf8'));
    } catch {
        return undefined;
    }
}
