/**
 * The controller description: for every watched kind, which informer events matter and which keys they put on
 * which of the two queues (namespace, profile). It is data plus small pure key mappers, so a reader sees in one
 * table what wakes what, and adding a watched kind is one entry here (plus its informer in cluster.ts).
 *
 * Design choice: the description knows nothing about queues, activation or metrics. `handlersFor` turns it into
 * the informer handlers and sends every mapped key to one `route` callback, which the manager points at the
 * workqueues once this replica leads and the caches are synced (before that, keys are dropped: activation
 * enqueues everything anyway). Two filters keep the operator quiet at convergence:
 * - the echo of the operator's own write (RecentWrites) changes nothing a reconcile reads: no key;
 * - a profile update that changes neither `metadata.generation` nor the deletion state (a status write, a
 *   finalizer, a label) changes nothing either (controller-runtime's GenerationChangedPredicate, plus deletion).
 */
import type {
    KubernetesObject,
    V1ClusterRole,
    V1Namespace,
    V1NetworkPolicy,
    V1RoleBinding,
    V1ServiceAccount,
} from '@kubernetes/client-node';

import { LABEL_PROFILE } from '../api/types.ts';
import type { IsolationProfile } from '../api/types.ts';
import { selects } from '../plan/index.ts';
import { GENERATED_NAME_PREFIX } from '../plan/names.ts';
import type { InformerEventType, InformerHandlers } from '../runtime/informer.ts';
import type { Handlers } from './cluster.ts';
import type { OutcomeStore } from './outcomes.ts';
import type { ClusterView } from './ports.ts';

export type QueueName = 'namespace' | 'profile';

/** One key for one queue. */
export interface Enqueue {
    queue: QueueName;
    key: string;
}

export interface Watch<T> {
    /** Events that wake anything (default: add, update and delete). */
    events?: readonly InformerEventType[];
    /**
     * Whether the event changes what the alignment check reads: `always` (the default; an echo of the operator's
     * own write is still a change the check must see), `unlessSkipped`, or `never`.
     */
    alignment?: 'always' | 'unlessSkipped' | 'never';
    /** True for an event that changes nothing a reconcile reads (an echo, a status-only update). */
    skip?: (obj: T, event: InformerEventType) => boolean;
    /** The keys the event puts on the queues. */
    keys: (obj: T, event: InformerEventType) => Enqueue[];
}

export type Watches = {
    profile: Watch<IsolationProfile>;
    namespace: Watch<V1Namespace>;
    serviceAccount: Watch<V1ServiceAccount>;
    networkPolicy: Watch<V1NetworkPolicy>;
    roleBinding: Watch<V1RoleBinding>;
    clusterRole: Watch<V1ClusterRole>;
    unmanagedNetworkPolicy: Watch<V1NetworkPolicy>;
    unmanagedRoleBinding: Watch<V1RoleBinding>;
};

export interface WatchContext {
    view: ClusterView;
    outcomes: OutcomeStore;
    /** True when `obj` is the watch echo of the operator's own write (src/controller/recent-writes.ts). */
    isEcho(kind: 'Namespace' | 'NetworkPolicy' | 'RoleBinding', obj: KubernetesObject): boolean;
    /** A generated object's delete event: forget any own write of it that the delete superseded. */
    deleteSeen(kind: 'NetworkPolicy' | 'RoleBinding', obj: KubernetesObject): void;
}

/** Namespaces a profile event must revisit: selected now, labelled with it, or holding an outcome of it. */
export function namespacesOfProfile(
    view: ClusterView,
    outcomes: OutcomeStore,
    profile: IsolationProfile,
): string[] {
    const out = new Set<string>();
    const name = profile.metadata.name;
    for (const ns of view.namespaces()) {
        const n = ns.metadata?.name;
        if (!n) continue;
        const labels = ns.metadata?.labels ?? {};
        if (labels[LABEL_PROFILE] === name || selects(profile, { name: n, labels })) out.add(n);
    }
    for (const o of outcomes.forProfile(name)) out.add(o.namespace);
    return [...out];
}

const toNamespace = (name: string | undefined): Enqueue[] =>
    name ? [{ queue: 'namespace', key: name }] : [];

