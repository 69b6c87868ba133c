/**
 * What the caches keep of each watched object. An informer cache holds every object of its kind for the life of
 * the process, so at 10,000 namespaces, 20,000 ServiceAccounts and 60,000 generated objects the cache IS the
 * operator's memory. Each trim keeps exactly the fields the reconcilers read: names, labels, resourceVersion and
 * uid everywhere; spec/roleRef/subjects and ownerReferences on generated objects; and of managedFields only who
 * wrote when (drift events name the last foreign field manager), never the field sets, which are often larger
 * than the object itself. Annotations (kubectl's last-applied copy among them) are dropped.
 *
 * Second, structural sharing: the generated objects of one profile are nearly identical across namespaces (the same
 * spec, labels, ownerReference and roleRef in 10,000 namespaces), so equal sub-objects are stored once and shared,
 * frozen. Only the operator's own managedFields entries are dropped (drift reports name the other managers).
 * Measured on a heap snapshot at 10,000 namespaces before this: cached NetworkPolicies 61 MiB, RoleBindings 26 MiB.
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

import { FIELD_MANAGER } from '../api/types.ts';
import { GENERATED_NAME_PREFIX } from '../plan/names.ts';

/**
 * Equal JSON values are stored once (frozen), for as long as some cached object still holds them.
 *
 * Objects are pooled through `WeakRef`s, and a `FinalizationRegistry` forgets a key once its value was collected:
 * when the last cached object using a spec, label set or ownerReference leaves the cache (its profile was deleted,
 * its namespace went), the value and its key go too. The pool used to hold every value strongly, so every spec of
 * every profile ever seen stayed in memory until 50,000 entries (docs/memory.md). Strings (namespace names) cannot
 * be held weakly; they stay in a small strong pool, bounded by `max` and cleared when full.
 */
