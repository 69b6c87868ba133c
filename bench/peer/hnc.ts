/**
 * The peer controller of the side-by-side benchmark: the Hierarchical Namespace Controller (HNC) manager built by
 * bench/peer/build.sh, installed (its CRDs, its ClusterRole bound to its own ServiceAccount, an HNCConfiguration
 * that propagates NetworkPolicies) and run out-of-cluster as a child process of the control plane.
 *
 * Design choices: HNC runs with the arguments of its shipped Deployment (config/manager/manager.yaml: 10
 * concurrent reconciles, 50 client QPS, the system namespaces excluded) plus what running outside a cluster needs:
 * no webhooks (their certificates need a Service in the cluster), no Stackdriver exporter, loopback metric and
 * probe ports. It authenticates as its ServiceAccount, so the audit log counts its requests apart from the
 * bench's. "Settled" is read from its controller-runtime metrics, as the operator's is from its own.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import type { ControlPlane } from '../../test/controlplane/controlplane.ts';
import { installCRDs } from '../../test/controlplane/crds.ts';
import { startProcess, stopProcess } from '../../test/controlplane/processes.ts';
import type { Proc } from '../../test/controlplane/processes.ts';
import { freePort, metricValue } from '../../test/support/operator.ts';
import { sleep } from '../kube.ts';
import type { OperatorCounters } from '../operator.ts';

const run = promisify(execFile);
const BUILD = fileURLToPath(new URL('./build.sh', import.meta.url));

export const HNC_VERSION = 'v1.1.0';
export const HNC_NAMESPACE = 'hnc-system';
export const HNC_SA = 'hnc-controller-manager';
export const HNC_USER = `system:serviceaccount:${HNC_NAMESPACE}:${HNC_SA}`;
export const HNC_GROUP = 'hnc.x-k8s.io';
/** Label HNC puts on every propagated copy (value: the source namespace). */
export const LABEL_INHERITED_FROM = `${HNC_GROUP}/inherited-from`;
/** HNC's default client QPS (its flag's default and its shipped Deployment's value); burst is 1.5 × QPS. */
export const HNC_DEFAULT_QPS = 50;
/** Concurrent reconciles in HNC's shipped Deployment (the flag's own default is 1). */
export const HNC_SHIPPED_MAX_RECONCILES = 10;

/** Builds HNC once into the cache (a stamp makes later calls no-ops); returns its folder. */
export async function buildHnc(): Promise<string> {
    const { stdout } = await run('bash', [BUILD], { maxBuffer: 16 * 1024 * 1024 });
    const lines = stdout.trim().split('\n');
    return lines[lines.length - 1]!;
}

/** The HierarchyConfiguration that makes `child` a child of `parent` (HNC's singleton name is `hierarchy`). */
export function hierarchyConfiguration(child: string, parent: string): object {
    return {
        apiVersion: `${HNC_GROUP}/v1alpha2`,
        kind: 'HierarchyConfiguration',
        metadata: { name: 'hierarchy', namespace: child },
        spec: { parent },
    };
}

/** Tree label HNC writes on each descendant of `ancestor` (value: the depth). */
export function treeLabel(ancestor: string): string {
    return `${ancestor}.tree.${HNC_GROUP}/depth`;
}

/**
 * Installs HNC's CRDs, its ClusterRole bound to its ServiceAccount, and the HNCConfiguration that adds
 * NetworkPolicies to the propagated types (RoleBindings and Roles are propagated always). Returns the
 * ServiceAccount's kubeconfig.
 */
