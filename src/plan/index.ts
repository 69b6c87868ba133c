/**
 * Public surface of the pure planner: selection, conflict resolution, names, desired objects and diffing.
 *
 * Everything here is deterministic and side-effect free (no I/O, no Kubernetes client at runtime), so the
 * controller, the offline `plan` CLI command and the benchmarks share exactly the same logic.
 */

export type { PlanSettings } from './settings.ts';
export { DEFAULT_PLAN_SETTINGS, resolvePlanSettings } from './settings.ts';

export type { NamespaceInfo, SelectionState } from './selection.ts';
export {
    inTenant,
    isNeverGoverned,
    matchesSelector,
    namespaceLabels,
    neverGovernSet,
    normalizeSelector,
    selectionState,
    selects,
} from './selection.ts';

export type {
    ConflictEntry,
    Governance,
    NamespaceResolution,
    ProfileGovernance,
    ProfileLike,
} from './conflicts.ts';
export {
    compareProfiles,
    computeGovernance,
    isDeleting,
    isEnforcing,
    priorityOf,
    resolveNamespace,
} from './conflicts.ts';

export {
    accessObjectName,
    egressPolicyName,
    generatedName,
    ingressPolicyName,
    isValidDns1123Subdomain,
    MAX_NAME_LENGTH,
    NAME_DEFAULT_DENY,
    NAME_DNS,
    NAME_SAME_NAMESPACE,
    serviceAccountBindingName,
} from './names.ts';

export type {
    DesiredObject,
    GeneratedKind,
    GeneratedMetadata,
    IPBlock,
    NetworkPolicyEgressRule,
    NetworkPolicyIngressRule,
    NetworkPolicyObject,
    NetworkPolicyPeer,
    NetworkPolicyPort,
    NetworkPolicySpec,
    ObjectContext,
    OwnerInfo,
    OwnerReference,
    PolicyType,
    RbacRoleRef,
    RbacSubject,
    RoleBindingObject,
} from './objects.ts';
export { NETWORK_POLICY_API_VERSION, RBAC_API_GROUP, ROLE_BINDING_API_VERSION } from './objects.ts';

export {
    dnsEgressRule,
    matchNothingPeer,
    toNetworkPolicyPeers,
    toNetworkPolicyPorts,
} from './networkpolicies.ts';

export type { ServiceAccountInfo } from './rolebindings.ts';
export { matchingServiceAccounts } from './rolebindings.ts';

export type { PlanInput } from './desired.ts';
export { compareObjects, plan } from './desired.ts';

export type { Actions, Change, ExistingObjects, ManagerEntry, Removal } from './diff.ts';
export {
    differences,
    isGenerated,
    isOwnFieldManager,
    lastForeignManager,
    nameOf,
    needsApply,
    planActions,
    prunable,
    requiresReplace,
    toPlannedActions,
} from './diff.ts';
