/**
 * What the caches keep of each watched object. An informer cache holds every object of its kind for the life of
 * the process, so at 10,000 namespaces, 20,000 ServiceAccounts and 60,000 generated objects the cache IS the
 * operator's memory. Each trim keeps exactly the fields the reconcilers read: names, labels, resourceVersion and
 * uid everywhere; spec/roleRef/subjects and ownerReferences on generated objects; and of managedFields only who
 * wrote when (drift events name the last foreign field manager), never the field sets, which are often larger
 * than the object itself. Annotations (kubectl's last-applied copy among them) are dropped.
 */
import type {
    KubernetesObject,
    V1ClusterRole,
    V1ManagedFieldsEntry,
    V1Namespace,
    V1NetworkPolicy,
    V1ObjectMeta,
    V1RoleBinding,
    V1ServiceAccount,
} from '@kubernetes/client-node';

function meta(m: V1ObjectMeta | undefined, extra: (keyof V1ObjectMeta)[] = []): V1ObjectMeta {
    const out: V1ObjectMeta = {};
    if (!m) return out;
    for (const k of ['name', 'namespace', 'uid', 'resourceVersion', 'labels', ...extra] as const) {
        if (m[k] !== undefined && m[k] !== null) (out as Record<string, unknown>)[k] = m[k];
    }
    return out;
}

function managers(m: V1ObjectMeta | undefined): V1ManagedFieldsEntry[] | undefined {
    const list = m?.managedFields;
    if (!list || list.length === 0) return undefined;
    return list.map((e) => {
        const out: V1ManagedFieldsEntry = {};
        if (e.manager !== undefined) out.manager = e.manager;
        if (e.operation !== undefined) out.operation = e.operation;
        if (e.time !== undefined) out.time = e.time;
        return out;
    });
}

function base<T extends KubernetesObject>(
    obj: T,
    kind: string,
    apiVersion: string,
): Pick<T, 'apiVersion' | 'kind'> {
    return { apiVersion: obj.apiVersion ?? apiVersion, kind: obj.kind ?? kind };
}

export function trimNamespace(ns: V1Namespace): V1Namespace {
    return {
        ...base(ns, 'Namespace', 'v1'),
        metadata: meta(ns.metadata, ['creationTimestamp', 'deletionTimestamp']),
    };
}

export function trimServiceAccount(sa: V1ServiceAccount): V1ServiceAccount {
    return { ...base(sa, 'ServiceAccount', 'v1'), metadata: meta(sa.metadata) };
}

export function trimClusterRole(cr: V1ClusterRole): V1ClusterRole {
    return { ...base(cr, 'ClusterRole', 'rbac.authorization.k8s.io/v1'), metadata: meta(cr.metadata) };
}

function generatedMeta(m: V1ObjectMeta | undefined): V1ObjectMeta {
    const out = meta(m, ['ownerReferences', 'deletionTimestamp']);
    const mf = managers(m);
    if (mf) out.managedFields = mf;
    return out;
}

export function trimNetworkPolicy(np: V1NetworkPolicy): V1NetworkPolicy {
    return {
        ...base(np, 'NetworkPolicy', 'networking.k8s.io/v1'),
        metadata: generatedMeta(np.metadata),
        ...(np.spec ? { spec: np.spec } : {}),
    };
}

export function trimRoleBinding(rb: V1RoleBinding): V1RoleBinding {
    return {
        ...base(rb, 'RoleBinding', 'rbac.authorization.k8s.io/v1'),
        metadata: generatedMeta(rb.metadata),
        roleRef: rb.roleRef,
        ...(rb.subjects ? { subjects: rb.subjects } : {}),
    };
}
