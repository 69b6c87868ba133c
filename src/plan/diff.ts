/**
 * Comparing desired objects with live ones from the informer cache, and deciding what to create, update and prune.
 *
 * Only fields we own are compared: the labels we set, our ownerReferences, and `spec` (NetworkPolicy) or `roleRef`
 * and `subjects` (RoleBinding). Both sides are first brought to one canonical form that undoes everything the API
 * server (or a typed client model) does on its own, so a converged cluster compares equal and costs zero writes:
 * - ports: `protocol` defaults to TCP;
 * - `policyTypes` absent/empty is defaulted as the server does ([Ingress], plus Egress when egress rules exist), and
 *   compared as a set;
 * - empty lists and absent lists are the same (`ingress`, `egress`, `from`, `to`, `ports`, `except`, `subjects`,
 *   `matchExpressions`, `values`), as are empty and absent `matchLabels`; a missing top-level podSelector is `{}`;
 * - a peer's `podSelector: {}` is NOT the same as an absent one (the server keeps it, and it changes hostNetwork
 *   matching on some CNIs), so presence of peer selectors is compared;
 * - RoleBinding `roleRef.apiGroup` and subject `apiGroup` get the server defaults, a ServiceAccount subject without
 *   namespace is compared as is;
 * - properties set to `undefined` (typed client models) count as absent; extra fields (managedFields, status,
 *   resourceVersion, other managers' labels and owners) are ignored.
 * `roleRef` is immutable in the API: a RoleBinding whose roleRef changed must be replaced (`requiresReplace`).
 */

