/**
 * The profile reconciler: keeps the `isolation.dev/cleanup` finalizer, runs the deletion policy, and writes the
 * status summarised from the namespace outcomes. It never writes generated objects of a live profile (that is
 * the namespace reconciler's job), so the two queues cannot fight over an object.
 *
 * Deletion: `Delete` removes every generated object labelled with the profile; `Orphan` strips the operator's
 * labels and the ownerReference so neither the garbage collector nor a later prune touches them. Only then is the
 * finalizer removed; the namespaces it held are re-reconciled once the profile is gone (another profile may take
 * them over, or their label is dropped).
 *
 * Result contract: the workqueue's (src/runtime/workqueue.ts). A reconcile resolves with `requeueAfterMs` when the
 * status waits on namespaces or on the alignment check, and throws the API error of a failed write (retried with
 * backoff, no sooner than its Retry-After). Namespaces to revisit and status writes are reported through the
 * `namespacesChanged` and `onStatusWritten` dependencies.
 */
import type { V1Namespace } from '@kubernetes/client-node';

import { deletionPolicyOf } from '../api/defaults.ts';
import { FINALIZER, LABEL_PROFILE } from '../api/types.ts';
import type { IsolationProfile } from '../api/types.ts';
import { GovernanceIndex, neverGovernSet } from '../plan/index.ts';
import type { PlanSettings } from '../plan/index.ts';
import { errorMessage } from '../runtime/errors.ts';
import type { ReconcileResult } from '../runtime/workqueue.ts';
import type { OutcomeStore } from './outcomes.ts';
import type { ProfileGaps } from './alignment.ts';
import type { ClusterView, ClusterWriter, ProfileEvents } from './ports.ts';
import { computeStatus, statusEquals } from './status.ts';

export interface ProfileReconcilerDeps {
    view: ClusterView;
    writer: ClusterWriter;
    outcomes: OutcomeStore;
    events: ProfileEvents;
    settings: PlanSettings;
    now: () => Date;
    /** Namespaces to reconcile again: those a profile held once it is gone or its deletion finished. */
    namespacesChanged: (namespaces: string[]) => void;
    /** Called after each status write. */
    onStatusWritten?: () => void;
    /** How long to wait before re-checking a status that waits on namespaces (default 2 s). */
    pendingRetryMs?: number;
    /** Alignment gaps of a profile (report-only); absent: no AlignmentGap condition. */
    alignment?: (profile: string) => ProfileGaps;
}

/** Role and profile names a profile refers to that do not exist in the cluster, or (peers) in the intended tenant. */
export function unresolvedReferences(profile: IsolationProfile, view: ClusterView): string[] {
    const out = new Set<string>();
    const roleRefs = [
        ...(profile.spec.access ?? []).map((a) => a.roleRef),
        ...(profile.spec.serviceAccounts ?? []).map((s) => s.roleRef),
    ];
    for (const r of roleRefs) {
        if (r.kind === 'ClusterRole' && !view.clusterRole(r.name))
            out.add(`ClusterRole "${r.name}" not found`);
    }
    const net = profile.spec.network;
    for (const rule of [
        ...(net?.ingress ?? []).flatMap((r) => r.from ?? []),
        ...(net?.egress ?? []).flatMap((r) => r.to ?? []),
    ]) {
        if (!rule.profile) continue;
        const target = view.profile(rule.profile);
        if (!target) {
            out.add(`profile "${rule.profile}" not found`);
            continue;
        }
        // A `profile` peer matches namespaces of one tenant (docs/tenancy.md); a tenant profile of another tenant
        // never governs those, so the peer would match nothing.
        const wanted = rule.tenant ?? profile.spec.tenant ?? '';
        const has = target.spec.tenant;
        if (has !== undefined && has !== wanted) {
            const of = wanted === '' ? 'namespaces without a tenant' : `tenant "${wanted}"`;
            out.add(
                `profile "${rule.profile}" belongs to tenant "${has}", not ${of} (set the peer's tenant)`,
            );
        }
    }
    return [...out].sort();
}

export class ProfileReconciler {
    #d: ProfileReconcilerDeps;
    /** Who governs what, updated from the view at each status pass (work in proportion to what changed). */
    #governance: GovernanceIndex<V1Namespace>;

