/**
 * The benchmark result: one JSON document per run (under bench/results/, named by date and N) and the table
 * printed at the end, each measured value next to its DESIGN §7 target.
 *
 * Since the operator shares one connection pool, the headline `baseline` is the pooled plain client (same
 * connection behaviour as the operator); `unpooledBaseline` (one TLS connection per request) is kept for
 * reference. Results written before that change have `baseline` unpooled and `pooledBaseline` instead.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { MemoryBreakdown, PeakDetail } from './proc.ts';
import type { Summary } from './stats.ts';
import { round } from './stats.ts';

export interface BaselineNumbers {
    seconds: number;
    requests: number;
    writesPerSecond: number;
    objectsPerNamespace: number;
    clientCpuSeconds?: number;
}

export interface BenchResult {
    startedAt: string;
    machine: { nproc: number; memoryGiB: number; node: string; cpuModel: string; loadAvgAtStart: number[] };
    options: Record<string, unknown>;
    /** Commit measured, and src/, config/ or Dockerfile changes that differed from it in the working tree. */
    code: { commit: string; uncommitted: string[] };
    /** How the headline baseline connects: one shared pool, as the operator does. */
    baselineConnections: 'pooled';
    baseline: BaselineNumbers;
    /** The same baseline with a new TLS connection per request (client-node's default); null if skipped. */
    unpooledBaseline: BaselineNumbers | null;
    converge: {
        seconds: number;
        /** converge / (pooled) baseline: the DESIGN §7 ratio. */
        ratio: number;
        /** converge / unpooled baseline, for comparison with results from before the pooled operator. */
        unpooledRatio: number | null;
        expected: number;
        arrived: number;
        firstObjectSeconds: number;
        settledSeconds: number;
    };
    latency: Summary & { rate: number; created: number; missing: number; createErrors: number };
    steady: {
        idleSeconds: number;
        idleWrites: number;
        /** The first writes found (capped at 50). */
        idleWriteList: string[];
        restartWrites: number;
        restartWriteList: string[];
        restartSettled: boolean;
    };
    cost: {
        peakRssMiB: number;
        steadyRssMiB: number;
        restartPeakRssMiB: number;
        convergeCpuSeconds: number;
        totalCpuSeconds: number;
        restartCpuSeconds: number;
        apiRequestsPerNamespace: number;
        writesPerNamespace: number;
        convergeRequestsByVerb: Record<string, number>;
        restartRequests: number;
        idleHeapUsedMiB: number;
        idleHeapTotalMiB: number;
        idleExternalMiB: number;
        /** RSS and V8 heap of the restarted process once it has settled. */
        restartSettledRssMiB: number;
        restartHeapUsedMiB: number;
        /** Heap snapshot written at steady state (--heap-snapshot), under bench/results/profiles. */
        heapSnapshot: string | null;
        /** Where the steady-state RSS lives (/proc/<pid>/smaps), see bench/proc.ts. */
        steadyMemory: MemoryBreakdown | null;
        /** The same breakdown read at the highest RSS sample before the restart (absent in older results). */
        peakMemory?: PeakDetail | null;
        operatorWriteCounter: number;
        cluster: { namespaces: number; serviceAccounts: number; generatedObjects: number };
    };
    notes: string[];
}

type Row = [string, string, string, string];

function fmt(v: number, digits = 2): string {
    return Number.isFinite(v) ? String(round(v, digits)) : 'n/a';
}

const ok = (pass: boolean) => (pass ? 'ok' : 'MISS');