import { isDeepStrictEqual } from 'node:util';
import type { LabelSelector, LabelSelectorRequirement, PlannedAction } from '../api/types.ts';
import { FIELD_MANAGER, GROUP, KIND, LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../api/types.ts';
import type { DesiredObject, GeneratedKind } from './objects.ts';
import { RBAC_API_GROUP } from './objects.ts';
import { compareStrings } from './order.ts';

type Json = Record<string, unknown>;

function isRecord(v: unknown): v is Json {
    return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function arr(v: unknown): unknown[] {
    return Array.isArray(v) ? v : [];
}

function str(v: unknown): string | undefined {
    return typeof v === 'string' ? v : undefined;
}

function sortedStrings(values: unknown[]): string[] {
    return values.filter((x): x is string => typeof x === 'string').sort();
}

// ---- canonical forms -------------------------------------------------------------------------------------------

export function canonicalSelector(v: unknown): LabelSelector {
    const out: LabelSelector = {};
    if (!isRecord(v)) return out;
    if (isRecord(v.matchLabels)) {
        const entries = Object.entries(v.matchLabels).filter(
            (e): e is [string, string] => typeof e[1] === 'string',
        );
        if (entries.length > 0)
            out.matchLabels = Object.fromEntries(entries.sort(([a], [b]) => compareStrings(a, b)));
    }
    const exprs = arr(v.matchExpressions).filter(isRecord);
    if (exprs.length > 0) {
        out.matchExpressions = exprs.map((e) => {
            const req: LabelSelectorRequirement = {
                key: str(e.key) ?? '',
                operator: (str(e.operator) ?? '') as LabelSelectorRequirement['operator'],
            };
            const values = arr(e.values).filter((x): x is string => typeof x === 'string');
            if (values.length > 0) req.values = values;
            return req;
        });
    }
    return out;
}

function canonicalPeer(v: unknown): Json {
    const out: Json = {};
    if (!isRecord(v)) return out;
    if (isRecord(v.podSelector)) out.podSelector = canonicalSelector(v.podSelector);
    if (isRecord(v.namespaceSelector)) out.namespaceSelector = canonicalSelector(v.namespaceSelector);
    if (isRecord(v.ipBlock)) {
        const except = arr(v.ipBlock.except);
        out.ipBlock = except.length > 0 ? { cidr: v.ipBlock.cidr, except } : { cidr: v.ipBlock.cidr };
    }
    return out;
}

function canonicalPort(v: unknown): Json {
    const out: Json = { protocol: 'TCP' };
    if (!isRecord(v)) return out;
    if (typeof v.protocol === 'string' && v.protocol !== '') out.protocol = v.protocol;
    if (typeof v.port === 'number' || typeof v.port === 'string') out.port = v.port;
    if (typeof v.endPort === 'number') out.endPort = v.endPort;
    return out;
}

function canonicalRule(v: unknown, peersKey: 'from' | 'to'): Json {
    const out: Json = {};
    if (!isRecord(v)) return out;
    // client-node's typed models call `from` `_from`; accept both shapes so a typed object never looks drifted.
    const raw = v[peersKey] ?? (peersKey === 'from' ? v._from : undefined);
    const peers = arr(raw).map(canonicalPeer);
    if (peers.length > 0) out[peersKey] = peers;
    const ports = arr(v.ports).map(canonicalPort);
    if (ports.length > 0) out.ports = ports;
    return out;
}

/** The NetworkPolicy spec as the server would store it, in a comparable form. */
export function canonicalNetworkPolicySpec(v: unknown): Json {
    const spec = isRecord(v) ? v : {};
    const ingress = arr(spec.ingress).map((r) => canonicalRule(r, 'from'));
    const egress = arr(spec.egress).map((r) => canonicalRule(r, 'to'));
    let policyTypes = sortedStrings(arr(spec.policyTypes));
    if (policyTypes.length === 0) policyTypes = egress.length > 0 ? ['Egress', 'Ingress'] : ['Ingress'];
    const out: Json = {
        podSelector: canonicalSelector(spec.podSelector),
        policyTypes: [...new Set(policyTypes)],
    };
    if (ingress.length > 0) out.ingress = ingress;
    if (egress.length > 0) out.egress = egress;
    return out;
}

export function canonicalRoleRef(v: unknown): Json {
    const ref = isRecord(v) ? v : {};
    return {
        apiGroup: str(ref.apiGroup) || RBAC_API_GROUP,
        kind: str(ref.kind) ?? '',
        name: str(ref.name) ?? '',
    };
}

export function canonicalSubjects(v: unknown): Json[] {
    return arr(v)
        .filter(isRecord)
        .map((s) => {
            const kind = str(s.kind) ?? '';
            const defaultGroup = kind === 'User' || kind === 'Group' ? RBAC_API_GROUP : '';
            return {
                kind,
                apiGroup: str(s.apiGroup) || defaultGroup,
                name: str(s.name) ?? '',
                namespace: str(s.namespace) ?? '',
            };
        });
}

function ownOwnerReferences(v: unknown): Json[] {
    return arr(v)
        .filter(isRecord)
        .filter((r) => (str(r.apiVersion) ?? '').startsWith(`${GROUP}/`) && r.kind === KIND)
        .map((r) => ({
            apiVersion: r.apiVersion,
            kind: r.kind,
            name: r.name,
            uid: r.uid,
            controller: r.controller === true,
            blockOwnerDeletion: r.blockOwnerDeletion === true,
        }))
        .sort((a, b) => compareStrings(String(a.uid), String(b.uid)));
}

// ---- comparison ------------------------------------------------------------------------------------------------

function metadataOf(v: unknown): Json {
    return isRecord(v) && isRecord(v.metadata) ? v.metadata : {};
}

/**
 * The owned fields in which `existing` differs from `desired`: any of `metadata.labels`, `metadata.ownerReferences`,
 * `spec`, `roleRef`, `subjects`. Empty when nothing needs applying. Useful for drift events.
 */
export function differences(desired: DesiredObject, existing: unknown): string[] {
    const diffs: string[] = [];
    const meta = metadataOf(existing);
    const labels = isRecord(meta.labels) ? meta.labels : {};
    if (Object.entries(desired.metadata.labels).some(([k, val]) => labels[k] !== val))
        diffs.push('metadata.labels');
    if (
        !isDeepStrictEqual(
            ownOwnerReferences(desired.metadata.ownerReferences),
            ownOwnerReferences(meta.ownerReferences),
        )
    ) {
        diffs.push('metadata.ownerReferences');
    }
    const live = isRecord(existing) ? existing : {};
    if (desired.kind === 'NetworkPolicy') {
        if (
            !isDeepStrictEqual(
                canonicalNetworkPolicySpec(desired.spec),
                canonicalNetworkPolicySpec(live.spec),
            )
        ) {
            diffs.push('spec');
        }
    } else {
        if (!isDeepStrictEqual(canonicalRoleRef(desired.roleRef), canonicalRoleRef(live.roleRef)))
            diffs.push('roleRef');
        if (!isDeepStrictEqual(canonicalSubjects(desired.subjects), canonicalSubjects(live.subjects)))
            diffs.push('subjects');
    }
    return diffs;
}

/** True when applying `desired` would change a field we own on the live object. */
export function needsApply(desired: DesiredObject, existing: unknown): boolean {
    return differences(desired, existing).length > 0;
}

/** True for a RoleBinding whose roleRef changed: roleRef is immutable, so it must be deleted and re-created. */
export function requiresReplace(desired: DesiredObject, existing: unknown): boolean {
    if (desired.kind !== 'RoleBinding' || !isRecord(existing)) return false;
    return !isDeepStrictEqual(canonicalRoleRef(desired.roleRef), canonicalRoleRef(existing.roleRef));
}

// ---- pruning and action plans ----------------------------------------------------------------------------------

export function nameOf(obj: unknown): string {
    return str(metadataOf(obj).name) ?? '';
}

/** True for objects carrying `app.kubernetes.io/managed-by: isolation-operator`. */
export function isGenerated(obj: unknown): boolean {
    const labels = metadataOf(obj).labels;
    return isRecord(labels) && labels[LABEL_MANAGED_BY] === MANAGED_BY_VALUE;
}

/**
 * The generated objects among `existing` (ONE kind, ONE namespace, e.g. the informer cache's list for the
 * namespace) whose name is not desired any more. Objects without our managed-by label are never pruned. Sorted by
 * name.
 */
export function prunable<T>(existing: readonly T[], desiredNames: Iterable<string>): T[] {
    const keep = new Set(desiredNames);
    return existing
        .filter((o) => isGenerated(o) && !keep.has(nameOf(o)))
        .sort((a, b) => compareStrings(nameOf(a), nameOf(b)));
}

/** The cached generated objects of one namespace, per kind (list items may lack apiVersion/kind). */
export interface ExistingObjects<L = unknown> {
    networkPolicies: readonly L[];
    roleBindings: readonly L[];
}

/** A desired object and the live object of the same kind and name. */
export interface Change<L = unknown> {
    desired: DesiredObject;
    live: L;
}

/** A generated object to delete, with the live object (its uid and resourceVersion are the preconditions). */
export interface Removal<L = unknown> {
    kind: GeneratedKind;
    namespace: string;
    name: string;
    live: L;
}

export interface Actions<L = unknown> {
    /** Desired objects that do not exist yet. */
    create: DesiredObject[];
    /** Existing objects whose owned fields differ: apply. */
    update: Change<L>[];
    /** RoleBindings whose immutable roleRef changed: delete, then create. */
    replace: Change<L>[];
    /** Generated objects no longer desired. */
    delete: Removal<L>[];
}

/**
 * What reconciling one namespace would do: the one action planner of the operator (the namespace reconciler acts
 * on it, DryRun reports it). All lists keep a deterministic order (desired order, then by name).
 */
export function planActions<L>(desired: readonly DesiredObject[], existing: ExistingObjects<L>): Actions<L> {
    const byKind: Record<GeneratedKind, Map<string, L>> = {
        NetworkPolicy: new Map(existing.networkPolicies.map((o) => [nameOf(o), o])),
        RoleBinding: new Map(existing.roleBindings.map((o) => [nameOf(o), o])),
    };
    const actions: Actions<L> = { create: [], update: [], replace: [], delete: [] };
    for (const d of desired) {
        const live = byKind[d.kind].get(d.metadata.name);
        if (live === undefined) actions.create.push(d);
        else if (requiresReplace(d, live)) actions.replace.push({ desired: d, live });
        else if (needsApply(d, live)) actions.update.push({ desired: d, live });
    }
    for (const kind of ['NetworkPolicy', 'RoleBinding'] as const) {
        const names = desired.filter((d) => d.kind === kind).map((d) => d.metadata.name);
        const all = kind === 'NetworkPolicy' ? existing.networkPolicies : existing.roleBindings;
        for (const o of prunable(all, names)) {
            const namespace = str(metadataOf(o).namespace) ?? '';
            actions.delete.push({ kind, namespace, name: nameOf(o), live: o });
        }
    }
    return actions;
}

/** Actions as `status.plan` entries (DryRun). A replace is reported as delete + create, which is what happens. */
export function toPlannedActions(actions: Actions): PlannedAction[] {
    const ref = (d: DesiredObject) => ({
        kind: d.kind,
        namespace: d.metadata.namespace,
        name: d.metadata.name,
    });
    return [
        ...actions.create.map((d): PlannedAction => ({ action: 'create', ...ref(d) })),
        ...actions.update.map((c): PlannedAction => ({ action: 'update', ...ref(c.desired) })),
        ...actions.replace.flatMap((c): PlannedAction[] => [
            { action: 'delete', ...ref(c.desired) },
            { action: 'create', ...ref(c.desired) },
        ]),
        ...actions.delete.map((r): PlannedAction => ({
            action: 'delete',
            kind: r.kind,
            namespace: r.namespace,
            name: r.name,
        })),
    ];
}

export interface ManagerEntry {
    manager: string;
    operation: string;
    time: string;
}

/**
 * True for the field managers the operator writes with: `isolation-operator` (generated objects, orphaning) and
 * `isolation-operator-<purpose>` (`-namespace` label, `-finalizer`, `-status`; src/controller/cluster.ts). A
 * deliberate prefix-and-dash rule rather than one name: an edit the operator made under any of its managers is
 * never reported as drift, while a manager that merely starts with the same letters (`isolation-operatorx`) is
 * someone else.
 */
export function isOwnFieldManager(manager: string): boolean {
    return manager === FIELD_MANAGER || manager.startsWith(`${FIELD_MANAGER}-`);
}

/**
 * The most recent `managedFields` entry of a manager other than the operator's (by `time`), to name who changed a
 * generated object in a drift event or status. Null when only the operator manages it.
 */
export function lastForeignManager(existing: unknown): ManagerEntry | null {
    let best: ManagerEntry | null = null;
    let bestAt = Number.NEGATIVE_INFINITY;
    for (const entry of arr(metadataOf(existing).managedFields).filter(isRecord)) {
        const manager = str(entry.manager) ?? '';
        if (manager === '' || isOwnFieldManager(manager)) continue;
        const rawTime: unknown = entry.time;
        const time = rawTime instanceof Date ? rawTime.toISOString() : (str(rawTime) ?? '');
        const ms = Date.parse(time);
        const at = Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms;
        if (best === null || at >= bestAt) {
            best = { manager, operation: str(entry.operation) ?? '', time };
            bestAt = at;
        }
    }
    return best;
}
