/**
 * A small cluster for random profiles, shared by the fuzz and soak tests: namespaces named and labelled with the
 * generator's vocabulary (test/support/profile-arbitraries.ts), ServiceAccounts in them, a base profile that
 * governs them all at a low priority (the "base workload" random profiles compete with), and helpers that apply
 * and delete profiles with `kubectl --server-side` as a GitOps tool would, and wait for the operator to be idle.
 *
 * Design choice: idleness is a positive barrier read from the operator's own metrics (both queues empty, no worker
 * busy, the write counter unchanged over a quiet period after at least one more reconcile), never a fixed sleep.
 */
import type { IsolationProfile, IsolationProfileSpec } from '../../src/api/types.ts';
import type { Vocabulary } from './profile-arbitraries.ts';
import { eventually, sleep } from './eventually.ts';
import { metricValue } from './operator.ts';
import type { OperatorProcess } from './operator.ts';

export type Kubectl = (
    args: string[],
    opts?: { input?: string },
) => Promise<{ code: number; stdout: string; stderr: string }>;

export const BASE_PROFILE = 'fz-base';

export function profileManifest(name: string, spec: unknown, labels: Record<string, string> = {}): string {
    return JSON.stringify({
        apiVersion: 'isolation.dev/v1alpha1',
        kind: 'IsolationProfile',
        metadata: { name, labels },
        spec,
    });
}

async function must(kubectl: Kubectl, args: string[], input?: string): Promise<string> {
    const res = await kubectl(args, input === undefined ? {} : { input });
    if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${res.stderr}`);
    return res.stdout;
}

/** Creates the vocabulary's namespaces (team labels round-robin), two ServiceAccounts each, and the base profile. */
export async function createWorkload(kubectl: Kubectl, v: Vocabulary): Promise<void> {
    const items: unknown[] = [];
    v.namespaces.forEach((name, i) => {
        items.push({
            apiVersion: 'v1',
            kind: 'Namespace',
            metadata: { name, labels: { [`isolation.dev/${v.teamKey}`]: v.teams[i % v.teams.length]! } },
        });
        for (const sa of ['app', 'reader'])
            items.push({
                apiVersion: 'v1',
                kind: 'ServiceAccount',
                metadata: {
                    name: sa,
                    namespace: name,
                    ...(sa === 'reader' ? { labels: { 'isolation.dev/role': 'reader' } } : {}),
                },
            });
    });
    await must(
        kubectl,
        ['apply', '--server-side', '-f', '-'],
        JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
    );
    const base: IsolationProfileSpec = {
        namespaces: { names: [...v.namespaces] },
        priority: -100,
        network: { ingress: [{ name: 'web', ports: [{ port: 8080 }] }] },
        access: [
            {
                name: 'devs',
                roleRef: { kind: 'ClusterRole', name: 'view' },
                subjects: [{ kind: 'Group', name: 'devs' }],
            },
        ],
    };
    await must(kubectl, ['apply', '--server-side', '-f', '-'], profileManifest(BASE_PROFILE, base));
}

export async function getProfile(kubectl: Kubectl, name: string): Promise<IsolationProfile> {
    return JSON.parse(
        await must(kubectl, ['get', 'isolationprofile', name, '-o', 'json']),
    ) as IsolationProfile;
}

/** The profile once its status describes its current generation (with a Ready condition). */
export async function waitObserved(
    kubectl: Kubectl,
    name: string,
    timeoutMs = 60_000,
): Promise<IsolationProfile> {
    return eventually(
        `profile ${name} observed at its generation`,
        async () => {
            const p = await getProfile(kubectl, name);
            const ready = p.status?.conditions?.find((c) => c.type === 'Ready');
            return p.status?.observedGeneration === p.metadata.generation && ready ? p : undefined;
        },
        timeoutMs,
        200,
    );
}

/** Deletes every profile carrying `label` (key=value) and waits until they are gone (finalizers ran). */
export async function deleteLabelled(kubectl: Kubectl, label: string, timeoutSeconds = 120): Promise<void> {
    await must(kubectl, [
        'delete',
        'isolationprofiles',
        '-l',
        label,
        '--wait=true',
        `--timeout=${timeoutSeconds}s`,
    ]);
}

export interface Idle {
    namespaceReconciles: number;
    writes: number;
}

/**
 * Waits until the operator is idle: at least one namespace reconcile more than `after` (when given), both queues
 * empty, no worker busy and no write for `quietMs`.
 */
export async function waitIdle(
    op: OperatorProcess,
    opts: { quietMs?: number; timeoutMs?: number; afterReconciles?: number } = {},
): Promise<Idle> {
    const quietMs = opts.quietMs ?? 3000;
    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
    let lastWrites = -1;
    let quietSince = Date.now();
    for (;;) {
        const text = await op.metrics();
        const depth = metricValue(text, 'workqueue_depth');
        const active = metricValue(text, 'controller_runtime_active_workers');
        const writes = metricValue(text, 'isolation_operator_writes_total');
        const namespaceReconciles = metricValue(text, 'controller_runtime_reconcile_total', {
            controller: 'namespace',
        });
        const busy = depth > 0 || active > 0 || namespaceReconciles <= (opts.afterReconciles ?? -1);
        if (busy || writes !== lastWrites) quietSince = Date.now();
        lastWrites = writes;
        if (!busy && Date.now() - quietSince >= quietMs) return { namespaceReconciles, writes };
        if (Date.now() > deadline) throw new Error(`operator not idle after ${opts.timeoutMs ?? 120_000} ms`);
        await sleep(250);
    }
}