    constructor(deps: ProfileReconcilerDeps) {
        this.#d = deps;
        this.#governance = new GovernanceIndex<V1Namespace>(neverGovernSet(deps.settings), {
            name: (ns) => ns.metadata?.name ?? '',
            labels: (ns) => ns.metadata?.labels,
        });
    }

    async reconcile(name: string): Promise<ReconcileResult | void> {
        const { view, writer } = this.#d;
        const profile = view.profile(name);
        if (!profile) {
            // Gone: re-reconcile the namespaces that still carry its label.
            this.#d.namespacesChanged(this.#labelled(name));
            return;
        }
        if (profile.metadata.deletionTimestamp) {
            this.#d.namespacesChanged(await this.#finalize(profile));
            return;
        }
        if (!(profile.metadata.finalizers ?? []).includes(FINALIZER)) {
            await writer.addFinalizer(profile);
        }
        return this.#status(profile);
    }

    #labelled(profile: string): string[] {
        return this.#d.view
            .namespaces()
            .filter((ns) => ns.metadata?.labels?.[LABEL_PROFILE] === profile)
            .map((ns) => ns.metadata!.name!);
    }

    /** Runs the deletion policy and removes the finalizer; returns the namespaces the profile held. */
    async #finalize(profile: IsolationProfile): Promise<string[]> {
        const { view, writer, events } = this.#d;
        const name = profile.metadata.name;
        if (!(profile.metadata.finalizers ?? []).includes(FINALIZER)) return this.#labelled(name);
        const policy = deletionPolicyOf(profile.spec);
        const objects = view.generatedFor(name);
        for (const { kind, obj } of objects) {
            const ns = obj.metadata!.namespace!;
            const objName = obj.metadata!.name!;
            try {
                if (policy === 'Orphan') await writer.orphan(kind, ns, objName, profile.metadata.uid ?? '');
                else await writer.delete(kind, ns, objName, obj.metadata?.uid);
            } catch (err) {
                events.record(
                    profile,
                    'Warning',
                    'CleanupFailed',
                    `${kind} ${ns}/${objName}: ${errorMessage(err)}`,
                );
                throw err;
            }
        }
        const namespaces = this.#labelled(name);
        // The label names a profile that is going away: drop it before the finalizer, whatever comes next. The
        // next governor relabels if it enforces; a DryRun or suspended one writes nothing, and a stale label would
        // keep the namespace in other profiles' `profile` peers.
        for (const ns of namespaces) {
            this.#d.outcomes.delete(ns);
            try {
                await writer.unlabelNamespace(ns);
            } catch (err) {
                events.record(
                    profile,
                    'Warning',
                    'CleanupFailed',
                    `namespace ${ns} label: ${errorMessage(err)}`,
                );
                throw err;
            }
        }
        await writer.removeFinalizer(profile);
        events.record(
            profile,
            'Normal',
            policy === 'Orphan' ? 'Orphaned' : 'CleanedUp',
            `${policy === 'Orphan' ? 'orphaned' : 'deleted'} ${objects.length} generated objects in ${namespaces.length} namespaces`,
        );
        return namespaces;
    }

    async #status(profile: IsolationProfile): Promise<ReconcileResult | void> {
        const { view, writer, outcomes } = this.#d;
        const name = profile.metadata.name;
        const gov = this.#governance.update(view.profiles(), view.namespaces()).forProfile(name);
        const alignment = this.#d.alignment?.(name);
        // An alignment answer older than the last change: write what is known, and look again when it is due.
        const again =
            alignment?.retryInMs !== undefined ? { requeueAfterMs: alignment.retryInMs } : undefined;
        const result = computeStatus({
            profile,
            governed: gov?.governed ?? [],
            conflicts: gov?.conflicts ?? [],
            skipped: gov?.skipped ?? [],
            outcome: (ns) => outcomes.get(ns),
            unresolved: unresolvedReferences(profile, view),
            ...(alignment ? { alignmentGaps: alignment.gaps } : {}),
            now: this.#d
                .now()
                .toISOString()
                .replace(/\.\d{3}Z$/, 'Z'),
        });
        if (result.kind === 'pending') return { requeueAfterMs: this.#d.pendingRetryMs ?? 2000 };
        if (statusEquals(profile.status, result.status)) return again;
        await writer.patchStatus(name, result.status);
        this.#d.onStatusWritten?.();
        const gap = result.status.conditions?.find((c) => c.type === 'AlignmentGap');
        const before = profile.status?.conditions?.find((c) => c.type === 'AlignmentGap');
        if (gap?.status === 'True' && (before?.status !== 'True' || before.message !== gap.message)) {
            this.#d.events.record(profile, 'Warning', 'AlignmentGap', gap.message);
        }
        return again;
    }
}
