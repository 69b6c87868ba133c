/**
 * Small pure statistics for benchmark reports: percentiles (nearest rank, the usual choice for latency SLOs:
 * p99 is a value that was actually observed), medians across runs, and rounding for tables.
 */

/** Nearest-rank percentile of `values` (0 < p <= 100); NaN for an empty list. Does not mutate the input. */
export function percentile(values: readonly number[], p: number): number {
    if (values.length === 0) return Number.NaN;
    const sorted = [...values].sort((a, b) => a - b);
    const rank = Math.ceil((p / 100) * sorted.length);
    return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function median(values: readonly number[]): number {
    if (values.length === 0) return Number.NaN;
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function round(value: number, digits = 2): number {
    const f = 10 ** digits;
    return Math.round(value * f) / f;
}

/** Largest value (NaN if none), without spreading into arguments (safe for 100,000+ values). */
export function maxOf(values: readonly number[]): number {
    let m = Number.NaN;
    for (const v of values) if (!(v <= m)) m = v;
    return m;
}

/** Smallest value (NaN if none); see maxOf. */
export function minOf(values: readonly number[]): number {
    let m = Number.NaN;
    for (const v of values) if (!(v >= m)) m = v;
    return m;
}

export interface Summary {
    count: number;
    p50: number;
    p95: number;
    p99: number;
    max: number;
}

export function summarize(values: readonly number[]): Summary {
    return {
        count: values.length,
        p50: percentile(values, 50),
        p95: percentile(values, 95),
        p99: percentile(values, 99),
        max: maxOf(values),
    };
}