export async function installHnc(cp: ControlPlane, dir: string): Promise<string> {
    await installCRDs(cp.state.binDir, cp.kubeconfigPath, 60_000, join(dir, 'config', 'crd', 'bases'));
    const ok = async (args: string[], input?: string) => {
        const res = await cp.kubectl(args, input === undefined ? {} : { input });
        if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${res.stderr}`);
    };
    await ok(['create', 'namespace', HNC_NAMESPACE]);
    await ok(['create', 'serviceaccount', HNC_SA, '-n', HNC_NAMESPACE]);
    await ok(['apply', '--server-side', '-f', join(dir, 'config', 'rbac', 'role.yaml')]);
    await ok([
        'create', 'clusterrolebinding', 'hnc-manager-rolebinding', '--clusterrole=manager-role',
        `--serviceaccount=${HNC_NAMESPACE}:${HNC_SA}`,
    ]); // prettier-ignore
    const config = {
        apiVersion: `${HNC_GROUP}/v1alpha2`,
        kind: 'HNCConfiguration',
        metadata: { name: 'config' },
        spec: { resources: [{ group: 'networking.k8s.io', resource: 'networkpolicies', mode: 'Propagate' }] },
    };
    await ok(['apply', '--server-side', '-f', '-'], JSON.stringify(config));
    return cp.serviceAccountKubeconfig(HNC_NAMESPACE, HNC_SA);
}

export interface HncOptions {
    kubeconfig: string;
    qps: number;
    maxReconciles: number;
    readyTimeoutMs: number;
}

export interface HncProcess {
    pid: number;
    metricsUrl: string;
    logPath: string;
    stop(): Promise<void>;
    counters(): Promise<OperatorCounters>;
}

/** HNC's command line: its shipped Deployment's arguments, adapted to run outside the cluster (pure). */
export function hncArgs(o: { qps: number; maxReconciles: number; metricsPort: number; probePort: number }) {
    return [
        `--max-reconciles=${o.maxReconciles}`,
        `--apiserver-qps-throttle=${o.qps}`,
        '--excluded-namespace=kube-system',
        '--excluded-namespace=kube-public',
        `--excluded-namespace=${HNC_NAMESPACE}`,
        '--excluded-namespace=kube-node-lease',
        '--nopropagation-label=cattle.io/creator=norman',
        '--no-webhooks',
        '--enable-stackdriver=false',
        `--namespace=${HNC_NAMESPACE}`,
        `--metrics-addr=127.0.0.1:${o.metricsPort}`,
        `--health-probe-bind-address=127.0.0.1:${o.probePort}`,
    ];
}

/** Reads HNC's controller-runtime metrics into the counters the settle check uses. */
export function hncCounters(text: string): OperatorCounters {
    const writes = ['POST', 'PUT', 'PATCH', 'DELETE'].reduce(
        (sum, method) => sum + metricValue(text, 'rest_client_requests_total', { method }),
        0,
    );
    return {
        depth: metricValue(text, 'workqueue_depth'),
        active: metricValue(text, 'controller_runtime_active_workers'),
        writes,
        namespaceReconciles: metricValue(text, 'controller_runtime_reconcile_total'),
    };
}

export async function startHnc(cp: ControlPlane, dir: string, o: HncOptions): Promise<HncProcess> {
    const [metricsPort, probePort] = await Promise.all([freePort(), freePort()]);
    const name = `hnc-${Date.now()}`;
    const bin = join(dir, 'bin', 'manager');
    const proc: Proc = await startProcess(
        cp.state.runDir,
        name,
        bin,
        hncArgs({ qps: o.qps, maxReconciles: o.maxReconciles, metricsPort, probePort }),
        { ...process.env, KUBECONFIG: o.kubeconfig },
    );
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    const hnc: HncProcess = {
        pid: proc.pid,
        metricsUrl,
        logPath: join(cp.state.runDir, 'logs', `${name}.log`),
        stop: () => stopProcess(proc, 20_000),
        async counters() {
            const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(10_000) });
            return hncCounters(await res.text());
        },
    };
    const deadline = Date.now() + o.readyTimeoutMs;
    for (;;) {
        try {
            process.kill(proc.pid, 0);
        } catch {
            throw new Error(`HNC exited during start; see ${hnc.logPath}`);
        }
        try {
            const res = await fetch(`http://127.0.0.1:${probePort}/readyz`, {
                signal: AbortSignal.timeout(5000),
            });
            if (res.status === 200) return hnc;
        } catch {
            // not listening yet
        }
        if (Date.now() > deadline) {
            await hnc.stop();
            throw new Error(`HNC not ready after ${o.readyTimeoutMs} ms; see ${hnc.logPath}`);
        }
        await sleep(200);
    }
}
