/**
 * Resource use of one process from /proc (Linux): resident memory (VmRSS) sampled on an interval, and CPU
 * seconds (utime + stime). Reading /proc costs nothing measurable, unlike asking the process itself (which would
 * perturb the event loop being measured). Samples are tagged with the current phase so peaks are per phase.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

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

export class RssSampler {
    readonly samples: RssSample[] = [];
    #pid = 0;
    #phase = '';
    #timer: NodeJS.Timeout | undefined;
    readonly #intervalMs: number;
    readonly #maxSamples: number;

    constructor(intervalMs = 500, maxSamples = 100_000) {
        this.#intervalMs = intervalMs;
        this.#maxSamples = maxSamples;
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
        if (rss !== undefined) this.samples.push({ t: Date.now(), phase: this.#phase, rssMiB: rss });
    }

    stop(): void {
        if (this.#timer) clearInterval(this.#timer);
        this.#timer = undefined;
    }

    peak(phases?: string[]): number {
        const s = this.samples.filter((x) => !phases || phases.includes(x.phase));
        return s.length ? Math.max(...s.map((x) => x.rssMiB)) : Number.NaN;
    }

    /** The last sample of a phase (the settled value). */
    last(phase: string): number {
        const s = this.samples.filter((x) => x.phase === phase);
        return s.length ? s[s.length - 1]!.rssMiB : Number.NaN;
    }
}
