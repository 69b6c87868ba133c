/**
 * ProfileReconciler.reconcile through the in-memory ports (memory-cluster.ts): the finalizer, the status it writes
 * from the namespace outcomes (and when it waits instead), the deletion policies, and what it tells the workqueue.
 */
import assert from 'node:assert/strict';

import type { IsolationProfileSpec } from '../../../src/api/types.ts';
import { NamespaceReconciler } from '../../../src/controller/namespace-reconciler.ts';
import { OutcomeStore } from '../../../src/controller/outcomes.ts';
import { ProfileReconciler } from '../../../src/controller/profile-reconciler.ts';
import type { ProfileGaps } from '../../../src/controller/alignment.ts';
import { DEFAULT_PLAN_SETTINGS } from '../../../src/plan/index.ts';
import { MemoryCluster } from './memory-cluster.ts';

function setup(spec: Partial<IsolationProfileSpec> = {}, opts: { alignment?: ProfileGaps } = {}) {
    const store = new MemoryCluster();
    store.addNamespace('team-a');
    store.addProfile('p', spec);
    const outcomes = new OutcomeStore();
    const revisit: string[] = [];
    let statusWrites = 0;
    const deps = {
        view: store.view(),
        writer: store.writer(),
        outcomes,
        events: store.eventSink(),
        settings: DEFAULT_PLAN_SETTINGS,
    };
    const namespaces = new NamespaceReconciler({ ...deps, profilesTouched: () => undefined });
    const profiles = new ProfileReconciler({
        ...deps,
        now: () => new Date('2026-02-01T00:00:00.123Z'),
        namespacesChanged: (ns) => revisit.push(...ns),
        onStatusWritten: () => statusWrites++,
        pendingRetryMs: 1500,
        ...(opts.alignment ? { alignment: () => opts.alignment! } : {}),
    });
    return { store, outcomes, namespaces, profiles, revisit, writes: () => statusWrites };
}

/** The profile as the cache holds it now. */
const live = (s: ReturnType<typeof setup>) => s.store.profiles.find((p) => p.metadata.name === 'p')!;
const cond = (s: ReturnType<typeof setup>, type: string) =>
    live(s).status?.conditions?.find((c) => c.type === type);

