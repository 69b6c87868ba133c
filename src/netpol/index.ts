/**
 * Public surface of the NetworkPolicy evaluator and the alignment checks built on it. Pure: no I/O, no client.
 */
export * from './types.ts';
export * from './portset.ts';
export { cidrContains, ipBlockContains, isValidCidr, isValidIp } from './ipblock.ts';
export type {
    DirectionVerdict,
    Evaluator,
    ExternalVerdict,
    IpBlockAllowance,
    RuleMatch,
    Verdict,
} from './evaluate.ts';
export { createEvaluator, effectivePolicyTypes, endpointRef, policyRef } from './evaluate.ts';
export { labelsFor, namespaceWorkloads, selectedWorkloads, serviceAccountWorkloads } from './workloads.ts';
export type {
    AlignmentGap,
    AlignmentInput,
    BlockedBy,
    GapKind,
    Reach,
    RoleBindingInput,
} from './alignment.ts';
export {
    computeAlignment,
    formatAlignmentGaps,
    governanceFromLabels,
    namespaceClasses,
    serviceAccountReach,
} from './alignment.ts';
