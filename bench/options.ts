/**
 * Command-line flags of the benchmark (`npm run bench -- --namespaces 1000 ...`), parsed with commander and
 * validated into bounded numbers so every loop the bench runs has a known size.
 */
import { Command } from 'commander';

import { DEFAULT_SETTINGS } from '../src/controller/settings.ts';

export interface BenchOptions {
    namespaces: number;
    concurrency: number;
    idleSeconds: number;
    latencySeconds: number;
    rate: number;
    keep: boolean;
    cpuProf: boolean;
    /** Write a heap snapshot of the operator at steady state (after the idle window). */
    heapSnapshot: boolean;
    /** Extra node flags for the operator process (e.g. --max-old-space-size=128), repeatable. */
    operatorNodeArg: string[];
    /** Also time the secondary baseline over one TLS connection per request (client-node's default). */
    unpooledBaseline: boolean;
    /** Concurrency of untimed fixture creation and cleanup. */
    fixtureConcurrency: number;
    /** The operator script: the bundle the image runs (`dist/bundle/operator.mjs`, default, built first) or `src/main.ts`. */
    operatorEntry: string;
}

export function int(name: string, min: number, max: number): (v: string) => number {
    return (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < min || n > max)
            throw new Error(`--${name} must be an integer in [${min}, ${max}]`);
        return n;
    };
}

export function parseOptions(argv: string[]): BenchOptions {
    const cmd = new Command()
        .name('bench')
        .description('isolation-operator benchmark on a fresh local control plane')
        .option('--namespaces <n>', 'namespaces in the converge phase', int('namespaces', 1, 50_000), 1000)
        .option(
            '--concurrency <n>',
            'operator --concurrency and baseline client concurrency',
            int('concurrency', 1, 64),
            DEFAULT_SETTINGS.concurrency,
        )
        .option('--idle-seconds <s>', 'idle window for the zero-write check', int('idle-seconds', 1, 600), 60)
        .option(
            '--latency-seconds <s>',
            'duration of namespace churn in the latency phase',
            int('latency-seconds', 0, 300),
            30,
        )
        .option('--rate <n>', 'namespaces created per second in the latency phase', int('rate', 1, 200), 20)
        .option(
            '--fixture-concurrency <n>',
            'parallel requests creating fixtures (untimed)',
            int('fixture-concurrency', 1, 64),
            32,
        )
        .option('--keep', 'leave the control plane running at the end (prints how to stop it)', false)
        .option('--cpu-prof', 'write V8 CPU profiles of the operator to bench/results/profiles', false)
        .option(
            '--heap-snapshot',
            'write a V8 heap snapshot of the operator at steady state to bench/results/profiles',
            false,
        )
        .option(
            '--operator-node-arg <flag>',
            'extra node flag for the operator process (repeatable), e.g. --operator-node-arg=--max-old-space-size=128',
            (v: string, prev: string[]) => [...prev, v],
            [] as string[],
        )
        .option('--no-unpooled-baseline', 'skip the secondary baseline without connection reuse')
        .option(
            '--operator-entry <path>',
            'operator script: dist/bundle/operator.mjs (bundled first, as the image runs it) or src/main.ts',
            'dist/bundle/operator.mjs',
        )
        .exitOverride();
    cmd.parse(argv, { from: 'user' });
    const o = cmd.opts<BenchOptions>();
    return {
        ...o,
        keep: o.keep === true,
        cpuProf: o.cpuProf === true,
        heapSnapshot: o.heapSnapshot === true,
        unpooledBaseline: o.unpooledBaseline !== false,
    };
}
