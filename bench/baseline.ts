/**
 * Baseline phase: the API server's write rate on this machine for exactly the operator's workload. A plain
 * client-node client (admin kubeconfig) with the operator's concurrency does, per namespace and in the operator's
 * order, the namespace label apply and one server-side apply per planned object — the minimum any controller must
 * send. Afterwards it removes what it wrote so the converge phase starts from the same clean namespaces.
 *
 * The objects carry an ownerReference to a real (inert) profile, `bench-baseline`, that selects no namespace:
 * with a dangling owner the garbage collector would delete them while we measure.
 */
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

import {
    GROUP,
    LABEL_MANAGED_BY,
    LABEL_PROFILE,
    MANAGED_BY_VALUE,
    PLURAL,
    VERSION,
} from '../src/api/types.ts';
import type { IsolationProfile } from '../src/api/types.ts';
import { BASELINE_PROFILE_NAME, benchProfile, desiredFor } from './fixture.ts';
import type { Clients } from './kube.ts';
import { nowMs, runPool, withRetry } from './kube.ts';

const FIELD_MANAGER = 'bench-baseline';
const MANAGED = `${LABEL_MANAGED_BY}=${MANAGED_BY_VALUE}`;

export interface BaselineResult {
    seconds: number;
    requests: number;
    writesPerSecond: number;
    objectsPerNamespace: number;
}

export async function runBaseline(
    c: Clients,
    names: readonly string[],
    member: string,
    concurrency: number,
    timeoutMs: number,
): Promise<BaselineResult> {
    const created = (await c.custom.createClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        body: benchProfile(BASELINE_PROFILE_NAME, 'none'),
    })) as IsolationProfile;
    const profile = benchProfile(BASELINE_PROFILE_NAME, member, created.metadata.uid);
    // Planned outside the timed section: the operator plans too, but from its cache, in microseconds.
    const desired = new Map(names.map((n) => [n, desiredFor(n, member, profile)]));
    let requests = 0;
    const t0 = nowMs();
    await runPool(
        names,
        concurrency,
        async (ns) => {
            await c.objects.patch(
                {
                    apiVersion: 'v1',
                    kind: 'Namespace',
                    metadata: { name: ns, labels: { [LABEL_PROFILE]: BASELINE_PROFILE_NAME } },
                },
                undefined,
                undefined,
                FIELD_MANAGER,
                true,
                PatchStrategy.ServerSideApply,
            );
            requests++;
            for (const obj of desired.get(ns)!) {
                await c.objects.patch(
                    structuredClone(obj),
                    undefined,
                    undefined,
                    FIELD_MANAGER,
                    true,
                    PatchStrategy.ServerSideApply,
                );
                requests++;
            }
        },
        timeoutMs,
    );
    const seconds = (nowMs() - t0) / 1000;
    return {
        seconds,
        requests,
        writesPerSecond: requests / seconds,
        objectsPerNamespace: desired.get(names[0]!)?.length ?? 0,
    };
}

/** Deletes the baseline's objects and label and its profile; verifies nothing managed is left. */
export async function cleanupBaseline(
    c: Clients,
    names: readonly string[],
    timeoutMs: number,
): Promise<void> {
    await runPool(
        names,
        16,
        async (namespace) => {
            await withRetry(() =>
                c.net.deleteCollectionNamespacedNetworkPolicy({ namespace, labelSelector: MANAGED }),
            );
            await withRetry(() =>
                c.rbac.deleteCollectionNamespacedRoleBinding({ namespace, labelSelector: MANAGED }),
            );
            await withRetry(() =>
                c.core.patchNamespace(
                    { name: namespace, body: { metadata: { labels: { [LABEL_PROFILE]: null } } } },
                    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
                ),
            );
        },
        timeoutMs,
    );
    await c.custom.deleteClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        name: BASELINE_PROFILE_NAME,
    });
    const nps = await c.net.listNetworkPolicyForAllNamespaces({ labelSelector: MANAGED, limit: 1 });
    const rbs = await c.rbac.listRoleBindingForAllNamespaces({ labelSelector: MANAGED, limit: 1 });
    const labelled = await c.core.listNamespace({ labelSelector: LABEL_PROFILE, limit: 1 });
    if (nps.items.length + rbs.items.length + labelled.items.length > 0)
        throw new Error('baseline cleanup left managed objects or namespace labels behind');
}
