/**
 * The operator's view of the cluster and its writes, built on the generic runtime: one supervised informer per
 * watched resource (profiles, namespaces, ServiceAccounts, ClusterRoles, and the generated NetworkPolicies and
 * RoleBindings selected by the managed-by label), a `ClusterView` served from their caches, and a `ClusterWriter`
 * on the apply client. Reconcilers read only caches; every request the operator sends goes through here.
 */
import {
    CustomObjectsApi,
    KubernetesObjectApi,
    PatchStrategy,
    setHeaderOptions,
} from '@kubernetes/client-node';
import type {
    KubeConfig,
    KubernetesListObject,
    KubernetesObject,
    V1ClusterRole,
    V1Namespace,
    V1NetworkPolicy,
    V1RoleBinding,
    V1ServiceAccount,
} from '@kubernetes/client-node';

import {
    API_VERSION,
    FIELD_MANAGER,
    FINALIZER,
    GROUP,
    KIND,
    LABEL_MANAGED_BY,
    LABEL_PROFILE,
    MANAGED_BY_VALUE,
    PLURAL,
    VERSION,
} from '../api/types.ts';
import type { IsolationProfile, IsolationProfileStatus } from '../api/types.ts';
import type { DesiredObject } from '../plan/index.ts';
import { ApplyClient } from '../runtime/apply.ts';
import { PooledKubeConfig } from '../runtime/kubeconfig.ts';
import { Requester } from '../runtime/request.ts';
import { errorMessage, httpStatus, isConflict, isNotFound } from '../runtime/errors.ts';
import type { WriteVerb } from '../runtime/apply.ts';
import { listWatchFactory, SupervisedInformer } from '../runtime/informer.ts';
import { listAllPages } from '../runtime/pager.ts';
import type { PageRequest } from '../runtime/pager.ts';
import type { InformerHandlers, InformerHooks, SelectorOptions } from '../runtime/informer.ts';
import type { ClusterView, ClusterWriter, ForeignObject, GeneratedLive } from './ports.ts';
import { RecentWrites } from './recent-writes.ts';
import {
    trimClusterRole,
    trimNamespace,
    trimNetworkPolicy,
    trimRoleBinding,
    trimServiceAccount,
    trimUnmanaged,
} from './trim.ts';

