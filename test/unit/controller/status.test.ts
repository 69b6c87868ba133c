import assert from 'node:assert/strict';

import type { IsolationProfile } from '../../../src/api/types.ts';
import type { NamespaceOutcome } from '../../../src/controller/outcomes.ts';
import { OutcomeStore } from '../../../src/controller/outcomes.ts';
import { computeStatus, statusEquals } from '../../../src/controller/status.ts';
import type { StatusInput } from '../../../src/controller/status.ts';

const profile = (
    extra: Partial<IsolationProfile['spec']> = {},
    status?: IsolationProfile['status'],
): IsolationProfile => ({
    apiVersion: 'isolation.dev/v1alpha1',
    kind: 'IsolationProfile',
    metadata: { name: 'p', generation: 3 },
    spec: { namespaces: { names: ['a'] }, ...extra },
    ...(status ? { status } : {}),
});

const outcome = (namespace: string, o: Partial<NamespaceOutcome> = {}): NamespaceOutcome => ({
    namespace,
    profile: 'p',
    generation: 3,
    state: 'Enforced',
    networkPolicies: 3,
    roleBindings: 1,
    ...o,
});

function input(
    p: IsolationProfile,
    outcomes: NamespaceOutcome[],
    extra: Partial<StatusInput> = {},
): StatusInput {
    const store = new OutcomeStore();
    for (const o of outcomes) store.set(o);
    return {
        profile: p,
        governed: outcomes.map((o) => o.namespace),
        conflicts: [],
        skipped: [],
        outcome: (ns) => store.get(ns),
        unresolved: [],
        now: '2026-11-26T00:00:00Z',
        ...extra,
    };
}

const cond = (
    s: {
        conditions?: {
            type: string;
            status: string;
            reason: string;
            message: string;
            lastTransitionTime?: string;
        }[];
    },
    type: string,
) => s.conditions?.find((c) => c.type === type);

