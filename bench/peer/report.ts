/**
 * The side-by-side report, pure: medians per controller setting over the alternated runs, ratios of each operator
 * setting to the faster HNC setting, and the markdown table docs/benchmarks.md carries.
 *
 * Design choice: a median, not a mean, across runs (the machine is shared and one slow run must not move the
 * figure), with the number of runs in each column header, so a table of one run per setting says so.
 */
import { median, round } from '../stats.ts';
import type { PeerRun } from './run.ts';

export interface Metric {
    key: string;
    label: string;
    unit: string;
    read: (r: PeerRun) => number;
    digits: number;
}

export const METRICS: Metric[] = [
    { key: 'converge', label: 'converge: trigger → all N×5 objects', unit: 's', read: (r) => r.converge.seconds, digits: 1 },
    { key: 'settled', label: 'trigger → controller quiet', unit: 's', read: (r) => r.converge.settledSeconds, digits: 1 },
    { key: 'cpu', label: 'controller CPU until converged', unit: 's', read: (r) => r.convergeCpuSeconds, digits: 1 },
    { key: 'rss', label: 'peak RSS', unit: 'MiB', read: (r) => r.peakRssMiB, digits: 0 },
    { key: 'writes', label: 'write requests, trigger → quiet', unit: '', read: (r) => r.writesToQuiet, digits: 0 },
    { key: 'requests', label: 'API requests per namespace, trigger → quiet', unit: '', read: (r) => r.requestsPerNamespace, digits: 2 },
    { key: 'p50', label: 'new namespace → default-deny p50', unit: 'ms', read: (r) => r.latency.p50, digits: 0 },
    { key: 'p99', label: 'new namespace → default-deny p99', unit: 'ms', read: (r) => r.latency.p99, digits: 0 },
    { key: 'idle', label: 'writes in the idle window', unit: '', read: (r) => r.idle.writes, digits: 0 },
]; // prettier-ignore

export interface Column {
    variant: string;
    runs: number;
    medians: Record<string, number>;
}

/** Medians per setting, in the order the settings first appear. */
export function columns(runs: readonly PeerRun[]): Column[] {
    const order = [...new Set(runs.map((r) => r.variant))];
    return order.map((variant) => {
        const mine = runs.filter((r) => r.variant === variant);
        const medians: Record<string, number> = {};
        for (const m of METRICS) medians[m.key] = median(mine.map(m.read).filter((x) => Number.isFinite(x)));
        return { variant, runs: mine.length, medians };
    });
}

/** a / b per metric; NaN where b is 0 or missing (an idle window of 0 writes has no ratio). */
export function ratios(a: Column, b: Column): Record<string, number> {
    const out: Record<string, number> = {};
    for (const m of METRICS) {
        const x = a.medians[m.key]!;
        const y = b.medians[m.key]!;
        out[m.key] = y === 0 || !Number.isFinite(y) ? Number.NaN : x / y;
    }
    return out;
}

function fmt(v: number, digits: number, unit = ''): string {
    if (!Number.isFinite(v)) return 'n/a';
    return unit ? `${round(v, digits)} ${unit}` : String(round(v, digits));
}

/**
 * The markdown table: one column per setting (median of its runs), then one ratio column per operator setting
 * against `reference` (the setting named, normally the faster HNC).
 */
export function markdownTable(
    runs: readonly PeerRun[],
    reference: string,
    operators: readonly string[],
): string {
    const cols = columns(runs);
    const ref = cols.find((c) => c.variant === reference);
    const ops = cols.filter((c) => operators.includes(c.variant));
    const head = [
        'metric (median)',
        ...cols.map((c) => `${c.variant} (${c.runs} run${c.runs === 1 ? '' : 's'})`),
        ...(ref ? ops.map((o) => `${o.variant} / ${ref.variant}`) : []),
    ];
    const rows = METRICS.map((m) => [
        m.label,
        ...cols.map((c) => fmt(c.medians[m.key]!, m.digits, m.unit)),
        ...(ref ? ops.map((o) => fmt(ratios(o, ref)[m.key]!, 2)) : []),
    ]);
    const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
    return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}
