/**
 * One governor per namespace: conflict resolution between profiles that select the same namespace.
 *
 * Precedence is a total order on profiles — enforcing profiles first (a `DryRun` or suspended profile never wins
 * over one that enforces, so neither can be used to take a namespace's protection away), then highest
 * `spec.priority` (default 0; a tenant profile's priority is clamped into the tenant range ±TENANT_PRIORITY_MAX,
 * which admission also enforces, so only the platform can outrank every tenant), then oldest
 * `metadata.creationTimestamp` (absent or unparsable counts as youngest), then name by code units (never
 * locale-dependent) — so the result never depends on input order and never flip-flops between resyncs.
 *
 * Deleting profiles (`metadata.deletionTimestamp` set) never win, neither new namespaces nor the ones they govern
 * now: once deletion starts, the finalizer path owns their generated objects (delete or orphan them) and a namespace
 * reconcile must not re-apply them. They are reported as `leaving` so the controller can leave their objects alone
 * (e.g. `deletionPolicy: Orphan`) while the next candidate, if any, takes over. They are not losers either: a
 * profile on its way out gets no Conflict condition.
 */

import { DEFAULT_PRIORITY, isSuspended, modeOf } from '../api/defaults.ts';
import { TENANT_PRIORITY_MAX } from '../api/types.ts';
import type { IsolationProfile } from '../api/types.ts';
import type { NamespaceInfo } from './selection.ts';
import { selectionState } from './selection.ts';
import { compareStrings } from './order.ts';

export type ProfileLike = Pick<IsolationProfile, 'metadata' | 'spec'>;

/** The priority conflicts use: `spec.priority`, clamped into the tenant range for tenant profiles. */
export function priorityOf(p: ProfileLike): number {
    const v = p.spec?.priority;
    const raw = typeof v === 'number' && Number.isFinite(v) ? v : DEFAULT_PRIORITY;
    if (p.spec?.tenant === undefined) return raw;
    return Math.max(-TENANT_PRIORITY_MAX, Math.min(TENANT_PRIORITY_MAX, raw));
}

/** Enforcing: mode Enforce (the default) and not suspended. */
export function isEnforcing(p: ProfileLike): boolean {
    return modeOf(p.spec) === 'Enforce' && !isSuspended(p.spec);
}

/** Milliseconds since epoch; accepts an RFC 3339 string or a Date (typed client models); absent = +Infinity. */
function createdAt(p: ProfileLike): number {
    const raw: unknown = p.metadata?.creationTimestamp;
    const ms = raw instanceof Date ? raw.getTime() : typeof raw === 'string' ? Date.parse(raw) : NaN;
    return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
}

/** Negative when `a` takes precedence over `b`. A total, input-order-independent order. */
export function compareProfiles(a: ProfileLike, b: ProfileLike): number {
    const byEnforcing = Number(isEnforcing(b)) - Number(isEnforcing(a));
    if (byEnforcing !== 0) return byEnforcing;
    const byPriority = priorityOf(b) - priorityOf(a);
    if (byPriority !== 0) return byPriority;
    const ta = createdAt(a);
    const tb = createdAt(b);
    if (ta !== tb) return ta < tb ? -1 : 1;
    const byName = compareStrings(a.metadata.name, b.metadata.name);
    if (byName !== 0) return byName;
    return compareStrings(a.metadata.uid ?? '', b.metadata.uid ?? '');
}

export function isDeleting(p: ProfileLike): boolean {
    const ts: unknown = p.metadata?.deletionTimestamp;
    return ts !== undefined && ts !== null && ts !== '';
}

export interface NamespaceResolution<P extends ProfileLike> {
    namespace: string;
    /** The one profile that governs the namespace, or null. */
    winner: P | null;
    /** Profiles that select the namespace but lose to the winner (Conflict=True), in precedence order. */
    losers: P[];
    /** Deleting profiles that select the namespace; never winners (see module comment). */
    leaving: P[];
    /** Profiles that select a never-govern namespace (nothing is generated; they get a condition). */
    skippedBy: P[];
}

/** Resolves who governs one namespace. `neverGovern` from `neverGovernSet(settings)`. */
export function resolveNamespace<P extends ProfileLike>(
    namespace: NamespaceInfo,
    profiles: readonly P[],
    neverGovern: ReadonlySet<string>,
): NamespaceResolution<P> {
    const result: NamespaceResolution<P> = {
        namespace: namespace.name,
        winner: null,
        losers: [],
        leaving: [],
        skippedBy: [],
    };
    const candidates: P[] = [];
    for (const p of profiles) {
        const state = selectionState(p, namespace, neverGovern);
        if (state === 'skipped') result.skippedBy.push(p);
        else if (state === 'selected') (isDeleting(p) ? result.leaving : candidates).push(p);
    }
    candidates.sort(compareProfiles);
    result.leaving.sort(compareProfiles);
    result.skippedBy.sort(compareProfiles);
    result.winner = candidates[0] ?? null;
    result.losers = candidates.slice(1);
    return result;
}
