/**
 * "Converged to the plan", checked from outside the operator: the cluster as read from the API server against what
 * the operator's own pure planner (src/explain/planned.ts over src/plan) says the profiles make of its namespaces.
 *
 * Converged means, for every namespace that is not being deleted: every planned NetworkPolicy and RoleBinding
 * exists with the planned content, labels and owner (nothing missing, nothing wrong), no object carrying the
 * operator's managed-by label exists that the plan does not list (nothing leaked; two generated objects for one
 * planned rule would be one of them: nothing duplicated), the namespace's `isolation.dev/profile` label names its
 * governing profile or is absent (nothing mislabelled); and every profile's status describes this generation:
 * observedGeneration current, Ready True exactly when it governs a namespace, enforced namespaces and object counts
 * equal to the plan's.
 *
 * Design choice: `compareToPlan` is pure (a snapshot in, a list of discrepancies out) so a failing test prints what
 * is wrong, not just "not converged"; objects are read raw (CustomObjectsApi), never through client-node's typed
 * models, which rename wire fields (`from` → `_from`).
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';

import {
    GROUP,
    LABEL_MANAGED_BY,
    LABEL_PROFILE,
    MANAGED_BY_VALUE,
    PLURAL,
    VERSION,
} from '../../src/api/types.ts';
import type { IsolationProfile } from '../../src/api/types.ts';
import { plannedCluster } from '../../src/explain/planned.ts';
import { differences, neverGovernSet, resolveNamespace, resolvePlanSettings } from '../../src/plan/index.ts';
import type { DesiredObject, NamespaceInfo, PlanSettings, ServiceAccountInfo } from '../../src/plan/index.ts';

interface RawObject {
    metadata?: {
        name?: string;
        namespace?: string;
        labels?: Record<string, string>;
        ownerReferences?: { uid?: string; name?: string }[];
    };
    [k: string]: unknown;
}

export interface ClusterSnapshot {
    profiles: IsolationProfile[];
    /** Namespaces not being deleted. */
    namespaces: NamespaceInfo[];
    terminating: Set<string>;
    serviceAccounts: Map<string, ServiceAccountInfo[]>;
    networkPolicies: RawObject[];
    roleBindings: RawObject[];
}

export interface Discrepancies {
    missing: string[];
    leaked: string[];
    /** Planned objects that exist with other content, labels or owner. */
    wrong: string[];
    mislabelled: string[];
    status: string[];
    /** Sizes, for the report. */
    planned: number;
    governed: number;
}

export function isConverged(d: Discrepancies): boolean {
    return d.missing.length + d.leaked.length + d.wrong.length + d.mislabelled.length + d.status.length === 0;
}

export function summary(d: Discrepancies, max = 5): string {
    const part = (name: string, xs: string[]) =>
        xs.length
            ? `${xs.length} ${name} (${xs.slice(0, max).join('; ')}${xs.length > max ? '; ...' : ''})`
            : '';
    return (
        [
            part('missing', d.missing),
            part('leaked', d.leaked),
            part('wrong', d.wrong),
            part('mislabelled', d.mislabelled),
            part('status', d.status),
        ]
            .filter(Boolean)
            .join(', ') || `converged (${d.planned} objects in ${d.governed} governed namespaces)`
    );
}

const keyOf = (kind: string, ns: string, name: string) => `${kind}/${ns}/${name}`;