export class Sharer {
    #pool = new Map<string, WeakRef<object>>();
    #strings = new Map<string, string>();
    readonly #max: number;
    readonly #registry = new FinalizationRegistry<string>((key) => {
        // The key may have been re-shared with a new value since; forget it only if its value is really gone.
        if (this.#pool.get(key)?.deref() === undefined) this.#pool.delete(key);
    });

    constructor(max = 50_000) {
        this.#max = max;
    }

    share<T>(value: T): T {
        if (value === undefined || value === null) return value;
        if (typeof value === 'string') {
            const hit = this.#strings.get(value);
            if (hit !== undefined) return hit as T;
            if (this.#strings.size >= this.#max) this.#strings.clear();
            this.#strings.set(value, value);
            return value;
        }
        if (typeof value !== 'object') return value;
        const key = JSON.stringify(value);
        const hit = this.#pool.get(key)?.deref();
        if (hit !== undefined) return hit as T;
        if (this.#pool.size >= this.#max) this.#pool.clear();
        const frozen: T & object = deepFreeze(value);
        this.#pool.set(key, new WeakRef(frozen));
        this.#registry.register(frozen, key);
        return frozen;
    }

    /** Values pooled now (strings included); a collected value counts until its finalizer ran. */
    get size(): number {
        return this.#pool.size + this.#strings.size;
    }
}

function deepFreeze<T>(v: T): T {
    if (v && typeof v === 'object' && !Object.isFrozen(v)) {
        for (const x of Object.values(v)) deepFreeze(x);
        Object.freeze(v);
    }
    return v;
}

const shared = new Sharer();

const BASE_KEYS = ['name', 'namespace', 'uid', 'resourceVersion', 'labels'] as const;
const BASE_KEYS_NO_UID = ['name', 'namespace', 'resourceVersion', 'labels'] as const;

/**
 * `uid` is kept where a write needs it as a precondition (generated objects: never delete or take over a tenant's
 * replacement under our name); namespaces and ServiceAccounts are only read, and 30,000 uid strings at 10,000
 * namespaces were 2 MiB of the live heap.
 */
function meta(m: V1ObjectMeta | undefined, extra: (keyof V1ObjectMeta)[] = [], withUid = true): V1ObjectMeta {
    const out: V1ObjectMeta = {};
    if (!m) return out;
    const keys = withUid ? BASE_KEYS : BASE_KEYS_NO_UID;
    for (const k of [...keys, ...extra]) {
        if (m[k] !== undefined && m[k] !== null) (out as Record<string, unknown>)[k] = m[k];
    }
    return out;
}

function managers(m: V1ObjectMeta | undefined): V1ManagedFieldsEntry[] | undefined {
    const list = m?.managedFields?.filter((e) => e.manager !== FIELD_MANAGER);
    if (!list || list.length === 0) return undefined;
    return list.map((e) => {
        const out: V1ManagedFieldsEntry = {};
        if (e.manager !== undefined) out.manager = e.manager;
        if (e.operation !== undefined) out.operation = e.operation;
        if (e.time !== undefined) out.time = e.time;
        return out;
    });
}

/**
 * A cache holds one kind, so its apiVersion and kind are the same constant strings for every object: the parsed
 * copies ("networking.k8s.io/v1", "NetworkPolicy": too long for V8 to intern) cost about 80 bytes per object, or
 * 5 MiB at 60,000 generated objects.
 */
function base<T extends KubernetesObject>(kind: string, apiVersion: string): Pick<T, 'apiVersion' | 'kind'> {
    return { apiVersion, kind };
}

export function trimNamespace(ns: V1Namespace): V1Namespace {
    return {
        ...base('Namespace', 'v1'),
        metadata: meta(ns.metadata, ['creationTimestamp', 'deletionTimestamp'], false),
    };
}

export function trimServiceAccount(sa: V1ServiceAccount): V1ServiceAccount {
    const m = meta(sa.metadata, [], false);
    if (m.namespace) m.namespace = shared.share(m.namespace);
    if (m.labels) m.labels = shared.share(m.labels);
    return { ...base('ServiceAccount', 'v1'), metadata: m };
}

export function trimClusterRole(cr: V1ClusterRole): V1ClusterRole {
    return { ...base('ClusterRole', 'rbac.authorization.k8s.io/v1'), metadata: meta(cr.metadata) };
}

function generatedMeta(m: V1ObjectMeta | undefined): V1ObjectMeta {
    const out = meta(m, ['deletionTimestamp']);
    // A generated name is the same in every namespace (`isolation-default-deny`): one string for all of them.
    if (out.name) out.name = shared.share(out.name);
    if (out.namespace) out.namespace = shared.share(out.namespace);
    if (out.labels) out.labels = shared.share(out.labels);
    if (m?.ownerReferences) out.ownerReferences = shared.share(m.ownerReferences);
    const mf = managers(m);
    if (mf) out.managedFields = mf;
    return out;
}

export function trimNetworkPolicy(np: V1NetworkPolicy): V1NetworkPolicy {
    return {
        ...base('NetworkPolicy', 'networking.k8s.io/v1'),
        metadata: generatedMeta(np.metadata),
        ...(np.spec ? { spec: shared.share(np.spec) } : {}),
    };
}

export function trimRoleBinding(rb: V1RoleBinding): V1RoleBinding {
    return {
        ...base('RoleBinding', 'rbac.authorization.k8s.io/v1'),
        metadata: generatedMeta(rb.metadata),
        roleRef: shared.share(rb.roleRef),
        ...(rb.subjects ? { subjects: shared.share(rb.subjects) } : {}),
    };
}

/**
 * An unmanaged NetworkPolicy or RoleBinding (no managed-by label), kept only as far as the "never adopt" check
 * needs: its name and namespace, and for names the operator could generate, the last field manager that wrote it
 * (named in the ForeignObject event). Everything else a tenant wrote into it is dropped, so a cluster with many
 * hand-made RoleBindings costs one small record each.
 */
export function trimUnmanaged<T extends V1NetworkPolicy | V1RoleBinding>(obj: T): T {
    const m = obj.metadata;
    const out: V1ObjectMeta = {};
    if (m?.name !== undefined) out.name = m.name;
    if (m?.namespace !== undefined) out.namespace = shared.share(m.namespace);
    if (m?.resourceVersion !== undefined) out.resourceVersion = m.resourceVersion;
    if (m?.name?.startsWith(GENERATED_NAME_PREFIX)) {
        const last = lastManager(m.managedFields);
        if (last) out.managedFields = [{ manager: last }];
    }
    return { metadata: out } as T;
}

/** The field manager that wrote an object last (managedFields `time`), if recorded. */
export function lastManager(entries: V1ManagedFieldsEntry[] | undefined): string | undefined {
    const t = (x: unknown) => (x ? new Date(x as string | Date).getTime() : 0);
    let best: V1ManagedFieldsEntry | undefined;
    for (const e of entries ?? []) {
        if (e.manager && (!best || t(e.time) >= t(best.time))) best = e;
    }
    return best?.manager;
}
