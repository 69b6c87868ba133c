/**
 * Operator settings with their defaults, in one place. `main.ts` fills them from flags and environment
 * variables; everything else receives a resolved `OperatorSettings` value and never reads the environment.
 */
import type { PlanSettings } from '../plan/index.ts';
import { DEFAULT_PLAN_SETTINGS } from '../plan/index.ts';

export interface OperatorSettings {
    /** Path of a kubeconfig; empty means in-cluster config, else $KUBECONFIG / ~/.kube/config. */
    kubeconfig: string;
    /** Parallel namespace reconciles (workqueue workers). Default 4. */
    concurrency: number;
    /** Periodic re-enqueue of every namespace and profile, ±10 % jitter. Default 10 min. */
    resyncPeriodMs: number;
    /** Delay that batches profile status writes while namespaces converge. Default 500 ms. */
    statusDelayMs: number;
    plan: PlanSettings;
    /** ClusterRoles the operator may bind (its RBAC `bind` resourceNames); documented, not enforced here. */
    bindableRoles: string[];
    leaderElect: boolean;
    leaseName: string;
    leaseNamespace: string;
    /** Holder identity for the Lease: the pod name in a cluster, the host name and pid locally. */
    identity: string;
    leaseDurationMs: number;
    renewDeadlineMs: number;
    retryPeriodMs: number;
    /** `host:port` or `:port`; `0` disables. Defaults `:8443` (HTTPS metrics) and `:8081`. */
    metricsBindAddress: string;
    healthProbeBindAddress: string;
    /** Serve metrics over HTTPS, each request authenticated (TokenReview) and authorised (SubjectAccessReview). */
    metricsSecure: boolean;
    /** Directory with `tls.crt`/`tls.key` for the metrics endpoint; empty: a self-signed certificate. */
    metricsCertDir: string;
    logLevel: string;
    logFormat: 'json' | 'text';
    /** Grace period for in-flight reconciles on SIGTERM. Default 30 s. */
    shutdownTimeoutMs: number;
    /** Items per page when informers LIST (client-go's default 500); bounds the memory of a relist. */
    listPageSize: number;
}

export const DEFAULT_SETTINGS: Readonly<OperatorSettings> = Object.freeze({
    kubeconfig: '',
    // Measured, not guessed: docs/adr/0023-default-concurrency-16.md (3,000 namespaces, 4/8/16/32 alternated).
    concurrency: 16,
    resyncPeriodMs: 10 * 60 * 1000,
    statusDelayMs: 500,
    plan: DEFAULT_PLAN_SETTINGS,
    bindableRoles: ['view', 'edit', 'admin'],
    leaderElect: false,
    leaseName: 'isolation-operator',
    leaseNamespace: DEFAULT_PLAN_SETTINGS.operatorNamespace,
    identity: '',
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    metricsBindAddress: ':8443',
    healthProbeBindAddress: ':8081',
    metricsSecure: true,
    metricsCertDir: '',
    logLevel: 'info',
    logFormat: 'json' as const,
    shutdownTimeoutMs: 30_000,
    listPageSize: 500,
});

/** Parses durations such as `500ms`, `30s`, `10m`, `1h` (a bare number is milliseconds). */
export function parseDuration(text: string): number {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
    if (!m) throw new Error(`invalid duration "${text}" (use e.g. 500ms, 30s, 10m, 1h)`);
    const n = Number(m[1]);
    const unit = m[2] ?? 'ms';
    return Math.round(n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]!);
}

/** Parses `true`/`false` (Go flag style, as `--metrics-secure=false`). */
export function parseBool(text: string, flag: string): boolean {
    const v = text.trim().toLowerCase();
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw new Error(`${flag} must be true or false, not "${text}"`);
}

/** Parses `k=v,k2=v2` label lists. */
export function parseLabels(text: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const part of text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        const i = part.indexOf('=');
        if (i <= 0) throw new Error(`invalid label "${part}" (use key=value)`);
        out[part.slice(0, i)] = part.slice(i + 1);
    }
    return out;
}

export function parseList(text: string): string[] {
    return text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
}
