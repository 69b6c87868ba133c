/**
 * Desired RoleBindings for one governed namespace: one per `access` entry, one per `serviceAccounts` entry.
 *
 * Fields the API server would default are written explicitly (`roleRef.apiGroup`, `apiGroup` on User/Group
 * subjects, the namespace of ServiceAccount subjects — an omitted one means the binding's namespace, so we write it),
 * which keeps the desired object equal to what the server returns. A `serviceAccounts` entry binds only the
 * ServiceAccounts OF THE GOVERNED NAMESPACE that match it (`names` OR `selector`), sorted by name; when none match,
 * no RoleBinding is generated (an empty binding grants nothing and would only add objects and writes; a stale one is
 * pruned as soon as the last matching ServiceAccount goes).
 */

import type { AccessEntry, RoleRef, ServiceAccountEntry, Subject } from '../api/types.ts';
import { accessObjectName, serviceAccountBindingName } from './names.ts';
import type { ObjectContext, RbacRoleRef, RbacSubject, RoleBindingObject } from './objects.ts';
import { generatedMetadata, RBAC_API_GROUP, ROLE_BINDING_API_VERSION } from './objects.ts';
import { matchesSelector } from './selection.ts';
import { compareStrings } from './order.ts';

/** What the planner needs to know about a ServiceAccount of the governed namespace. */
export interface ServiceAccountInfo {
    name: string;
    labels?: Record<string, string>;
}

export function toRoleRef(ref: RoleRef): RbacRoleRef {
    return { apiGroup: RBAC_API_GROUP, kind: ref.kind, name: ref.name };
}

export function toSubject(subject: Subject, governedNamespace: string): RbacSubject {
    if (subject.kind === 'ServiceAccount') {
        return {
            kind: 'ServiceAccount',
            name: subject.name,
            namespace: subject.namespace || governedNamespace,
        };
    }
    return { kind: subject.kind, apiGroup: RBAC_API_GROUP, name: subject.name };
}

function roleBinding(
    ctx: ObjectContext,
    name: string,
    roleRef: RoleRef,
    subjects: RbacSubject[],
): RoleBindingObject {
    return {
        apiVersion: ROLE_BINDING_API_VERSION,
        kind: 'RoleBinding',
        metadata: generatedMetadata(ctx, name),
        roleRef: toRoleRef(roleRef),
        subjects,
    };
}

/** `isolation-access-<entry>`: the entry's subjects in spec order (exact duplicates dropped). */
export function accessRoleBindings(ctx: ObjectContext, access: AccessEntry[]): RoleBindingObject[] {
    return access.map((entry) => {
        const seen = new Set<string>();
        const subjects = (entry.subjects ?? [])
            .map((s) => toSubject(s, ctx.namespace))
            .filter((s) => {
                const key = `${s.kind}\u0000${s.namespace ?? ''}\u0000${s.name}`;
                if (seen.has(key)) return false;
                seen.add(key);
                return true;
            });
        return roleBinding(ctx, accessObjectName(entry.name), entry.roleRef, subjects);
    });
}

/** The ServiceAccounts an entry selects: name in `names` OR labels match `selector`; neither set = none. */
export function matchingServiceAccounts(
    entry: ServiceAccountEntry,
    serviceAccounts: readonly ServiceAccountInfo[],
): string[] {
    const names = new Set<string>();
    for (const sa of serviceAccounts) {
        const byName = entry.names?.includes(sa.name) ?? false;
        const bySelector = entry.selector !== undefined && matchesSelector(entry.selector, sa.labels ?? {});
        if (byName || bySelector) names.add(sa.name);
    }
    return [...names].sort(compareStrings);
}

/** `isolation-sa-<entry>` per entry that matches at least one ServiceAccount of the namespace. */
export function serviceAccountRoleBindings(
    ctx: ObjectContext,
    entries: ServiceAccountEntry[],
    serviceAccounts: readonly ServiceAccountInfo[],
): RoleBindingObject[] {
    const out: RoleBindingObject[] = [];
    for (const entry of entries) {
        const names = matchingServiceAccounts(entry, serviceAccounts);
        if (names.length === 0) continue;
        const subjects: RbacSubject[] = names.map((name) => ({
            kind: 'ServiceAccount',
            name,
            namespace: ctx.namespace,
        }));
        out.push(roleBinding(ctx, serviceAccountBindingName(entry.name), entry.roleRef, subjects));
    }
    return out;
}
