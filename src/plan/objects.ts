/**
 * Minimal plain-JSON shapes of the objects the operator generates, and their common metadata.
 *
 * We apply plain objects with server-side apply, so these interfaces list exactly the fields we own — no client
 * model classes, nothing the server fills in. Every generated object carries the two operator labels and a
 * controller ownerReference to its profile, and nothing copied from the profile's own labels or annotations
 * (GitOps tracking labels must never reach children).
 */

import type { LabelSelector, Protocol } from '../api/types.ts';
import { API_VERSION, KIND, LABEL_MANAGED_BY, LABEL_PROFILE, MANAGED_BY_VALUE } from '../api/types.ts';

export const NETWORK_POLICY_API_VERSION = 'networking.k8s.io/v1';
export const RBAC_API_GROUP = 'rbac.authorization.k8s.io';
export const ROLE_BINDING_API_VERSION = `${RBAC_API_GROUP}/v1`;

export interface OwnerReference {
    apiVersion: string;
    kind: string;
    name: string;
    uid: string;
    controller: boolean;
    blockOwnerDeletion: boolean;
}

export interface GeneratedMetadata {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    /** Absent only when the profile has no uid (offline rendering); always set in the cluster. */
    ownerReferences?: OwnerReference[];
}

export type PolicyType = 'Ingress' | 'Egress';

export interface NetworkPolicyPort {
    protocol: Protocol;
    port?: number | string;
    endPort?: number;
}

export interface IPBlock {
    cidr: string;
    except?: string[];
}

export interface NetworkPolicyPeer {
    podSelector?: LabelSelector;
    namespaceSelector?: LabelSelector;
    ipBlock?: IPBlock;
}

export interface NetworkPolicyIngressRule {
    from?: NetworkPolicyPeer[];
    ports?: NetworkPolicyPort[];
}

export interface NetworkPolicyEgressRule {
    to?: NetworkPolicyPeer[];
    ports?: NetworkPolicyPort[];
}

export interface NetworkPolicySpec {
    podSelector: LabelSelector;
    policyTypes: PolicyType[];
    ingress?: NetworkPolicyIngressRule[];
    egress?: NetworkPolicyEgressRule[];
}

export interface NetworkPolicyObject {
    apiVersion: typeof NETWORK_POLICY_API_VERSION;
    kind: 'NetworkPolicy';
    metadata: GeneratedMetadata;
    spec: NetworkPolicySpec;
}

export interface RbacRoleRef {
    apiGroup: typeof RBAC_API_GROUP;
    kind: 'ClusterRole' | 'Role';
    name: string;
}

export interface RbacSubject {
    kind: 'User' | 'Group' | 'ServiceAccount';
    name: string;
    /** `rbac.authorization.k8s.io` for User and Group; absent for ServiceAccount. */
    apiGroup?: string;
    /** ServiceAccount subjects only. */
    namespace?: string;
}

export interface RoleBindingObject {
    apiVersion: typeof ROLE_BINDING_API_VERSION;
    kind: 'RoleBinding';
    metadata: GeneratedMetadata;
    roleRef: RbacRoleRef;
    subjects: RbacSubject[];
}

export type DesiredObject = NetworkPolicyObject | RoleBindingObject;
export type GeneratedKind = DesiredObject['kind'];

/** The owner of the generated objects: the governing profile. */
export interface OwnerInfo {
    name: string;
    uid?: string;
}

/** What every generator needs to stamp metadata: the governed namespace and the governing profile. */
export interface ObjectContext {
    namespace: string;
    owner: OwnerInfo;
    /** The profile's `spec.tenant` (default tenant of its `profile` peers). */
    tenant?: string;
}

export function generatedLabels(profileName: string): Record<string, string> {
    return { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE, [LABEL_PROFILE]: profileName };
}

export function ownerReferenceTo(owner: OwnerInfo): OwnerReference | null {
    if (!owner.uid) return null;
    return {
        apiVersion: API_VERSION,
        kind: KIND,
        name: owner.name,
        uid: owner.uid,
        controller: true,
        blockOwnerDeletion: true,
    };
}

export function generatedMetadata(ctx: ObjectContext, name: string): GeneratedMetadata {
    const meta: GeneratedMetadata = {
        name,
        namespace: ctx.namespace,
        labels: generatedLabels(ctx.owner.name),
    };
    const ref = ownerReferenceTo(ctx.owner);
    if (ref) meta.ownerReferences = [ref];
    return meta;
}
