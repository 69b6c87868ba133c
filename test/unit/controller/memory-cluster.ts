/**
 * In-memory doubles of the reconcilers' ports (src/controller/ports.ts): one store of namespaces, profiles,
 * ServiceAccounts, ClusterRoles and generated objects, seen through a `ClusterView` and changed through a
 * `ClusterWriter` that records every call and applies it to the same store, so a second reconcile sees the first
 * one's writes (as the informer caches do). `failNext` makes one call fail with a given API error. No cluster: the
 * integration tests cover the real API server.
 */
import type { DesiredObject } from '../../../src/plan/index.ts';
import type {
    V1ClusterRole,
    V1Namespace,
    V1NetworkPolicy,
    V1RoleBinding,
    V1ServiceAccount,
} from '@kubernetes/client-node';

import { FINALIZER, LABEL_MANAGED_BY, LABEL_PROFILE } from '../../../src/api/types.ts';
import type {
    IsolationProfile,
    IsolationProfileSpec,
    IsolationProfileStatus,
} from '../../../src/api/types.ts';
import type {
    ClusterView,
    ClusterWriter,
    ForeignObject,
    GeneratedLive,
    ProfileEvents,
} from '../../../src/controller/ports.ts';

type Kind = 'NetworkPolicy' | 'RoleBinding';

export class MemoryCluster {
    namespaces = new Map<string, V1Namespace>();
    profiles: IsolationProfile[] = [];
    serviceAccounts: V1ServiceAccount[] = [];
    clusterRoles = new Set<string>();
    /** `${ns}/${name}`, managed ones only (the informer's label selector). */
    policies = new Map<string, V1NetworkPolicy>();
    bindings = new Map<string, V1RoleBinding>();
    /** Objects under generated names without the managed-by label (only the view's `foreignObjects` sees them). */
    foreign: (ForeignObject & { namespace: string })[] = [];
    calls: string[] = [];
    events: string[] = [];
    /** Call prefix (e.g. `create NetworkPolicy team-a/isolation-dns`) → the error that call throws, once. */
    #failures = new Map<string, unknown>();
    #rv = 1;

    addNamespace(name: string, labels: Record<string, string> = {}): V1Namespace {
        const ns = { metadata: { name, labels: { ...labels } } };
        this.namespaces.set(name, ns);
        return ns;
    }

    addProfile(name: string, spec: Partial<IsolationProfileSpec> = {}): IsolationProfile {
        const p: IsolationProfile = {
            apiVersion: 'isolation.dev/v1alpha1',
            kind: 'IsolationProfile',
            metadata: { name, uid: `uid-${name}`, generation: 1, creationTimestamp: '2026-01-01T00:00:00Z' },
            spec: { namespaces: { names: ['team-a'] }, ...spec },
        };
        this.profiles.push(p);
        return p;
    }

    /** The next call whose description starts with `prefix` throws `err`. */
    failNext(prefix: string, err: unknown): void {
        this.#failures.set(prefix, err);
    }

    /** Stores `obj` as the server would: a new uid and resourceVersion (an update keeps no old field). */
    #put(obj: DesiredObject): void {
        const stored = JSON.parse(JSON.stringify(obj)) as GeneratedLive;
        stored.metadata!.uid = `uid-${this.#rv}`;
        stored.metadata!.resourceVersion = String(this.#rv++);
        this.#store(obj.kind).set(`${obj.metadata.namespace}/${obj.metadata.name}`, stored);
    }

