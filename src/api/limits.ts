/**
 * Bounds of the IsolationProfile API that code must respect, mirrored from the CRD schema
 * (`crds/isolation.dev_isolationprofiles.yaml`, the source of truth; `test/unit/api-schema.test.ts` checks that
 * the two agree). The status writer caps its lists with these, since the API server rejects a longer status.
 */

/** Longest profile name: the name becomes the value of the `isolation.dev/profile` label (63 characters). */
export const MAX_PROFILE_NAME_LENGTH = 63;

/** Most entries in `status.conflicts`; the status writer keeps the first ones (sorted) and counts the rest. */
export const MAX_STATUS_CONFLICTS = 100;

/** Most entries in `status.plan` (DryRun); the status writer keeps the first ones and counts the rest. */
export const MAX_STATUS_PLAN = 100;

/** Most entries in `status.conditions`. */
export const MAX_STATUS_CONDITIONS = 16;

/** Longest `status.conditions[].message`. */
export const MAX_CONDITION_MESSAGE_LENGTH = 32768;

/** Most rules in `spec.network.ingress` and in `spec.network.egress` each. */
export const MAX_ALLOW_RULES = 64;

/** Most peers in one rule's `from` / `to`. */
export const MAX_PEERS = 16;
