/**
 * Bounds of the IsolationProfile API, in one place: those mirrored from the CRD schema
 * (`crds/isolation.dev_isolationprofiles.yaml`, the source of truth; `test/unit/api-schema.test.ts` checks that
 * the two agree), and the shorter caps the status writer (src/controller/status.ts) keeps within them.
 */

/** Longest profile name: the name becomes the value of the `isolation.dev/profile` label (63 characters). */
export const MAX_PROFILE_NAME_LENGTH = 63;

/** Most entries the CRD allows in `status.conflicts`. */
export const MAX_STATUS_CONFLICTS = 100;

/** Most entries the CRD allows in `status.plan` (DryRun). */
export const MAX_STATUS_PLAN = 100;

/**
 * Entries the status writer keeps in `status.conflicts` (the first by namespace; `namespaces.conflicted` counts
 * all), and in `status.plan`. Deliberately below the CRD bounds: the status stays readable and small at 10,000
 * namespaces, and the counts carry the totals.
 */
export const STATUS_CONFLICTS_KEPT = 20;
export const STATUS_PLAN_KEPT = 50;

/** Names listed in one condition message before "and N more". */
export const MAX_LISTED_NAMES = 20;

/** Most entries in `status.conditions`. */
export const MAX_STATUS_CONDITIONS = 16;

/** Longest `status.conditions[].message`. */
export const MAX_CONDITION_MESSAGE_LENGTH = 32768;

/** Most rules in `spec.network.ingress` and in `spec.network.egress` each. */
export const MAX_ALLOW_RULES = 64;

/** Most peers in one rule's `from` / `to`. */
export const MAX_PEERS = 16;