    #store(kind: Kind): Map<string, GeneratedLive> {
        return kind === 'NetworkPolicy' ? this.policies : this.bindings;
    }

    view(): ClusterView {
        const inNs = <T extends { metadata?: { namespace?: string } }>(m: Map<string, T>, ns: string) =>
            [...m.values()].filter((o) => o.metadata?.namespace === ns);
        return {
            profiles: () => this.profiles,
            profile: (n) => this.profiles.find((p) => p.metadata.name === n),
            namespaces: () => [...this.namespaces.values()],
            namespace: (n) => this.namespaces.get(n),
            serviceAccounts: (ns) => this.serviceAccounts.filter((sa) => sa.metadata?.namespace === ns),
            networkPolicies: (ns) => inNs(this.policies, ns),
            roleBindings: (ns) => inNs(this.bindings, ns),
            generatedFor: (profile) => {
                const out: { kind: Kind; obj: GeneratedLive }[] = [];
                for (const [kind, m] of [
                    ['NetworkPolicy', this.policies],
                    ['RoleBinding', this.bindings],
                ] as const)
                    for (const obj of m.values())
                        if (obj.metadata?.labels?.[LABEL_PROFILE] === profile) out.push({ kind, obj });
                return out;
            },
            clusterRole: (n): V1ClusterRole | undefined =>
                this.clusterRoles.has(n) ? { metadata: { name: n } } : undefined,
            foreignObjects: (kind, namespace, names) =>
                this.foreign
                    .filter((f) => f.kind === kind && f.namespace === namespace && names.includes(f.name))
                    .map(({ kind: k, name, manager }) =>
                        manager ? { kind: k, name, manager } : { kind: k, name },
                    ),
        };
    }

    writer(): ClusterWriter {
        // Each call settles on a later tick, as a real request would; a planned failure rejects instead.
        const call = <T>(what: string, fn: () => T): Promise<T> =>
            Promise.resolve().then(() => {
                this.calls.push(what);
                for (const [prefix, err] of this.#failures) {
                    if (!what.startsWith(prefix)) continue;
                    this.#failures.delete(prefix);
                    throw err;
                }
                return fn();
            });
        const profile = (name: string) => this.profiles.find((p) => p.metadata.name === name);
        return {
            create: (obj) =>
                call(`create ${obj.kind} ${obj.metadata.namespace}/${obj.metadata.name}`, () => {
                    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
                    if (this.#store(obj.kind).has(key))
                        throw Object.assign(new Error(`${obj.kind} ${key} already exists`), { code: 409 });
                    this.#put(obj);
                }),
            update: (obj) =>
                call(`update ${obj.kind} ${obj.metadata.namespace}/${obj.metadata.name}`, () =>
                    this.#put(obj),
                ),
            delete: (kind, namespace, name) =>
                call(`delete ${kind} ${namespace}/${name}`, () => {
                    this.#store(kind).delete(`${namespace}/${name}`);
                }),
            labelNamespace: (namespace, p) =>
                call(`label ${namespace}=${p}`, () => {
                    const ns = this.namespaces.get(namespace)!;
                    ns.metadata!.labels = { ...(ns.metadata?.labels ?? {}), [LABEL_PROFILE]: p };
                }),
            unlabelNamespace: (namespace) =>
                call(`unlabel ${namespace}`, () => {
                    const ns = this.namespaces.get(namespace)!;
                    const labels = { ...(ns.metadata?.labels ?? {}) };
                    delete labels[LABEL_PROFILE];
                    ns.metadata!.labels = labels;
                }),
            orphan: (kind, namespace, name, profileUid) =>
                call(`orphan ${kind} ${namespace}/${name}`, () => {
                    const key = `${namespace}/${name}`;
                    const obj = this.#store(kind).get(key);
                    if (!obj?.metadata) return;
                    const labels = { ...(obj.metadata.labels ?? {}) };
                    delete labels[LABEL_MANAGED_BY];
                    delete labels[LABEL_PROFILE];
                    obj.metadata.labels = labels;
                    obj.metadata.ownerReferences = (obj.metadata.ownerReferences ?? []).filter(
                        (o) => o.uid !== profileUid,
                    );
                    // No longer managed: out of the label-selected cache.
                    this.#store(kind).delete(key);
                    this.orphaned.push(obj);
                }),
            addFinalizer: (p) =>
                call(`finalize ${p.metadata.name}`, () => {
                    profile(p.metadata.name)!.metadata.finalizers = [FINALIZER];
                }),
            removeFinalizer: (p) =>
                call(`unfinalize ${p.metadata.name}`, () => {
                    const live = profile(p.metadata.name);
                    if (live) live.metadata.finalizers = [];
                    // The API server deletes a deleting object once its last finalizer is gone.
                    if (live?.metadata.deletionTimestamp)
                        this.profiles = this.profiles.filter((x) => x !== live);
                }),
            patchStatus: (name, status: IsolationProfileStatus) =>
                call(`status ${name}`, () => {
                    // A new object, as the informer would deliver: the caller's copy keeps the old status.
                    this.profiles = this.profiles.map((p) =>
                        p.metadata.name === name ? { ...p, status: structuredClone(status) } : p,
                    );
                }),
        };
    }

    /** Objects orphaned by `deletionPolicy: Orphan` (kept, without the operator's labels). */
    orphaned: GeneratedLive[] = [];

    eventSink(): ProfileEvents {
        return { record: (_p, type, reason, message) => this.events.push(`${type} ${reason}: ${message}`) };
    }
}
