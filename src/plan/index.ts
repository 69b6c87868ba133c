/**
 * Public surface of the pure planner: selection, conflict resolution, names, desired objects and diffing.
 *
 * Everything here is deterministic and side-effect free (no I/O, no Kubernetes client at runtime), so the
 * controller, the offline `plan` CLI command and the benchmarks share exactly the same logic.
 */

export type { PlanSettings } from './settings.ts';
export { DEFAULT_PLAN_SETTINGS, resolvePlanSettings } from './settings.ts';

export type { NamespaceInfo } from './selection.ts';
export {
    isNeverGoverned,
    matchesSelector,
    namespaceLabels,
    neverGovernSet,
    normalizeSelector,
    selectionState,
    selects,
} from './selection.ts';

export { compareProfiles, isDeleting, isEnforcing, priorityOf, resolveNamespace } from './conflicts.ts';

export type { ProfileGovernance } from './governance.ts';
export { computeGovernance, GovernanceIndex } from './governance.ts';

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

export type { DesiredObject, NetworkPolicyObject, RoleBindingObject } from './objects.ts';

export { matchNothingPeer, toNetworkPolicyPeers, toNetworkPolicyPorts } from './networkpolicies.ts';

export type { ServiceAccountInfo } from './rolebindings.ts';
export { matchingServiceAccounts } from './rolebindings.ts';

export type { PlanInput } from './desired.ts';
export { plan } from './desired.ts';

export {
    differences,
    isOwnFieldManager,
    lastForeignManager,
    needsApply,
    planActions,
    prunable,
    requiresReplace,
    toPlannedActions,
} from './diff.ts';