describe('ProfileReconciler.reconcile (in-memory ports)', () => {
    it('adds the finalizer, then waits (requeueAfter) while a governed namespace has no outcome yet', async () => {
        const s = setup();
        assert.deepEqual(await s.profiles.reconcile('p'), { requeueAfterMs: 1500 });
        assert.deepEqual(s.store.calls, ['finalize p'], 'no partial status is published');
        assert.equal(s.writes(), 0);
    });

    it('writes Ready once every governed namespace is enforced, and nothing when the status would not change', async () => {
        const s = setup();
        await s.namespaces.reconcile('team-a');
        s.store.calls.length = 0;
        assert.equal(await s.profiles.reconcile('p'), undefined);
        assert.deepEqual(s.store.calls, ['finalize p', 'status p']);
        assert.equal(s.writes(), 1);
        assert.equal(cond(s, 'Ready')?.status, 'True');
        assert.equal(live(s).status?.namespaces?.enforced, 1);
        assert.equal(cond(s, 'Ready')?.lastTransitionTime, '2026-02-01T00:00:00Z', 'RFC 3339 seconds');
        s.store.calls.length = 0;
        await s.profiles.reconcile('p');
        assert.deepEqual(s.store.calls, [], 'an unchanged status is not written again');
        assert.equal(s.writes(), 1);
    });

    it('reports a namespace failure as Stalled, with the message', async () => {
        const s = setup();
        s.store.failNext('create NetworkPolicy team-a/isolation-dns', { code: 422, message: 'invalid' });
        await s.namespaces.reconcile('team-a').catch(() => undefined);
        await s.profiles.reconcile('p');
        assert.equal(live(s).status?.namespaces?.failed, 1);
        assert.equal(cond(s, 'Ready')?.status, 'False');
        assert.match(JSON.stringify(live(s).status?.conditions), /invalid/);
    });

    it('reports an unresolved ClusterRole in ReferencesResolved', async () => {
        const s = setup({
            access: [
                {
                    name: 'auditors',
                    roleRef: { kind: 'ClusterRole', name: 'auditor' },
                    subjects: [{ kind: 'Group', name: 'audit' }],
                },
            ],
        });
        await s.namespaces.reconcile('team-a');
        await s.profiles.reconcile('p');
        assert.equal(cond(s, 'ReferencesResolved')?.status, 'False');
        assert.match(cond(s, 'ReferencesResolved')?.message ?? '', /ClusterRole "auditor" not found/);
        s.store.clusterRoles.add('auditor');
        await s.profiles.reconcile('p');
        assert.equal(cond(s, 'ReferencesResolved')?.status, 'True');
    });

    it('asks to look again when the alignment answer is older than the last change, and records a gap once', async () => {
        const gap = { kind: 'ingress', namespace: 'team-a', message: 'port 8080 not allowed' };
        const s = setup({}, { alignment: { gaps: [gap as never], retryInMs: 250 } });
        await s.namespaces.reconcile('team-a');
        assert.deepEqual(await s.profiles.reconcile('p'), { requeueAfterMs: 250 });
        assert.equal(s.writes(), 1);
        assert.equal(s.store.events.filter((e) => e.startsWith('Warning AlignmentGap')).length, 1);
        assert.deepEqual(await s.profiles.reconcile('p'), { requeueAfterMs: 250 }, 'unchanged: no write');
        assert.equal(s.writes(), 1);
        assert.equal(s.store.events.filter((e) => e.startsWith('Warning AlignmentGap')).length, 1);
    });

    it('deletes generated objects, drops the label, removes the finalizer, then revisits the namespaces (Delete)', async () => {
        const s = setup();
        await s.namespaces.reconcile('team-a');
        await s.profiles.reconcile('p');
        s.store.calls.length = 0;
        live(s).metadata.deletionTimestamp = '2026-02-02T00:00:00Z';
        assert.equal(await s.profiles.reconcile('p'), undefined);
        assert.deepEqual(s.store.calls.slice(-2), ['unlabel team-a', 'unfinalize p']);
        assert.equal(s.store.calls.filter((c) => c.startsWith('delete NetworkPolicy')).length, 3);
        assert.equal(s.store.policies.size, 0);
        assert.deepEqual(s.revisit, ['team-a']);
        assert.equal(s.outcomes.get('team-a'), undefined);
        assert.ok(
            s.store.events.some((e) => e.startsWith('Normal CleanedUp: deleted 3 generated objects in 1')),
        );
    });

    it('strips the labels and ownerReference instead of deleting (Orphan)', async () => {
        const s = setup({ deletionPolicy: 'Orphan' });
        await s.namespaces.reconcile('team-a');
        s.store.calls.length = 0;
        live(s).metadata.finalizers = ['isolation.dev/cleanup'];
        live(s).metadata.deletionTimestamp = '2026-02-02T00:00:00Z';
        await s.profiles.reconcile('p');
        assert.equal(s.store.calls.filter((c) => c.startsWith('orphan NetworkPolicy')).length, 3);
        assert.ok(!s.store.calls.some((c) => c.startsWith('delete')));
        assert.equal(s.store.orphaned.length, 3);
        assert.ok(s.store.orphaned.every((o) => o.metadata?.labels?.['isolation.dev/profile'] === undefined));
        assert.ok(s.store.events.some((e) => e.startsWith('Normal Orphaned')));
    });

    it('throws the API error of a failed cleanup (retried), keeps the finalizer and records CleanupFailed', async () => {
        const s = setup();
        await s.namespaces.reconcile('team-a');
        live(s).metadata.finalizers = ['isolation.dev/cleanup'];
        live(s).metadata.deletionTimestamp = '2026-02-02T00:00:00Z';
        const err = { code: 503, message: 'unavailable' };
        s.store.failNext('delete NetworkPolicy', err);
        await assert.rejects(s.profiles.reconcile('p'), (e: unknown) => e === err);
        assert.ok(!s.store.calls.includes('unfinalize p'));
        assert.ok(s.store.events.some((e) => e.startsWith('Warning CleanupFailed: NetworkPolicy team-a/')));
        assert.deepEqual(s.revisit, [], 'the namespaces are revisited only once the profile is gone');
    });

    it('revisits the namespaces still labelled with a profile that is gone', async () => {
        const s = setup();
        s.store.addNamespace('team-b', { 'isolation.dev/profile': 'p' });
        s.store.profiles = [];
        assert.equal(await s.profiles.reconcile('p'), undefined);
        assert.deepEqual(s.revisit, ['team-b']);
        assert.deepEqual(s.store.calls, []);
    });
});
