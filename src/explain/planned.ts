/**
 * The cluster as the operator would make it: profiles planned onto namespaces, offline and pure.
 *
 * `explain` answers from files the same way `plan` renders them: the same conflict resolution and planner decide
 * which profile governs each namespace and which NetworkPolicies and RoleBindings exist there; objects given in
 * the files (hand-made policies and bindings) are added as they are, and a generated object given in the files is
 * replaced by the planned one, as the operator would. Governed namespaces get the `isolation.dev/profile` label the
 * operator writes, so `profile` peers select them.
 */
import type { IsolationProfile } from '../api/types.ts';
import { LABEL_PROFILE } from '../api/types.ts';
import { neverGovernSet, plan, resolveNamespace } from '../plan/index.ts';
import type { NamespaceInfo, PlanSettings, ServiceAccountInfo } from '../plan/index.ts';
import type { NetworkPolicyInput, RoleBindingInput } from '../netpol/index.ts';

export interface PlannedCluster {
    namespaces: NamespaceInfo[];
    governance: Map<string, string>;
    policies: NetworkPolicyInput[];
    roleBindings: RoleBindingInput[];
}

export interface PlannedInput {
    profiles: readonly IsolationProfile[];
    namespaces: readonly NamespaceInfo[];
    serviceAccounts: ReadonlyMap<string, ServiceAccountInfo[]>;
    settings: PlanSettings;
    /** Policies and RoleBindings that exist besides the generated ones. */
    policies?: readonly NetworkPolicyInput[];
    roleBindings?: readonly RoleBindingInput[];
}

export function plannedCluster(input: PlannedInput): PlannedCluster {
    const never = neverGovernSet(input.settings);
    const governance = new Map<string, string>();
    const policies: NetworkPolicyInput[] = [];
    const roleBindings: RoleBindingInput[] = [];
    const generated = new Set<string>();
    const namespaces: NamespaceInfo[] = [];
    for (const ns of input.namespaces) {
        const labels = { ...(ns.labels ?? {}) };
        delete labels[LABEL_PROFILE];
        const r = resolveNamespace(ns, input.profiles, never);
        // DryRun and suspended profiles write nothing: their namespaces keep what they have.
        const winner =
            r.winner && r.winner.spec.mode !== 'DryRun' && !r.winner.spec.suspend ? r.winner : null;
        if (winner) {
            governance.set(ns.name, winner.metadata.name);
            labels[LABEL_PROFILE] = winner.metadata.name;
            for (const o of plan({
                namespace: ns,
                profile: winner,
                serviceAccounts: input.serviceAccounts.get(ns.name) ?? [],
                settings: input.settings,
            })) {
                generated.add(`${o.kind}/${o.metadata.namespace}/${o.metadata.name}`);
                if (o.kind === 'NetworkPolicy') policies.push(o);
                else roleBindings.push(o);
            }
        } else if (ns.labels?.[LABEL_PROFILE]) {
            labels[LABEL_PROFILE] = ns.labels[LABEL_PROFILE];
        }
        namespaces.push({ name: ns.name, labels });
    }
    for (const p of input.policies ?? []) {
        if (!generated.has(`NetworkPolicy/${p.metadata.namespace}/${p.metadata.name}`)) policies.push(p);
    }
    for (const rb of input.roleBindings ?? []) {
        if (!generated.has(`RoleBinding/${rb.metadata.namespace}/${rb.metadata.name}`)) roleBindings.push(rb);
    }
    return { namespaces, governance, policies, roleBindings };
}
