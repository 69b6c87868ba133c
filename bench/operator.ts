/**
 * Runs the operator for the benchmark: the real `src/main.ts run` child process under its own ServiceAccount
 * (test/support/operator.ts), plus the one RBAC gap the bench must bridge, and a "settled" detector read from the
 * operator's own Prometheus metrics (queues empty, no worker busy, write counter unchanged for a quiet period).
 */
import { fileURLToPath } from 'node:url';

import type { ControlPlane } from '../test/controlplane/controlplane.ts';
import {
    metricValue,
    OPERATOR_NAMESPACE,
    OPERATOR_SA,
    startOperatorProcess,
} from '../test/support/operator.ts';
import type { OperatorProcess } from '../test/support/operator.ts';
import { sleep } from './kube.ts';

const EXIT_AFTER_STOP = fileURLToPath(new URL('./exit-after-stop.ts', import.meta.url));

/**
 * BENCH-ONLY RBAC GAP: the operator watches ClusterRoles (to report a missing roleRef as a condition), but
 * config/rbac/role.yaml does not grant get/list/watch on clusterroles yet, so its informer never syncs and the
 * operator never becomes ready. Until config/rbac carries it, the bench grants exactly that, and nothing more.
 */
const CLUSTERROLE_READER = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: isolation-bench-clusterrole-reader}
rules:
  - {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [get, list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: isolation-bench-clusterrole-reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: isolation-bench-clusterrole-reader}
subjects:
  - {kind: ServiceAccount, name: ${OPERATOR_SA}, namespace: ${OPERATOR_NAMESPACE}}
`;

/** Applies the ClusterRole read grant above only if the operator lacks it (`kubectl auth can-i`). */
export async function bridgeClusterRoleGap(cp: ControlPlane): Promise<boolean> {
    const sa = `system:serviceaccount:${OPERATOR_NAMESPACE}:${OPERATOR_SA}`;
    const can = await cp.kubectl([
        'auth',
        'can-i',
        'watch',
        'clusterroles.rbac.authorization.k8s.io',
        '--as',
        sa,
    ]);
    if (can.stdout.trim() === 'yes') return false;
    const res = await cp.kubectl(['apply', '--server-side', '-f', '-'], { input: CLUSTERROLE_READER });
    if (res.code !== 0) throw new Error(`apply clusterrole reader: ${res.stderr}`);
    return true;
}

export interface BenchOperatorOptions {
    kubeconfig: string;
    concurrency: number;
    cpuProfDir?: string;
}

export async function startBenchOperator(
    cp: ControlPlane,
    o: BenchOperatorOptions,
): Promise<OperatorProcess> {
    return startOperatorProcess(cp, {
        kubeconfig: o.kubeconfig,
        name: 'bench-operator',
        // Production-like logging: info level, not the debug level the test helper defaults to.
        args: [`--concurrency=${o.concurrency}`, '--log-level=info'],
        nodeArgs: o.cpuProfDir
            ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`, `--import=${EXIT_AFTER_STOP}`]
            : [],
    });
}

export interface OperatorCounters {
    depth: number;
    active: number;
    writes: number;
    namespaceReconciles: number;
}

export async function counters(op: OperatorProcess): Promise<OperatorCounters> {
    const text = await op.metrics();
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
    const quietMs = opts.quietMs ?? 3000;
    const deadline = Date.now() + opts.timeoutMs;
    let lastWrites = -1;
    let quietSince = Date.now();
    while (Date.now() < deadline) {
        let c: OperatorCounters;
        try {
            c = await counters(op);
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
