/**
 * Runs the operator for the benchmark: the real `run` child process (the bundle `dist/bundle/operator.mjs` the image runs,
 * with the node flags of the image's ENTRYPOINT and the literal environment of config/manager's container, heap
 * settings included) under its own
 * ServiceAccount and exactly the RBAC of config/rbac (test/support/operator.ts), with optional V8 diagnostics (CPU profile, heap
 * snapshot on SIGUSR2), and a "settled" detector read from the operator's own Prometheus metrics (queues empty,
 * no worker busy, write counter unchanged for a quiet period).
 *
 * Design choice: readiness is awaited here with a bound that scales with the cluster size (the test helper's
 * fixed 60 s is too short for the initial lists of 10,000 namespaces and 20,000 ServiceAccounts on 2 busy cores).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { ControlPlane } from '../test/controlplane/controlplane.ts';
import { metricValue, startOperatorProcess } from '../test/support/operator.ts';
import { managerContainer, managerDeployment } from '../test/support/podman.ts';
import type { OperatorProcess } from '../test/support/operator.ts';
import { sleep } from './kube.ts';

const EXIT_AFTER_STOP = fileURLToPath(new URL('./exit-after-stop.ts', import.meta.url));

export interface BenchOperatorOptions {
    kubeconfig: string;
    concurrency: number;
    /** Write V8 CPU profiles here (at exit). */
    cpuProfDir?: string;
    /** Write a V8 heap snapshot here whenever the process gets SIGUSR2. */
    heapSnapshotDir?: string;
    /** Further node flags, after the diagnostics ones. */
    nodeArgs?: string[];
    /** Bound on start-up until /readyz answers 200. */
    readyTimeoutMs: number;
    /** Script to run (see OperatorOptions.entry). */
    entry?: string;
}

