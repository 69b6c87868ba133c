/**
 * Pure computation of an IsolationProfile's status from what the namespace reconciler recorded.
 *
 * Status follows kstatus so Argo CD and Flux health checks work unchanged: `Ready`, `Reconciling` and `Stalled`
 * (each with observedGeneration), plus `Conflict`, `DriftDetected`, `ReferencesResolved` and `NamespacesSkipped`.
 * `lastTransitionTime` changes only when a condition's status flips, and `statusEquals` ignores it, so a status
 * write that would change nothing is skipped (every write is a watch event for us and a refresh for Argo CD).
 * Lists (conflicts, plan) are capped so 10,000 namespaces never make a status larger than etcd accepts.
 */
import type {
    Condition,
    ConditionStatus,
    IsolationProfile,
    IsolationProfileStatus,
    PlannedAction,
} from '../api/types.ts';
import { isSuspended, modeOf } from '../api/defaults.ts';
import { MAX_LISTED_NAMES, STATUS_CONFLICTS_KEPT, STATUS_PLAN_KEPT } from '../api/limits.ts';
import type { AlignmentGap } from '../netpol/index.ts';
import { formatAlignmentGaps } from '../netpol/index.ts';
import type { NamespaceOutcome } from './outcomes.ts';
import { compareStrings } from '../plan/order.ts';

export interface StatusInput {
    profile: IsolationProfile;
    /** Namespaces this profile governs now (selected, not excluded, not never-govern, and won); any order. */
    governed: readonly string[];
    conflicts: { namespace: string; governedBy: string }[];
    /** Never-govern namespaces the profile would otherwise select. */
    skipped: string[];
    outcome: (namespace: string) => NamespaceOutcome | undefined;
    /** Human-readable unresolved references, e.g. `ClusterRole "auditor" not found`. */
    unresolved: string[];
    /** Alignment gaps reported on this profile (`src/netpol/alignment.ts`); absent: not checked. */
    alignmentGaps?: AlignmentGap[];
    now: string;
}

export type StatusResult =
    { kind: 'ready'; status: IsolationProfileStatus } | { kind: 'pending'; waitingFor: number };