/** The watches of the operator. */
export function operatorWatches(ctx: WatchContext): Watches {
    const { view, outcomes } = ctx;
    // Generation filter state: profile name → `generation|deletionTimestamp` last seen.
    const profileState = new Map<string, string>();
    const generated = (kind: 'NetworkPolicy' | 'RoleBinding'): Watch<V1NetworkPolicy | V1RoleBinding> => ({
        skip: (o, event) => {
            if (event !== 'delete') return ctx.isEcho(kind, o);
            ctx.deleteSeen(kind, o); // before the reconcile it wakes reads the overlay
            return false;
        },
        keys: (o) => toNamespace(o.metadata?.namespace),
    });
    return {
        profile: {
            // A status-only update changes no input of the alignment check (and marking it stale would make
            // every status write ask for one more status reconcile).
            alignment: 'unlessSkipped',
            skip: (p, event) => {
                if (event === 'delete') {
                    profileState.delete(p.metadata.name);
                    return false;
                }
                const state = `${p.metadata.generation ?? 0}|${p.metadata.deletionTimestamp ?? ''}`;
                if (profileState.get(p.metadata.name) === state) return true;
                profileState.set(p.metadata.name, state);
                return false;
            },
            keys: (p) => [
                { queue: 'profile', key: p.metadata.name },
                ...namespacesOfProfile(view, outcomes, p).map((key) => ({
                    queue: 'namespace' as const,
                    key,
                })),
            ],
        },
        namespace: {
            skip: (ns, event) => event === 'update' && ctx.isEcho('Namespace', ns),
            keys: (ns) => toNamespace(ns.metadata?.name),
        },
        serviceAccount: { keys: (sa) => toNamespace(sa.metadata?.namespace) },
        networkPolicy: generated('NetworkPolicy'),
        roleBinding: generated('RoleBinding'),
        // A role appearing or going away changes ReferencesResolved of every profile; its rules matter to nobody.
        clusterRole: {
            events: ['add', 'delete'],
            alignment: 'never',
            keys: () => view.profiles().map((p) => ({ queue: 'profile', key: p.metadata.name })),
        },
        // An unmanaged object under a generated name blocks that name (never adopted); its namespace is looked at
        // again once it goes, or once it appears. Unmanaged objects under other names wake nothing.
        unmanagedNetworkPolicy: unmanaged,
        unmanagedRoleBinding: unmanaged,
    };
}

const unmanaged: Watch<V1NetworkPolicy | V1RoleBinding> = {
    events: ['add', 'delete'],
    alignment: 'never',
    skip: (o) => !o.metadata?.name?.startsWith(GENERATED_NAME_PREFIX),
    keys: (o) => toNamespace(o.metadata?.namespace),
};

export interface Routing {
    /** Every mapped key goes here. */
    route(e: Enqueue): void;
    /** Every event a watch marks as changing what the alignment check reads. */
    alignmentChanged(): void;
    /** Sees each event that is not skipped, before its keys are mapped (e.g. namespace creation times). */
    observe?(kind: keyof Watches, event: InformerEventType, obj: unknown): void;
    /** False until keys should flow; mapping is skipped (the filters still see every event). */
    active(): boolean;
}

type Watched<K extends keyof Watches> = Watches[K] extends Watch<infer T> ? T : never;

function handlerFor<K extends keyof Watches>(
    kind: K,
    watches: () => Watches,
    routing: Routing,
): InformerHandlers<Watched<K>> {
    const on = (event: InformerEventType) => (obj: Watched<K>) => {
        const watch = watches()[kind] as unknown as Watch<Watched<K>>;
        if (!(watch.events ?? ALL_EVENTS).includes(event)) return;
        const alignment = watch.alignment ?? 'always';
        if (alignment === 'always') routing.alignmentChanged();
        if (watch.skip?.(obj, event)) return;
        if (alignment === 'unlessSkipped') routing.alignmentChanged();
        routing.observe?.(kind, event, obj);
        if (!routing.active()) return;
        for (const e of watch.keys(obj, event)) routing.route(e);
    };
    return { onAdd: on('add'), onUpdate: on('update'), onDelete: on('delete') };
}

const ALL_EVENTS: readonly InformerEventType[] = ['add', 'update', 'delete'];

/**
 * The informer handlers of a description. `watches` is read at each event: the description is built on the view
 * of the very informers these handlers are given to.
 */
export function handlersFor(watches: () => Watches, routing: Routing): Handlers {
    return {
        profile: handlerFor('profile', watches, routing),
        namespace: handlerFor('namespace', watches, routing),
        serviceAccount: handlerFor('serviceAccount', watches, routing),
        networkPolicy: handlerFor('networkPolicy', watches, routing),
        roleBinding: handlerFor('roleBinding', watches, routing),
        clusterRole: handlerFor('clusterRole', watches, routing),
        unmanagedNetworkPolicy: handlerFor('unmanagedNetworkPolicy', watches, routing),
        unmanagedRoleBinding: handlerFor('unmanagedRoleBinding', watches, routing),
    };
}