/** Node flags for the requested diagnostics (pure; exported for tests). */
export function diagnosticNodeArgs(
    o: Pick<BenchOperatorOptions, 'cpuProfDir' | 'heapSnapshotDir'>,
): string[] {
    const args: string[] = [];
    if (o.cpuProfDir)
        args.push('--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`, `--import=${EXIT_AFTER_STOP}`);
    if (o.heapSnapshotDir)
        args.push('--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${o.heapSnapshotDir}`);
    return args;
}

/** The operator as the image runs it (hack/bundle.ts), relative to the repository. */
export const OPERATOR_BUNDLE = 'dist/bundle/operator.mjs';

/** Builds the bundle (a few seconds), so a run measures the current source. */
export function buildOperatorBundle(): void {
    const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
    execFileSync(process.execPath, [join(repo, 'hack', 'bundle.ts')], { cwd: repo, stdio: 'inherit' });
}

/**
 * The node flags of a Dockerfile's (last) exec-form ENTRYPOINT: what comes between the node binary and the script.
 * V8 flags that NODE_OPTIONS refuses (`--optimize-for-size`, `--heap-growing-percent`) live there.
 */
export function entrypointNodeArgs(dockerfile: string): string[] {
    let entry: string[] = [];
    for (const m of dockerfile.matchAll(/^ENTRYPOINT\s+(\[.*\])\s*$/gm))
        entry = JSON.parse(m[1]!) as string[];
    const script = entry.findIndex((a, i) => i > 0 && !a.startsWith('-'));
    return script > 1 ? entry.slice(1, script) : [];
}

/** The node flags the image runs the operator with (the repository's Dockerfile). */
export function imageNodeArgs(): string[] {
    const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
    return entrypointNodeArgs(readFileSync(join(repo, 'Dockerfile'), 'utf8'));
}

/**
 * The literal environment of the Deployment's manager container (config/manager/manager.yaml): NODE_OPTIONS (heap
 * settings), MALLOC_ARENA_MAX, NODE_ENV. The bench runs the operator with it, so it measures what ships; `valueFrom`
 * entries (pod name, namespace) have no meaning outside a pod and are left out.
 */
export function deploymentEnv(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const e of managerContainer(managerDeployment()).container.env ?? [])
        if (e.value !== undefined) env[e.name] = e.value;
    return env;
}

export async function startBenchOperator(
    cp: ControlPlane,
    o: BenchOperatorOptions,
): Promise<OperatorProcess> {
    const op = await startOperatorProcess(cp, {
        kubeconfig: o.kubeconfig,
        name: 'bench-operator',
        // Production-like logging: info level, not the debug level the test helper defaults to.
        args: [`--concurrency=${o.concurrency}`, '--log-level=info'],
        nodeArgs: [...imageNodeArgs(), ...diagnosticNodeArgs(o), ...(o.nodeArgs ?? [])],
        waitReady: false,
        env: deploymentEnv(),
        ...(o.entry ? { entry: o.entry } : {}),
    });
    let exited = false;
    void op.exited.then(() => (exited = true));
    const deadline = Date.now() + o.readyTimeoutMs;
    for (;;) {
        if (exited) throw new Error(`operator exited during start; see ${op.logPath}`);
        try {
            const res = await fetch(`${op.healthUrl}/readyz`, { signal: AbortSignal.timeout(5000) });
            if (res.status === 200) return op;
        } catch {
            // not listening yet
        }
        if (Date.now() > deadline) {
            await op.stop();
            throw new Error(`operator not ready after ${o.readyTimeoutMs} ms; see ${op.logPath}`);
        }
        await sleep(200);
    }
}

export interface OperatorCounters {
    depth: number;
    active: number;
    writes: number;
    namespaceReconciles: number;
}

/** The operator's metrics text; bounded, so a stuck operator cannot stall a wait loop. */
export async function scrape(op: OperatorProcess, timeoutMs = 10_000): Promise<string> {
    const res = await fetch(op.metricsUrl, { signal: AbortSignal.timeout(timeoutMs) });
    return res.text();
}

export async function counters(op: OperatorProcess): Promise<OperatorCounters> {
    const text = await scrape(op);
    return {
        depth: metricValue(text, 'workqueue_depth'),
        active: metricValue(text, 'controller_runtime_active_workers'),
        writes: metricValue(text, 'isolation_operator_writes_total'),
        namespaceReconciles: metricValue(text, 'controller_runtime_reconcile_total', {
            controller: 'namespace',
        }),
    };
}

/**
 * Waits until the operator is idle: at least `minReconciles` namespace reconciles done, both queues empty, no
 * worker busy and the write counter unchanged for `quietMs`. Returns false at the timeout.
 */
export async function waitSettled(
    op: OperatorProcess,
    opts: { quietMs?: number; timeoutMs: number; minReconciles?: number },
): Promise<boolean> {
    return waitIdle(() => counters(op), opts);
}

/** `waitSettled` for any controller whose counters `read` returns (a peer controller's metrics, say). */
export async function waitIdle(
    read: () => Promise<OperatorCounters>,
    opts: { quietMs?: number; timeoutMs: number; minReconciles?: number },
): Promise<boolean> {
    const quietMs = opts.quietMs ?? 3000;
    const deadline = Date.now() + opts.timeoutMs;
    let lastWrites = -1;
    let quietSince = Date.now();
    while (Date.now() < deadline) {
        let c: OperatorCounters;
        try {
            c = await read();
        } catch {
            await sleep(250);
            continue;
        }
        const busy = c.depth > 0 || c.active > 0 || c.namespaceReconciles < (opts.minReconciles ?? 0);
        if (busy || c.writes !== lastWrites) quietSince = Date.now();
        lastWrites = c.writes;
        if (!busy && Date.now() - quietSince >= quietMs) return true;
        await sleep(250);
    }
    return false;
}

/**
 * Makes the operator write a heap snapshot (it must run with `heapSnapshotDir`): SIGUSR2, then waits until a new
 * `.heapsnapshot` file in `dir` has stopped growing for 3 s. Returns its path, or undefined at the timeout.
 */
export async function takeHeapSnapshot(
    op: OperatorProcess,
    dir: string,
    timeoutMs: number,
): Promise<string | undefined> {
    const snapshots = () =>
        readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot') && f.includes(`.${op.pid}.`));
    const before = new Set(snapshots());
    process.kill(op.pid, 'SIGUSR2');
    const deadline = Date.now() + timeoutMs;
    let lastSize = -1;
    let stableSince = Date.now();
    while (Date.now() < deadline) {
        await sleep(500);
        const file = snapshots().find((f) => !before.has(f));
        if (!file) continue;
        const path = join(dir, file);
        const size = statSync(path).size;
        if (size !== lastSize) {
            lastSize = size;
            stableSince = Date.now();
        } else if (size > 0 && Date.now() - stableSince >= 3000) return path;
    }
    return undefined;
}