function list(names: string[], max = MAX_LISTED_NAMES): string {
    const shown = names.slice(0, max).join(', ');
    return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

function condition(
    previous: Condition[] | undefined,
    type: string,
    status: ConditionStatus,
    reason: string,
    message: string,
    generation: number,
    now: string,
): Condition {
    const old = previous?.find((c) => c.type === type);
    return {
        type,
        status,
        reason,
        message,
        observedGeneration: generation,
        lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now,
    };
}

/** An outcome recorded for this profile's current generation. */
function current(o: NamespaceOutcome | undefined, profile: string, generation: number): boolean {
    return o !== undefined && o.profile === profile && o.generation === generation;
}

/**
 * Computes the status, or reports `pending` while some governed namespace has no outcome for the profile's
 * current generation (the status then keeps its old observedGeneration, which kstatus reads as in progress).
 */
export function computeStatus(input: StatusInput): StatusResult {
    const { profile, governed, conflicts, skipped, unresolved, now } = input;
    const generation = profile.metadata.generation ?? 0;
    const prev = profile.status?.conditions;
    const mode = modeOf(profile.spec);
    const suspended = isSuspended(profile.spec);

    // Waiting is counted first, without sorting or collecting anything: while namespaces converge most passes end
    // here, and at 10,000 namespaces that is one map lookup each.
    let waiting = 0;
    for (const ns of governed) if (!current(input.outcome(ns), profile.metadata.name, generation)) waiting++;
    if (waiting > 0) return { kind: 'pending', waitingFor: waiting };

    let enforced = 0;
    let networkPolicies = 0;
    let roleBindings = 0;
    const failed: NamespaceOutcome[] = [];
    const drift: string[] = [];
    const plan: PlannedAction[] = [];
    for (const ns of [...governed].sort(compareStrings)) {
        const o = input.outcome(ns) as NamespaceOutcome;
        networkPolicies += o.networkPolicies;
        roleBindings += o.roleBindings;
        if (o.state === 'Failed') failed.push(o);
        else enforced++;
        for (const d of o.drift ?? []) drift.push(`${ns}/${d}`);
        for (const p of o.plan ?? []) if (plan.length < STATUS_PLAN_KEPT) plan.push(p);
    }

    const total = governed.length;
    const terminal = failed.filter((f) => f.terminal);
    const retrying = failed.filter((f) => !f.terminal);
    const failedMsg = failed
        .slice(0, 5)
        .map((f) => `${f.namespace}: ${f.message ?? 'failed'}`)
        .join('; ');

    const conditions: Condition[] = [];
    const c = (type: string, status: ConditionStatus, reason: string, message: string) =>
        conditions.push(condition(prev, type, status, reason, message, generation, now));

    // Ready is True only when this generation is enforced in every governed namespace and there is at least one:
    // a dry run, a suspended profile, or one that governs nothing (nothing selected, or every namespace lost to
    // a conflict) enforces nothing, and saying Ready would tell GitOps health checks otherwise.
    if (failed.length > 0) {
        c('Ready', 'False', 'ApplyFailed', `${failed.length}/${total} namespaces failed: ${failedMsg}`);
    } else if (mode === 'DryRun') {
        c('Ready', 'False', 'DryRun', `dry run: ${total} namespaces planned, nothing enforced`);
    } else if (suspended) {
        c(
            'Ready',
            'False',
            'Suspended',
            `suspended: nothing enforced, existing objects in ${total} namespaces kept`,
        );
    } else if (total === 0) {
        const why =
            conflicts.length > 0
                ? `every selected namespace (${conflicts.length}) is governed by another profile`
                : skipped.length > 0
                  ? 'every selected namespace is a never-govern namespace'
                  : 'no namespace is selected (of this tenant)';
        c('Ready', 'False', 'NothingGoverned', `nothing enforced: ${why}`);
    } else {
        c('Ready', 'True', 'Reconciled', `${enforced}/${total} namespaces enforced`);
    }
    c(
        'Reconciling',
        retrying.length > 0 ? 'True' : 'False',
        retrying.length > 0 ? 'Retrying' : 'Idle',
        retrying.length > 0 ? `retrying ${retrying.length} namespaces` : 'no pending work',
    );
    c(
        'Stalled',
        terminal.length > 0 ? 'True' : 'False',
        terminal.length > 0 ? 'ApplyRefused' : 'Healthy',
        terminal.length > 0
            ? `${terminal.length} namespaces cannot be enforced until the profile or the cluster changes: ${failedMsg}`
            : 'no terminal errors',
    );
    c(
        'Conflict',
        conflicts.length > 0 ? 'True' : 'False',
        conflicts.length > 0 ? 'NamespacesGovernedElsewhere' : 'NoConflict',
        conflicts.length > 0
            ? `${conflicts.length} selected namespaces are governed by another profile: ${list(conflicts.map((x) => `${x.namespace} (${x.governedBy})`))}`
            : 'no selected namespace is governed by another profile',
    );
    c(
        'DriftDetected',
        drift.length > 0 ? 'True' : 'False',
        drift.length > 0 ? 'DriftReported' : 'NoDrift',
        drift.length > 0
            ? `generated objects edited outside the operator: ${list(drift)}`
            : 'no drift left in place',
    );
    c(
        'ReferencesResolved',
        unresolved.length > 0 ? 'False' : 'True',
        unresolved.length > 0 ? 'MissingReference' : 'Resolved',
        unresolved.length > 0 ? list(unresolved) : 'every referenced role and profile exists',
    );
    if (input.alignmentGaps !== undefined) {
        const gaps = input.alignmentGaps;
        c(
            'AlignmentGap',
            gaps.length > 0 ? 'True' : 'False',
            gaps.length > 0 ? 'GapsFound' : 'Aligned',
            gaps.length > 0
                ? formatAlignmentGaps(gaps, 5)
                : 'every ServiceAccount granted here can reach it, and every profile peer allows the other half',
        );
    }
    if (skipped.length > 0) {
        c(
            'NamespacesSkipped',
            'True',
            'NeverGovern',
            `never governed by any profile (operator setting): ${list(skipped)}`,
        );
    }

    const status: IsolationProfileStatus = {
        observedGeneration: generation,
        mode,
        conditions,
        namespaces: {
            selected: total + conflicts.length,
            enforced: mode === 'Enforce' && !suspended ? enforced : 0,
            conflicted: conflicts.length,
            failed: failed.length,
        },
        objects: { networkPolicies, roleBindings },
    };
    if (conflicts.length > 0) {
        status.conflicts = [...conflicts]
            .sort((a, b) => compareStrings(a.namespace, b.namespace))
            .slice(0, STATUS_CONFLICTS_KEPT);
    }
    if (mode === 'DryRun') status.plan = plan;
    return { kind: 'ready', status };
}

function stripTimes(s: IsolationProfileStatus | undefined): unknown {
    if (!s) return undefined;
    return {
        ...s,
        conditions: (s.conditions ?? [])
            .map((c) => ({ ...c, lastTransitionTime: undefined }))
            .sort((a, b) => compareStrings(a.type, b.type)),
    };
}

/** Deep equality of two statuses, ignoring lastTransitionTime and condition order. */
export function statusEquals(
    a: IsolationProfileStatus | undefined,
    b: IsolationProfileStatus | undefined,
): boolean {
    return canonical(stripTimes(a)) === canonical(stripTimes(b));
}

/** JSON with sorted keys and undefined dropped, for order-insensitive comparison. */
export function canonical(v: unknown): string {
    return JSON.stringify(v, (_k, val: unknown) => {
        if (val && typeof val === 'object' && !Array.isArray(val)) {
            const out: Record<string, unknown> = {};
            for (const k of Object.keys(val).sort()) out[k] = (val as Record<string, unknown>)[k];
            return out;
        }
        return val;
    });
}