export function tableRows(r: BenchResult): Row[] {
    const n = Number(r.options.namespaces);
    return [
        [
            'baseline: plain client, pooled',
            `${fmt(r.baseline.seconds)} s (${fmt(r.baseline.writesPerSecond, 0)} writes/s, client CPU ${fmt(r.baseline.clientCpuSeconds ?? Number.NaN)} s)`,
            '',
            '',
        ],
        [
            'baseline: unpooled (reference)',
            r.unpooledBaseline
                ? `${fmt(r.unpooledBaseline.seconds)} s (${fmt(r.unpooledBaseline.writesPerSecond, 0)} writes/s)`
                : 'skipped',
            '',
            '',
        ],
        [
            'converge: operator',
            `${fmt(r.converge.seconds)} s (${r.converge.arrived}/${r.converge.expected} objects)`,
            '',
            '',
        ],
        ['converge / baseline', fmt(r.converge.ratio), '<= 1.2', ok(r.converge.ratio <= 1.2)],
        [
            'converge / unpooled baseline',
            r.converge.unpooledRatio === null ? 'n/a' : fmt(r.converge.unpooledRatio),
            '',
            '',
        ],
        ['latency p50', `${fmt(r.latency.p50, 0)} ms`, '<= 100 ms', ok(r.latency.p50 <= 100)],
        ['latency p95', `${fmt(r.latency.p95, 0)} ms`, '', ''],
        ['latency p99', `${fmt(r.latency.p99, 0)} ms`, '<= 1000 ms', ok(r.latency.p99 <= 1000)],
        [
            'latency samples',
            `${r.latency.count} of ${r.latency.created} at ${r.latency.rate}/s (missing ${r.latency.missing})`,
            '',
            '',
        ],
        [
            'writes in idle',
            `${r.steady.idleWrites} over ${r.steady.idleSeconds} s`,
            '0',
            ok(r.steady.idleWrites === 0),
        ],
        ['writes after restart', String(r.steady.restartWrites), '0', ok(r.steady.restartWrites === 0)],
        [
            'operator peak RSS',
            `${fmt(r.cost.peakRssMiB, 0)} MiB`,
            n >= 10_000 ? '<= 200 MB' : '',
            n >= 10_000 ? ok(r.cost.peakRssMiB * 1.048576 <= 200) : '',
        ],
        [
            'operator steady RSS',
            `${fmt(r.cost.steadyRssMiB, 0)} MiB (V8 heap used ${fmt(r.cost.idleHeapUsedMiB, 0)} MiB)`,
            '',
            '',
        ],
        [
            'operator after restart, settled',
            `${fmt(r.cost.restartSettledRssMiB, 0)} MiB RSS (V8 heap used ${fmt(r.cost.restartHeapUsedMiB, 0)} MiB)`,
            '',
            '',
        ],
        [
            'steady RSS by mapping',
            r.cost.steadyMemory
                ? `${byMapping(r.cost.steadyMemory)} (V8 heap ${fmt(r.cost.idleHeapTotalMiB, 0)} MiB)`
                : 'n/a',
            '',
            '',
        ],
        [
            'peak RSS by mapping',
            r.cost.peakMemory
                ? `${r.cost.peakMemory.phase} +${fmt(r.cost.peakMemory.secondsIntoPhase, 0)} s: ${byMapping(r.cost.peakMemory.memory)}`
                : 'n/a',
            '',
            '',
        ],
        ['operator CPU in converge', `${fmt(r.cost.convergeCpuSeconds)} s`, '', ''],
        ['operator CPU whole run', `${fmt(r.cost.totalCpuSeconds)} s`, '', ''],
        ['API requests / namespace', fmt(r.cost.apiRequestsPerNamespace), '', ''],
        [
            'writes / namespace',
            `${fmt(r.cost.writesPerNamespace)} (minimum ${r.baseline.objectsPerNamespace + 1})`,
            '',
            '',
        ],
    ];
}

/** One line of a smaps breakdown: malloc, other anonymous memory (V8's pages within it), file-backed. */
function byMapping(m: MemoryBreakdown): string {
    return `malloc ${fmt(m.brkHeapMiB + m.mallocArenasMiB, 0)} MiB (${m.mallocArenaCount} arenas), other anon ${fmt(m.otherAnonMiB, 0)} MiB (V8 pages ${fmt(m.v8PagesMiB ?? Number.NaN, 0)} MiB), files ${fmt(m.fileMiB, 0)} MiB`;
}

export function formatTable(rows: Row[]): string {
    const head: Row = ['metric', 'measured', 'target', ''];
    const all = [head, ...rows];
    const widths = [0, 1, 2, 3].map((i) => Math.max(...all.map((r) => r[i]!.length)));
    const line = (r: Row) =>
        r
            .map((c, i) => c.padEnd(widths[i]!))
            .join(' | ')
            .trimEnd();
    return [line(head), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

export async function writeResult(dir: string, r: BenchResult): Promise<string> {
    await mkdir(dir, { recursive: true });
    const stamp = r.startedAt.replace(/[:]/g, '').replace(/\..*$/, '');
    const path = join(dir, `${stamp}-n${String(r.options.namespaces)}.json`);
    await writeFile(path, JSON.stringify(r, null, 2) + '\n');
    return path;
}
