/**
 * Baseline phase: the API server's write rate on this machine for exactly the operator's workload. A plain
 * client-node client (admin kubeconfig) with the operator's concurrency does, per namespace and in the operator's
 * order, the namespace label apply and then one create per planned object, sent together — the minimum any
 * controller must send. Afterwards it removes what it wrote so the converge phase starts from the same clean namespaces.
 *
 * Design choice: the requests are the operator's, byte for byte (src/controller/cluster.ts `writerOf`): the same
 * planned bodies and field managers, creates by POST since ADR 0022 (server-side apply before), through the same
 * client: the pooled baseline sends them on
 * the operator's lean request path (`Requester`, src/runtime/request.ts) since it replaced client-node's request
 * stack in the operator (2026-12-05, evening); the unpooled reference keeps client-node's calls, which open a
 * connection per request. Earlier: `CustomObjectsApi.patchNamespacedCustomObject` with the apply content type since
 * commit 174b60d; before, the
 * typed `patchNamespacedNetworkPolicy` / `patchNamespacedRoleBinding`, which send the same request but
 * deserialise the reply into models; never the generic `KubernetesObjectApi.patch`, which re-serialises a
 * NetworkPolicy through its model and drops the rule field `from`), and the namespace label through a server-side
 * apply of a partial Namespace. Only the client around them differs: no informers, no queue, no reconciler. The headline baseline uses a pooled client, as the
 * operator does, so converge / baseline measures the operator's own overhead.
 *
 * The objects carry an ownerReference to a real (inert) profile, `bench-baseline`, that selects no namespace:
 * with a dangling owner the garbage collector would delete them while we measure.
 */
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

import { WRITES_IN_FLIGHT_PER_NAMESPACE } from '../src/controller/namespace-reconciler.ts';
import { inParallel } from '../src/runtime/parallel.ts';
import {
    FIELD_MANAGER,
    GROUP,
    LABEL_MANAGED_BY,
    LABEL_PROFILE,
    MANAGED_BY_VALUE,
    PLURAL,
    VERSION,
} from '../src/api/types.ts';
import type { IsolationProfile } from '../src/api/types.ts';
import { NAMESPACE_LABEL_MANAGER } from '../src/controller/cluster.ts';
import type { DesiredObject } from '../src/plan/index.ts';
import { BASELINE_PROFILE_NAME, benchProfile, desiredFor } from './fixture.ts';
import type { Clients } from './kube.ts';
import { nowMs, runPool, withRetry } from './kube.ts';

const MANAGED = `${LABEL_MANAGED_BY}=${MANAGED_BY_VALUE}`;

export interface BaselineResult {
    seconds: number;
    requests: number;
    writesPerSecond: number;
    objectsPerNamespace: number;
    /** CPU seconds of the bench process (client and its watches) while the baseline ran: the client's cost. */
    clientCpuSeconds: number;
}

/** The operator's namespace label write: server-side apply of a partial Namespace, forced, its own manager. */
async function labelNamespace(c: Clients, namespace: string, profile: string): Promise<void> {
    const body = {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: namespace, labels: { [LABEL_PROFILE]: profile } },
    };
    if (c.requester) {
        await c.requester.apply(`/api/v1/namespaces/${namespace}`, body, NAMESPACE_LABEL_MANAGER);
        return;
    }
    await c.objects.patch(
        body,
        undefined,
        undefined,
        NAMESPACE_LABEL_MANAGER,
        true,
        PatchStrategy.ServerSideApply,
    );
}

const API_VERSIONS = {
    NetworkPolicy: 'networking.k8s.io/v1',
    RoleBinding: 'rbac.authorization.k8s.io/v1',
} as const;
const PLURALS = { NetworkPolicy: 'networkpolicies', RoleBinding: 'rolebindings' } as const;

/**
 * The operator's object write: a create (POST, ADR 0022) with its field manager; the body goes out as is and the
 * reply comes back as wire JSON, with no model (de)serialisation.
 */
async function createObject(c: Clients, obj: DesiredObject): Promise<void> {
    const { namespace } = obj.metadata;
    if (c.requester) {
        const path = `/apis/${API_VERSIONS[obj.kind]}/namespaces/${namespace}/${PLURALS[obj.kind]}`;
        await c.requester.request('POST', path, { fieldManager: FIELD_MANAGER }, obj, 'application/json');
        return;
    }
    const [group, version] = API_VERSIONS[obj.kind].split('/') as [string, string];
    await c.custom.createNamespacedCustomObject({
        group,
        version,
        plural: PLURALS[obj.kind],
        namespace,
        body: obj,
        fieldManager: FIELD_MANAGER,
    });
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
    const cpu0 = process.cpuUsage();
    const t0 = nowMs();
    await runPool(
        names,
        concurrency,
        async (ns) => {
            await labelNamespace(c, ns, BASELINE_PROFILE_NAME);
            requests++;
            // Together, as the operator sends a namespace's writes (WRITES_IN_FLIGHT_PER_NAMESPACE).
            await inParallel(desired.get(ns)!, WRITES_IN_FLIGHT_PER_NAMESPACE, async (obj) => {
                await createObject(c, obj);
                requests++;
            });
        },
        timeoutMs,
    );
    const seconds = (nowMs() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return {
        clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
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
    concurrency = 16,
): Promise<void> {
    await runPool(
        names,
        concurrency,
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
