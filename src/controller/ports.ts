/**
 * The two narrow interfaces the reconcilers see: `ClusterView` (reads, served from informer caches, never from
 * the API server) and `ClusterWriter` (every write the operator can make). The manager adapts the generic runtime
 * (informers, apply client, events) to them; keeping them small makes each reconciler's I/O obvious and lets the
 * offline `plan` command reuse the planning path with a static view.
 */
import type {
    V1ClusterRole,
    V1Namespace,
    V1NetworkPolicy,
    V1RoleBinding,
    V1ServiceAccount,
} from '@kubernetes/client-node';

import type { IsolationProfile, IsolationProfileStatus } from '../api/types.ts';
import type { DesiredObject } from '../plan/index.ts';

export type GeneratedLive = V1NetworkPolicy | V1RoleBinding;

export interface ClusterView {
    profiles(): IsolationProfile[];
    profile(name: string): IsolationProfile | undefined;
    namespaces(): V1Namespace[];
    namespace(name: string): V1Namespace | undefined;
    serviceAccounts(namespace: string): V1ServiceAccount[];
    /** Generated (managed-by labelled) NetworkPolicies of a namespace. */
    networkPolicies(namespace: string): V1NetworkPolicy[];
    /** Generated (managed-by labelled) RoleBindings of a namespace. */
    roleBindings(namespace: string): V1RoleBinding[];
    /** Every generated object labelled with this profile, across namespaces. */
    generatedFor(profile: string): { kind: 'NetworkPolicy' | 'RoleBinding'; obj: GeneratedLive }[];
    clusterRole(name: string): V1ClusterRole | undefined;
    /**
     * Which of `names` exist in the namespace WITHOUT the operator's managed-by label (from a watch of unmanaged
     * objects, names only). The operator never adopts those.
     */
    foreignObjects(
        kind: 'NetworkPolicy' | 'RoleBinding',
        namespace: string,
        names: string[],
    ): ForeignObject[];
}

/** An object with a generated name that the operator did not create (no managed-by label). */
export interface ForeignObject {
    kind: 'NetworkPolicy' | 'RoleBinding';
    name: string;
    /** The most recent field manager that wrote it, when known. */
    manager?: string;
}

export interface ClusterWriter {
    /** Creates a generated object the cache does not show (POST; 409 if it exists after all). */
    create(obj: DesiredObject): Promise<void>;
    /**
     * Replaces a generated object with `obj`, conditional on the version the cache showed (PUT); when it was
     * written since, a forced server-side apply on the same uid takes the operator's fields back.
     */
    update(obj: DesiredObject, live: { uid?: string; resourceVersion?: string }): Promise<void>;
    /** Deletes the version the cache showed (`uid` as precondition; `resourceVersion` for read-your-writes). */
    delete(
        kind: 'NetworkPolicy' | 'RoleBinding',
        namespace: string,
        name: string,
        uid?: string,
        resourceVersion?: string,
    ): Promise<void>;
    /** Sets `isolation.dev/profile=<profile>` on the namespace (server-side apply, own field manager). */
    labelNamespace(namespace: string, profile: string): Promise<void>;
    /** Removes the `isolation.dev/profile` label whoever set it. */
    unlabelNamespace(namespace: string): Promise<void>;
    /** Removes the operator's labels and the ownerReference to the profile (deletionPolicy Orphan). */
    orphan(
        kind: 'NetworkPolicy' | 'RoleBinding',
        namespace: string,
        name: string,
        profileUid: string,
    ): Promise<void>;
    addFinalizer(profile: IsolationProfile): Promise<void>;
    removeFinalizer(profile: IsolationProfile): Promise<void>;
    patchStatus(name: string, status: IsolationProfileStatus): Promise<void>;
}

export type EventType = 'Normal' | 'Warning';

/** Events about a profile; the implementation aggregates repeats. */
export interface ProfileEvents {
    record(profile: IsolationProfile, type: EventType, reason: string, message: string): void;
}