describe('computeStatus (kstatus)', () => {
    it('waits while a governed namespace has no outcome for the current generation', () => {
        const stale = outcome('b', { generation: 2 });
        const r = computeStatus({ ...input(profile(), [outcome('a'), stale]), governed: ['a', 'b', 'c'] });
        assert.deepEqual(r, { kind: 'pending', waitingFor: 2 });
    });

    it('reports Ready with counts once every namespace is enforced', () => {
        const r = computeStatus(input(profile(), [outcome('a'), outcome('b')]));
        assert.equal(r.kind, 'ready');
        if (r.kind !== 'ready') return;
        assert.equal(r.status.observedGeneration, 3);
        assert.equal(r.status.mode, 'Enforce');
        assert.deepEqual(r.status.namespaces, { selected: 2, enforced: 2, conflicted: 0, failed: 0 });
        assert.deepEqual(r.status.objects, { networkPolicies: 6, roleBindings: 2 });
        assert.equal(cond(r.status, 'Ready')?.status, 'True');
        assert.equal(cond(r.status, 'Ready')?.message, '2/2 namespaces enforced');
        assert.equal(cond(r.status, 'Stalled')?.status, 'False');
        assert.equal(cond(r.status, 'Reconciling')?.status, 'False');
    });

    it('is Stalled on refusals that retrying cannot fix and Reconciling on retried failures', () => {
        const r = computeStatus(
            input(profile(), [
                outcome('a', { state: 'Failed', terminal: true, message: 'rolebindings forbidden' }),
                outcome('b', { state: 'Failed', terminal: false, message: 'connection reset' }),
            ]),
        );
        if (r.kind !== 'ready') throw new Error('expected ready');
        assert.equal(cond(r.status, 'Ready')?.status, 'False');
        assert.equal(cond(r.status, 'Stalled')?.status, 'True');
        assert.match(cond(r.status, 'Stalled')?.message ?? '', /a: rolebindings forbidden/);
        assert.equal(cond(r.status, 'Reconciling')?.status, 'True');
        assert.equal(r.status.namespaces?.failed, 2);
    });

    it('lists conflicts (capped), skipped never-govern namespaces, drift and unresolved references', () => {
        const conflicts = Array.from({ length: 30 }, (_, i) => ({
            namespace: `n${String(i).padStart(2, '0')}`,
            governedBy: 'q',
        }));
        const r = computeStatus(
            input(profile(), [outcome('a', { drift: ['NetworkPolicy x (changed by kubectl-edit)'] })], {
                conflicts,
                skipped: ['kube-system'],
                unresolved: ['ClusterRole "nope" not found'],
            }),
        );
        if (r.kind !== 'ready') throw new Error('expected ready');
        assert.equal(r.status.conflicts?.length, 20);
        assert.equal(r.status.namespaces?.conflicted, 30);
        assert.match(cond(r.status, 'Conflict')?.message ?? '', /and 10 more/);
        assert.equal(cond(r.status, 'NamespacesSkipped')?.status, 'True');
        assert.match(
            cond(r.status, 'DriftDetected')?.message ?? '',
            /a\/NetworkPolicy x \(changed by kubectl-edit\)/,
        );
        assert.equal(cond(r.status, 'ReferencesResolved')?.status, 'False');
    });

    it('reports the plan of a DryRun profile and enforces nothing', () => {
        const plan = [
            {
                action: 'create' as const,
                kind: 'NetworkPolicy' as const,
                namespace: 'a',
                name: 'isolation-default-deny',
            },
        ];
        const r = computeStatus(
            input(profile({ mode: 'DryRun' }), [outcome('a', { state: 'DryRun', plan })]),
        );
        if (r.kind !== 'ready') throw new Error('expected ready');
        assert.deepEqual(r.status.plan, plan);
        assert.equal(r.status.namespaces?.enforced, 0);
        assert.equal(cond(r.status, 'Ready')?.reason, 'DryRun');
        assert.equal(cond(r.status, 'Ready')?.status, 'False');
    });

    it('reports alignment gaps as a counted, capped AlignmentGap condition that does not change Ready', () => {
        const gap = {
            kind: 'OneSidedAllow' as const,
            profile: 'p',
            namespace: 'a',
            blockedBy: 'egress' as const,
            blockingPolicies: ['db/isolation-default-deny'],
            message: 'ingress rule from-db allows from profile db, whose namespaces deny that egress',
            rule: 'ingress/from-db',
            peerProfile: 'db',
        };
        const r = computeStatus(input(profile(), [outcome('a')], { alignmentGaps: [gap] }));
        if (r.kind !== 'ready') throw new Error('expected ready');
        assert.equal(cond(r.status, 'AlignmentGap')?.status, 'True');
        assert.match(cond(r.status, 'AlignmentGap')?.message ?? '', /1 alignment gap.*from-db/);
        assert.equal(cond(r.status, 'Ready')?.status, 'True');
        const ok = computeStatus(input(profile(), [outcome('a')], { alignmentGaps: [] }));
        if (ok.kind !== 'ready') throw new Error('expected ready');
        assert.equal(cond(ok.status, 'AlignmentGap')?.status, 'False');
        const unchecked = computeStatus(input(profile(), [outcome('a')]));
        if (unchecked.kind !== 'ready') throw new Error('expected ready');
        assert.equal(cond(unchecked.status, 'AlignmentGap'), undefined);
    });

    it('is never Ready while nothing is enforced: suspended, or every namespace lost or none selected', () => {
        const suspended = computeStatus(
            input(profile({ suspend: true }), [outcome('a', { state: 'Suspended' })]),
        );
        if (suspended.kind !== 'ready') throw new Error('expected ready');
        assert.equal(cond(suspended.status, 'Ready')?.status, 'False');
        assert.equal(cond(suspended.status, 'Ready')?.reason, 'Suspended');

        const lost = computeStatus(
            input(profile(), [], { conflicts: [{ namespace: 'a', governedBy: 'other' }] }),
        );
        if (lost.kind !== 'ready') throw new Error('expected ready');
        assert.equal(cond(lost.status, 'Ready')?.status, 'False');
        assert.equal(cond(lost.status, 'Ready')?.reason, 'NothingGoverned');
        assert.match(cond(lost.status, 'Ready')?.message ?? '', /governed by another profile/);

        const none = computeStatus(input(profile(), []));
        if (none.kind !== 'ready') throw new Error('expected ready');
        assert.equal(cond(none.status, 'Ready')?.reason, 'NothingGoverned');
        assert.equal(cond(none.status, 'Stalled')?.status, 'False');
    });

    it('keeps lastTransitionTime while a condition keeps its status, and equality ignores it', () => {
        const first = computeStatus(input(profile(), [outcome('a')]));
        if (first.kind !== 'ready') throw new Error('expected ready');
        const later = computeStatus({
            ...input(profile({}, first.status), [outcome('a')]),
            now: '2026-11-27T00:00:00Z',
        });
        if (later.kind !== 'ready') throw new Error('expected ready');
        assert.equal(cond(later.status, 'Ready')?.lastTransitionTime, '2026-11-26T00:00:00Z');
        assert.ok(statusEquals(first.status, later.status));
        const changed = computeStatus(input(profile({}, first.status), [outcome('a'), outcome('b')]));
        if (changed.kind !== 'ready') throw new Error('expected ready');
        assert.equal(statusEquals(first.status, changed.status), false);
    });
});
