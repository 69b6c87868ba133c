/**
 * Public surface of the NetworkPolicy evaluator and the alignment checks built on it. Pure: no I/O, no client.
 */
export * from './types.ts';
export * from './portset.ts';
export { cidrContains, ipBlockContains, isValidCidr, isValidIp } from './ipblock.ts';
export type { DirectionVerdict } from './evaluate.ts';
export { createEvaluator, effectivePolicyTypes, endpointRef } from './evaluate.ts';
export { namespaceWorkloads, serviceAccountWorkloads } from './workloads.ts';
export type { AlignmentGap, BlockedBy, RoleBindingInput } from './alignment.ts';
export {
    computeAlignment,
    formatAlignmentGaps,
    governanceFromLabels,
    serviceAccountReach,
} from './alignment.ts';