/** Pure: what differs between the snapshot and the plan of its profiles. */
export function compareToPlan(
    s: ClusterSnapshot,
    settings: PlanSettings = resolvePlanSettings(),
): Discrepancies {
    const planned = plannedCluster({
        profiles: s.profiles,
        namespaces: s.namespaces,
        serviceAccounts: s.serviceAccounts,
        settings,
    });
    const d: Discrepancies = {
        missing: [],
        leaked: [],
        wrong: [],
        mislabelled: [],
        status: [],
        planned: 0,
        governed: planned.governance.size,
    };
    const live = new Map<string, RawObject>();
    const counted = (kind: string, list: RawObject[]) => {
        for (const o of list) {
            const ns = o.metadata?.namespace ?? '';
            if (s.terminating.has(ns)) continue;
            const k = keyOf(kind, ns, o.metadata?.name ?? '');
            if (live.has(k)) d.leaked.push(`${k} (twice)`);
            live.set(k, o);
        }
    };
    counted('NetworkPolicy', s.networkPolicies);
    counted('RoleBinding', s.roleBindings);

    const uids = new Map(s.profiles.map((p) => [p.metadata.name, p.metadata.uid]));
    const want = new Set<string>();
    const perProfile = new Map<
        string,
        { networkPolicies: number; roleBindings: number; namespaces: number }
    >();
    for (const [, profile] of planned.governance) {
        const c = perProfile.get(profile) ?? { networkPolicies: 0, roleBindings: 0, namespaces: 0 };
        c.namespaces++;
        perProfile.set(profile, c);
    }
    for (const o of [...planned.policies, ...planned.roleBindings] as DesiredObject[]) {
        const k = keyOf(o.kind, o.metadata.namespace, o.metadata.name);
        want.add(k);
        d.planned++;
        const owner = o.metadata.labels[LABEL_PROFILE] ?? '';
        const c = perProfile.get(owner);
        if (c) c[o.kind === 'NetworkPolicy' ? 'networkPolicies' : 'roleBindings']++;
        const got = live.get(k);
        if (!got) {
            d.missing.push(k);
            continue;
        }
        const diffs = differences(o, got);
        const refs = got.metadata?.ownerReferences ?? [];
        if (refs.length !== 1 || refs[0]?.uid !== uids.get(owner)) diffs.push('ownerReferences');
        if (diffs.length) d.wrong.push(`${k}: ${diffs.join(',')}`);
    }
    for (const k of live.keys()) if (!want.has(k)) d.leaked.push(k);

    const actual = new Map(s.namespaces.map((n) => [n.name, n.labels?.[LABEL_PROFILE]]));
    const never = neverGovernSet(settings);
    for (const ns of s.namespaces) {
        const expected = planned.governance.get(ns.name);
        const got = actual.get(ns.name);
        // A namespace a DryRun or suspended profile selects keeps whatever label it had; none of those here.
        const heldBack = resolveNamespace(ns, s.profiles, never).winner;
        if (expected !== undefined ? got !== expected : got !== undefined && !heldBack)
            d.mislabelled.push(`${ns.name}: ${got ?? '(none)'} instead of ${expected ?? '(none)'}`);
    }

    for (const p of s.profiles) {
        const name = p.metadata.name;
        const exp = perProfile.get(name) ?? { networkPolicies: 0, roleBindings: 0, namespaces: 0 };
        const st = p.status;
        const ready = st?.conditions?.find((c) => c.type === 'Ready');
        const problems: string[] = [];
        if (st?.observedGeneration !== p.metadata.generation)
            problems.push(`observedGeneration ${st?.observedGeneration} of ${p.metadata.generation}`);
        const readyWanted = exp.namespaces > 0 ? 'True' : 'False';
        if (ready?.status !== readyWanted)
            problems.push(`Ready ${ready?.status} (${ready?.reason}), want ${readyWanted}`);
        if (st?.namespaces?.enforced !== exp.namespaces)
            problems.push(`enforced ${st?.namespaces?.enforced}, want ${exp.namespaces}`);
        if (
            st?.objects?.networkPolicies !== exp.networkPolicies ||
            st.objects.roleBindings !== exp.roleBindings
        )
            problems.push(
                `objects ${st?.objects?.networkPolicies}/${st?.objects?.roleBindings}, want ${exp.networkPolicies}/${exp.roleBindings}`,
            );
        if (problems.length) d.status.push(`${name}: ${problems.join(', ')}`);
    }
    return d;
}

interface RawList {
    items: RawObject[];
}

const MANAGED = `${LABEL_MANAGED_BY}=${MANAGED_BY_VALUE}`;

/** Reads everything `compareToPlan` needs, as the cluster admin, straight from the API server. */
export async function readCluster(kc: KubeConfig): Promise<ClusterSnapshot> {
    const core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const [nsList, saList, nps, rbs, profiles] = await Promise.all([
        core.listNamespace(),
        core.listServiceAccountForAllNamespaces(),
        custom.listClusterCustomObject({
            group: 'networking.k8s.io',
            version: 'v1',
            plural: 'networkpolicies',
            labelSelector: MANAGED,
        }) as Promise<RawList>,
        custom.listClusterCustomObject({
            group: 'rbac.authorization.k8s.io',
            version: 'v1',
            plural: 'rolebindings',
            labelSelector: MANAGED,
        }) as Promise<RawList>,
        custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL }) as Promise<{
            items: IsolationProfile[];
        }>,
    ]);
    const terminating = new Set<string>();
    const namespaces: NamespaceInfo[] = [];
    for (const n of nsList.items) {
        const name = n.metadata?.name ?? '';
        if (n.metadata?.deletionTimestamp || n.status?.phase === 'Terminating') terminating.add(name);
        else namespaces.push({ name, labels: { ...(n.metadata?.labels ?? {}) } });
    }
    const serviceAccounts = new Map<string, ServiceAccountInfo[]>();
    for (const sa of saList.items) {
        const ns = sa.metadata?.namespace ?? '';
        const list = serviceAccounts.get(ns) ?? [];
        list.push({ name: sa.metadata?.name ?? '', labels: { ...(sa.metadata?.labels ?? {}) } });
        serviceAccounts.set(ns, list);
    }
    return {
        profiles: profiles.items,
        namespaces,
        terminating,
        serviceAccounts,
        networkPolicies: nps.items,
        roleBindings: rbs.items,
    };
}
