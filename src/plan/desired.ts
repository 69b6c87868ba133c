/**
 * `plan`: the whole desired state of one namespace, as a pure function.
 *
 * Input is what the informer caches hold (namespace, governing profile or null, the namespace's ServiceAccounts) plus
 * settings; output is the sorted list of objects that should exist — NetworkPolicies first, then RoleBindings, each
 * by name — so equal inputs give byte-identical output whatever the order of the inputs. `plan` decides WHAT should
 * exist, not whether to write: mode (DryRun), suspend and deletion are the controller's business. A never-govern
 * namespace or a null profile plans nothing. Should two rules share a name (the CRD forbids it), the first wins so the
 * output never holds two objects of one kind and name.
 */

import type { IsolationProfile } from '../api/types.ts';
import { effectiveNetwork } from '../api/defaults.ts';
import { networkPoliciesFor } from './networkpolicies.ts';
import type { DesiredObject, ObjectContext } from './objects.ts';
import type { ServiceAccountInfo } from './rolebindings.ts';
import { accessRoleBindings, serviceAccountRoleBindings } from './rolebindings.ts';
import type { NamespaceInfo } from './selection.ts';
import { inTenant, isNeverGoverned } from './selection.ts';
import type { PlanSettings } from './settings.ts';
import { resolvePlanSettings } from './settings.ts';
import { compareStrings } from './order.ts';

export type { PlanSettings } from './settings.ts';

export interface PlanInput {
    namespace: NamespaceInfo;
    /** The profile that governs the namespace (see `resolveNamespace`), or null. */
    profile: Pick<IsolationProfile, 'metadata' | 'spec'> | null;
    /** The ServiceAccounts of THIS namespace. */
    serviceAccounts: readonly ServiceAccountInfo[];
    /** Missing fields take `DEFAULT_PLAN_SETTINGS`. */
    settings?: Partial<PlanSettings>;
}

const KIND_ORDER: Record<DesiredObject['kind'], number> = { NetworkPolicy: 0, RoleBinding: 1 };

export function compareObjects(a: DesiredObject, b: DesiredObject): number {
    const byKind = KIND_ORDER[a.kind] - KIND_ORDER[b.kind];
    if (byKind !== 0) return byKind;
    const an = a.metadata.name;
    const bn = b.metadata.name;
    return compareStrings(an, bn);
}

export function plan(input: PlanInput): DesiredObject[] {
    const { namespace, profile } = input;
    const settings = resolvePlanSettings(input.settings);
    // Never-govern namespaces and namespaces of another tenant get nothing, whoever calls.
    if (!profile || isNeverGoverned(namespace.name, settings) || !inTenant(profile, namespace)) return [];

    const ctx: ObjectContext = {
        namespace: namespace.name,
        owner: { name: profile.metadata.name, uid: profile.metadata.uid },
    };
    if (profile.spec.tenant !== undefined) ctx.tenant = profile.spec.tenant;
    const spec = profile.spec;
    const access = spec.access ?? [];
    const objects: DesiredObject[] = [
        ...networkPoliciesFor(ctx, effectiveNetwork(spec), access, settings),
        ...accessRoleBindings(ctx, access),
        ...serviceAccountRoleBindings(ctx, spec.serviceAccounts ?? [], input.serviceAccounts),
    ];

    const seen = new Set<string>();
    const unique = objects.filter((o) => {
        const key = `${o.kind}/${o.metadata.name}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
    });
    return unique.sort(compareObjects);
}