export const NAMESPACE_LABEL_MANAGER = `${FIELD_MANAGER}-namespace`;
export const FINALIZER_MANAGER = `${FIELD_MANAGER}-finalizer`;
const MANAGED_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGED_BY_VALUE}`;
const UNMANAGED_SELECTOR = `${LABEL_MANAGED_BY}!=${MANAGED_BY_VALUE}`;

export interface Handlers {
    profile: InformerHandlers<IsolationProfile>;
    namespace: InformerHandlers<V1Namespace>;
    serviceAccount: InformerHandlers<V1ServiceAccount>;
    networkPolicy: InformerHandlers<V1NetworkPolicy>;
    roleBinding: InformerHandlers<V1RoleBinding>;
    clusterRole: InformerHandlers<V1ClusterRole>;
    unmanagedNetworkPolicy: InformerHandlers<V1NetworkPolicy>;
    unmanagedRoleBinding: InformerHandlers<V1RoleBinding>;
}

export interface Informers {
    profiles: SupervisedInformer<IsolationProfile & KubernetesObject>;
    namespaces: SupervisedInformer<V1Namespace>;
    serviceAccounts: SupervisedInformer<V1ServiceAccount>;
    networkPolicies: SupervisedInformer<V1NetworkPolicy>;
    roleBindings: SupervisedInformer<V1RoleBinding>;
    clusterRoles: SupervisedInformer<V1ClusterRole>;
    /** NetworkPolicies and RoleBindings WITHOUT the managed-by label, trimmed to names: the "never adopt" check. */
    unmanagedNetworkPolicies: SupervisedInformer<V1NetworkPolicy>;
    unmanagedRoleBindings: SupervisedInformer<V1RoleBinding>;
}

type AnyInformer = SupervisedInformer<KubernetesObject>;

export function allInformers(i: Informers): AnyInformer[] {
    return Object.values(i) as AnyInformer[];
}

export function createInformers(
    kc: KubeConfig,
    handlers: Handlers,
    hooks: (resource: string) => InformerHooks,
    pageSize?: number,
): Informers {
    // Every list is a GET of wire JSON on the lean path, the shape the watch delivers: client-node's typed list
    // calls deserialised each page into models (a second copy of every object, Dates, `_from` for `from`), which
    // at 10,000 namespaces was most of a restart's relist garbage.
    const requester = new Requester(kc, kc instanceof PooledKubeConfig ? { retryAfter: kc.retryAfter } : {});
    const wireList =
        <T extends KubernetesObject>(path: string) =>
        (o: SelectorOptions & PageRequest): Promise<KubernetesListObject<T>> =>
            requester.get<KubernetesListObject<T>>(path, {
                labelSelector: o.labelSelector,
                limit: o.limit,
                continue: o._continue,
            });
    const make = <T extends KubernetesObject>(
        name: string,
        path: string,
        list: (o: SelectorOptions & PageRequest) => Promise<KubernetesListObject<T>>,
        h: InformerHandlers<T>,
        selector?: string,
        transform?: (obj: T) => T,
    ) =>
        new SupervisedInformer<T>({
            name,
            // Paged, trimming each page, so a large collection never sits in memory whole and untrimmed.
            list: (o) =>
                listAllPages((page) => list({ ...o, ...page }), {
                    ...(transform ? { transform } : {}),
                    ...(pageSize ? { limit: pageSize } : {}),
                }),
            factory: listWatchFactory<T>(kc, path),
            handlers: h,
            hooks: hooks(name),
            labelSelector: selector,
            ...(transform ? { transform } : {}),
        });
    const listNetworkPolicies = wireList<V1NetworkPolicy>('/apis/networking.k8s.io/v1/networkpolicies');
    const listRoleBindings = wireList<V1RoleBinding>('/apis/rbac.authorization.k8s.io/v1/rolebindings');
    return {
        profiles: make<IsolationProfile & KubernetesObject>(
            PLURAL,
            `/apis/${GROUP}/${VERSION}/${PLURAL}`,
            wireList<IsolationProfile & KubernetesObject>(`/apis/${GROUP}/${VERSION}/${PLURAL}`),
            handlers.profile,
        ),
        namespaces: make(
            'namespaces',
            '/api/v1/namespaces',
            wireList<V1Namespace>('/api/v1/namespaces'),
            handlers.namespace,
            undefined,
            trimNamespace,
        ),
        serviceAccounts: make(
            'serviceaccounts',
            '/api/v1/serviceaccounts',
            wireList<V1ServiceAccount>('/api/v1/serviceaccounts'),
            handlers.serviceAccount,
            undefined,
            trimServiceAccount,
        ),
        // Wire JSON on purpose (see `wireList`): a typed list would deserialise a rule's `from` into `_from`, so
        // objects from a relist would differ in shape from objects from the watch and look drifted to the diff.
        networkPolicies: make(
            'networkpolicies',
            '/apis/networking.k8s.io/v1/networkpolicies',
            listNetworkPolicies,
            handlers.networkPolicy,
            MANAGED_SELECTOR,
            trimNetworkPolicy,
        ),
        roleBindings: make(
            'rolebindings',
            '/apis/rbac.authorization.k8s.io/v1/rolebindings',
            listRoleBindings,
            handlers.roleBinding,
            MANAGED_SELECTOR,
            trimRoleBinding,
        ),
        clusterRoles: make(
            'clusterroles',
            '/apis/rbac.authorization.k8s.io/v1/clusterroles',
            wireList<V1ClusterRole>('/apis/rbac.authorization.k8s.io/v1/clusterroles'),
            handlers.clusterRole,
            undefined,
            trimClusterRole,
        ),
        // Watched instead of listed per namespace before each create (two LISTs per new namespace, 22 % of the
        // requests of a converge): see docs/adr/0017-unmanaged-objects-are-watched.md.
        unmanagedNetworkPolicies: make(
            'networkpolicies-unmanaged',
            '/apis/networking.k8s.io/v1/networkpolicies',
            listNetworkPolicies,
            handlers.unmanagedNetworkPolicy,
            UNMANAGED_SELECTOR,
            trimUnmanaged,
        ),
        unmanagedRoleBindings: make(
            'rolebindings-unmanaged',
            '/apis/rbac.authorization.k8s.io/v1/rolebindings',
            listRoleBindings,
            handlers.unmanagedRoleBinding,
            UNMANAGED_SELECTOR,
            trimUnmanaged,
        ),
    };
}

export function viewOf(i: Informers, recent: RecentWrites = new RecentWrites()): ClusterView {
    const profiles = () => i.profiles.list() as IsolationProfile[];
    return {
        profiles,
        profile: (name) => i.profiles.get(name),
        namespaces: () => i.namespaces.list() as V1Namespace[],
        namespace: (name) => recent.get('Namespace', '', name, i.namespaces.get(name)),
        serviceAccounts: (ns) => i.serviceAccounts.list(ns) as V1ServiceAccount[],
        networkPolicies: (ns) => recent.merge('NetworkPolicy', ns, i.networkPolicies.list(ns)),
        roleBindings: (ns) => recent.merge('RoleBinding', ns, i.roleBindings.list(ns)),
        generatedFor(profile) {
            const out: { kind: 'NetworkPolicy' | 'RoleBinding'; obj: GeneratedLive }[] = [];
            for (const np of i.networkPolicies.list()) {
                if (np.metadata?.labels?.[LABEL_PROFILE] === profile)
                    out.push({ kind: 'NetworkPolicy', obj: np });
            }
            for (const rb of i.roleBindings.list()) {
                if (rb.metadata?.labels?.[LABEL_PROFILE] === profile)
                    out.push({ kind: 'RoleBinding', obj: rb });
            }
            return out;
        },
        clusterRole: (name) => i.clusterRoles.get(name),
        foreignObjects(kind, namespace, names) {
            const cache = kind === 'NetworkPolicy' ? i.unmanagedNetworkPolicies : i.unmanagedRoleBindings;
            const out: ForeignObject[] = [];
            for (const name of names) {
                const obj = cache.get(name, namespace);
                if (!obj) continue;
                const manager = obj.metadata?.managedFields?.[0]?.manager;
                out.push(manager ? { kind, name, manager } : { kind, name });
            }
            return out;
        },
    };
}

const API_VERSIONS = {
    NetworkPolicy: 'networking.k8s.io/v1',
    RoleBinding: 'rbac.authorization.k8s.io/v1',
} as const;
const PLURALS = { NetworkPolicy: 'networkpolicies', RoleBinding: 'rolebindings' } as const;
const JSON_BODY = 'application/json';
const FM = { fieldManager: FIELD_MANAGER };
type Generated = V1NetworkPolicy | V1RoleBinding;

// Paths of the generated kinds, built here and sent through the lean path as is: never through
// KubernetesObjectApi, which re-serialises known kinds through the typed models and silently drops fields whose
// model name differs from the wire name (a NetworkPolicy rule's `from` is `_from`), turning "from these peers"
// into "from anywhere".
function collectionPath(obj: DesiredObject): string {
    const ns = encodeURIComponent(obj.metadata.namespace);
    return `/apis/${API_VERSIONS[obj.kind]}/namespaces/${ns}/${PLURALS[obj.kind]}`;
}
function objectPath(obj: DesiredObject): string {
    return `${collectionPath(obj)}/${encodeURIComponent(obj.metadata.name)}`;
}

export function writerOf(
    kc: KubeConfig,
    recent: RecentWrites,
    onWrite?: (verb: WriteVerb, kind: string) => void,
): ClusterWriter {
    const objects = KubernetesObjectApi.makeApiClient(kc);
    const custom = kc.makeApiClient(CustomObjectsApi);
    // The hot writes (one per generated object, one label per namespace) take the lean path (src/runtime/request.ts).
    const requester = new Requester(kc, kc instanceof PooledKubeConfig ? { retryAfter: kc.retryAfter } : {});
    const client = new ApplyClient({ objects, fieldManager: FIELD_MANAGER, onWrite });
    const labelClient = new ApplyClient({ objects, fieldManager: NAMESPACE_LABEL_MANAGER, onWrite });
    const finalizerClient = new ApplyClient({ objects, fieldManager: FINALIZER_MANAGER, onWrite });

    const applyFinalizers = async (profile: IsolationProfile, finalizers: string[]) => {
        try {
            await finalizerClient.apply({
                apiVersion: API_VERSION,
                kind: KIND,
                metadata: { name: profile.metadata.name, uid: profile.metadata.uid, finalizers },
            });
        } catch (err) {
            if (!isNotFound(err)) throw err;
        }
    };

    // Kept as the cache keeps it (trimmed, shared specs): the overlay holds up to a minute of writes.
    const trimmed = (kind: DesiredObject['kind'], stored: Generated) =>
        kind === 'NetworkPolicy' ? trimNetworkPolicy(stored) : trimRoleBinding(stored as V1RoleBinding);
    /** PUT conditional on the cached version; on a conflict, a forced apply on the same object (uid). */
    const updateOrTakeBack = async (
        obj: DesiredObject,
        live: { uid?: string; resourceVersion?: string },
    ): Promise<Generated> => {
        let stored: Generated;
        try {
            // The whole object, conditional on the version the cache showed: fields no longer desired go too.
            const meta = live.resourceVersion ? { resourceVersion: live.resourceVersion } : {};
            const body = { ...obj, metadata: { ...obj.metadata, ...meta } };
            stored = await requester.request<Generated>('PUT', objectPath(obj), FM, body, JSON_BODY);
            onWrite?.('update', obj.kind);
        } catch (err) {
            if (!isConflict(err)) throw err;
            // Written since the cache saw it: take our fields back with a forced apply, on the same object
            // only (the uid is a precondition: never a namespace tenant's replacement under our name).
            const body = {
                ...obj,
                metadata: { ...obj.metadata, ...(live.uid ? { uid: live.uid } : {}) },
            };
            try {
                stored = await requester.apply<Generated>(objectPath(obj), body, FIELD_MANAGER);
            } catch (applyErr) {
                // The server answers a uid mismatch in an apply body as an invalid (immutable) field; it is
                // a conflict with whoever re-created the object, retried once the cache shows it.
                if (httpStatus(applyErr) !== 422 || !/metadata\.uid/.test(errorMessage(applyErr)))
                    throw applyErr;
                const msg =
                    `${obj.kind} ${obj.metadata.name} was deleted and re-created by someone else since the ` +
                    'cache saw it; it is not taken over';
                throw Object.assign(new Error(msg), { code: 409 });
            }
            onWrite?.('apply', obj.kind);
        }
        return stored;
    };

    /**
     * Sends one write with the overlay told it is pending (`RecentWrites.begin`/`end`): watch events of the object
     * that arrive before the answer are judged against what the write returned.
     */
    const pending = async <T extends KubernetesObject>(
        kind: string,
        namespace: string,
        name: string,
        write: () => Promise<T>,
        keep: (stored: T) => KubernetesObject,
    ): Promise<T> => {
        recent.begin(kind, namespace, name);
        // `end` runs whatever happens (a failed write, or a reply that could not be kept, counts as failed):
        // a write left pending would hold back every later event of its object.
        let kept: KubernetesObject | undefined;
        try {
            const stored = await write();
            kept = keep(stored);
            return stored;
        } finally {
            recent.end(kind, namespace, name, kept);
        }
    };

    return {
        async create(obj: DesiredObject) {
            await pending(
                obj.kind,
                obj.metadata.namespace,
                obj.metadata.name,
                () => requester.request<Generated>('POST', collectionPath(obj), FM, obj, JSON_BODY),
                (stored) => trimmed(obj.kind, stored),
            );
            onWrite?.('create', obj.kind);
        },
        async update(obj: DesiredObject, live: { uid?: string; resourceVersion?: string }) {
            await pending(
                obj.kind,
                obj.metadata.namespace,
                obj.metadata.name,
                () => updateOrTakeBack(obj, live),
                (stored) => trimmed(obj.kind, stored),
            );
        },
        async delete(kind, namespace, name, uid, resourceVersion) {
            try {
                await client.delete(API_VERSIONS[kind], kind, namespace, name, uid ? { uid } : undefined);
                recent.deleted(kind, { metadata: { name, namespace, resourceVersion } });
            } catch (err) {
                // The object was replaced (another uid) or already gone: nothing of ours to delete.
                if (!isNotFound(err) && !isConflict(err)) throw err;
            }
        },
        async labelNamespace(namespace, profile) {
            await pending(
                'Namespace',
                '',
                namespace,
                () =>
                    requester.apply<V1Namespace>(
                        `/api/v1/namespaces/${encodeURIComponent(namespace)}`,
                        {
                            apiVersion: 'v1',
                            kind: 'Namespace',
                            metadata: { name: namespace, labels: { [LABEL_PROFILE]: profile } },
                        },
                        NAMESPACE_LABEL_MANAGER,
                    ),
                trimNamespace,
            );
            onWrite?.('apply', 'Namespace');
        },
        async unlabelNamespace(namespace) {
            try {
                await pending(
                    'Namespace',
                    '',
                    namespace,
                    () =>
                        labelClient.patchMetadata('v1', 'Namespace', undefined, namespace, {
                            labels: { [LABEL_PROFILE]: null },
                        }),
                    trimNamespace,
                );
            } catch (err) {
                if (!isNotFound(err)) throw err;
            }
        },
        async orphan(kind, namespace, name, profileUid) {
            const live = await objects.read<KubernetesObject>({
                apiVersion: API_VERSIONS[kind],
                kind,
                metadata: { name, namespace },
            });
            const owners = (live.metadata?.ownerReferences ?? []).filter((o) => o.uid !== profileUid);
            const stored = await client.patchMetadata(API_VERSIONS[kind], kind, namespace, name, {
                labels: { [LABEL_MANAGED_BY]: null, [LABEL_PROFILE]: null },
                ownerReferences: owners,
                resourceVersion: live.metadata?.resourceVersion,
            });
            // No longer a generated object: gone from the label-selected cache once the watch catches up; until
            // then a tombstone, so a namespace reconcile in between cannot take it for a leftover and delete it.
            recent.deleted(kind, {
                metadata: { name, namespace, resourceVersion: stored.metadata?.resourceVersion },
            });
        },
        async addFinalizer(profile) {
            await applyFinalizers(profile, [FINALIZER]);
        },
        async removeFinalizer(profile) {
            await applyFinalizers(profile, []);
        },
        async patchStatus(name: string, status: IsolationProfileStatus) {
            await custom.patchClusterCustomObjectStatus(
                {
                    group: GROUP,
                    version: VERSION,
                    plural: PLURAL,
                    name,
                    // A merge patch keeps fields it does not mention: clear the optional lists explicitly.
                    body: {
                        status: { ...status, conflicts: status.conflicts ?? null, plan: status.plan ?? null },
                    },
                    fieldManager: `${FIELD_MANAGER}-status`,
                },
                setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
            );
            onWrite?.('status', KIND);
        },
    };
}
