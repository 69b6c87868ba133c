/**
 * NamespaceReconciler.reconcile through in-memory doubles of its two ports (memory-cluster.ts): what it writes,
 * in which order, what it records for the status, and what it tells the workqueue (resolve, TerminalError,
 * RetryAfterError, plain error). No cluster: the integration tests cover the real API server.
 */
import assert from 'node:assert/strict';

import type { IsolationProfileSpec } from '../../../src/api/types.ts';
import {
    explainRefusal,
    NamespaceReconciler,
    WRITES_IN_FLIGHT_PER_NAMESPACE,
} from '../../../src/controller/namespace-reconciler.ts';
import { OutcomeStore } from '../../../src/controller/outcomes.ts';
import { DEFAULT_PLAN_SETTINGS, plan } from '../../../src/plan/index.ts';
import type { DesiredObject } from '../../../src/plan/index.ts';
import { RetryAfterError, TerminalError } from '../../../src/runtime/errors.ts';
import { MemoryCluster } from './memory-cluster.ts';

const MANAGED = { 'app.kubernetes.io/managed-by': 'isolation-operator' };

function setup(spec: Partial<IsolationProfileSpec> = {}, nsLabels: Record<string, string> = {}) {
    const store = new MemoryCluster();
    store.addNamespace('team-a', nsLabels);
    store.addProfile('p', spec);
    const outcomes = new OutcomeStore();
    const touched: string[][] = [];
    const applied: string[] = [];
    const drift: string[] = [];
    const reconciler = new NamespaceReconciler({
        view: store.view(),
        writer: store.writer(),
        outcomes,
        events: store.eventSink(),
        settings: DEFAULT_PLAN_SETTINGS,
        profilesTouched: (_ns, profiles) => touched.push(profiles),
        onApplyResult: (kind, result) => applied.push(`${kind} ${result}`),
        onDriftCorrected: (kind) => drift.push(`corrected ${kind}`),
        onDriftDetected: (kind) => drift.push(`detected ${kind}`),
        bindableRoles: ['view', 'edit'],
    });
    return { store, outcomes, reconciler, touched, applied, drift };
}

/** Converge `team-a` once, then forget the calls. */
async function converged(spec: Partial<IsolationProfileSpec> = {}) {
    const s = setup(spec);
    await s.reconciler.reconcile('team-a');
    s.store.calls.length = 0;
    s.touched.length = 0;
    s.applied.length = 0;
    return s;
}

const rb = (role: string): DesiredObject => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'isolation-access-x', namespace: 'ns', labels: {} },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [],
});

const developers = {
    access: [
        {
            name: 'developers',
            roleRef: { kind: 'ClusterRole' as const, name: 'edit' },
            subjects: [{ kind: 'Group' as const, name: 'devs' }],
        },
    ],
};

describe('NamespaceReconciler.reconcile (in-memory ports)', () => {
    it('labels the namespace first, creates what is missing, then costs nothing once converged', async () => {
        const { store, outcomes, reconciler, touched } = setup();
        assert.equal(await reconciler.reconcile('team-a'), undefined, 'success: no requeue');
        assert.deepEqual(touched, [['p']]);
        assert.equal(store.calls[0], 'label team-a=p');
        assert.ok(store.calls.includes('create NetworkPolicy team-a/isolation-default-deny'));
        assert.equal(outcomes.get('team-a')?.state, 'Enforced');
        assert.equal(outcomes.get('team-a')?.networkPolicies, 3);
        store.calls.length = 0;
        await reconciler.reconcile('team-a');
        assert.deepEqual(store.calls, [], 'a converged namespace costs zero writes and no foreign check');
    });

    it("sends a namespace's creates together, at most WRITES_IN_FLIGHT_PER_NAMESPACE at once", async () => {
        const ingress = Array.from({ length: 12 }, (_, i) => ({
            name: `r${i}`,
            from: [{ namespaces: { names: ['web'] } }],
        }));
        const { store } = setup({ network: { ingress } });
        const writer = store.writer();
        let pending = 0;
        let peak = 0;
        const slowCreate: typeof writer.create = async (obj) => {
            pending++;
            peak = Math.max(peak, pending);
            await new Promise((r) => setImmediate(r));
            pending--;
            return writer.create(obj);
        };
        const r = new NamespaceReconciler({
            view: store.view(),
            writer: { ...writer, create: slowCreate },
            outcomes: new OutcomeStore(),
            events: store.eventSink(),
            settings: DEFAULT_PLAN_SETTINGS,
            profilesTouched: () => undefined,
        });
        await r.reconcile('team-a');
        const creates = store.calls.filter((c) => c.startsWith('create '));
        assert.equal(creates.length, 15, 'default-deny, same-namespace, DNS and 12 ingress rules');
        assert.equal(peak, WRITES_IN_FLIGHT_PER_NAMESPACE, 'in flight together, and no more than the cap');
    });

    it('reports converged objects as unchanged and written ones as applied', async () => {
        const { applied, reconciler } = await converged();
        await reconciler.reconcile('team-a');
        assert.deepEqual(applied, [
            'NetworkPolicy unchanged',
            'NetworkPolicy unchanged',
            'NetworkPolicy unchanged',
        ]);
    });

    it('never adopts a foreign object under a generated name: reports it, Stalled (terminal), applies the rest', async () => {
        const { store, outcomes, reconciler, touched } = setup();
        store.foreign.push({
            kind: 'NetworkPolicy',
            namespace: 'team-a',
            name: 'isolation-default-deny',
            manager: 'kubectl',
        });
        // Terminal: no retry can help; the unmanaged-object watch wakes the namespace when the blocker goes.
        await assert.rejects(reconciler.reconcile('team-a'), (e: unknown) => e instanceof TerminalError);
        assert.deepEqual(touched, [['p']], 'the status is recomputed after a failure too');
        assert.ok(!store.calls.includes('create NetworkPolicy team-a/isolation-default-deny'));
        assert.ok(store.calls.includes('create NetworkPolicy team-a/isolation-dns'));
        const o = outcomes.get('team-a');
        assert.equal(o?.state, 'Failed');
        assert.equal(o?.terminal, true);
        assert.match(
            o?.message ?? '',
            /isolation-default-deny already exists and was not created by isolation-operator \(last written by kubectl\)/,
        );
        assert.ok(
            store.events.some((e) =>
                e.startsWith('Warning ForeignObject: team-a: NetworkPolicy isolation-default-deny'),
            ),
        );
    });

    it('never takes over an object created under a generated name after the cache looked: the create fails, retried', async () => {
        const { store, outcomes, reconciler } = setup();
        store.failNext('create NetworkPolicy team-a/isolation-default-deny', {
            code: 409,
            message: 'networkpolicies "isolation-default-deny" already exists',
        });
        await assert.rejects(
            reconciler.reconcile('team-a'),
            (e: unknown) => e instanceof Error && !(e instanceof TerminalError),
            'retried: the next pass sees the object in the cache, ours or foreign',
        );
        assert.deepEqual(
            store.calls.filter((c) => c.endsWith('/isolation-default-deny')),
            ['create NetworkPolicy team-a/isolation-default-deny'],
            'no update or apply after the refused create',
        );
        assert.match(
            outcomes.get('team-a')?.message ?? '',
            /create NetworkPolicy isolation-default-deny: .*already exists/,
        );
    });

    it('throws a retryable error for a 5xx and a TerminalError only when every failure is terminal', async () => {
        const a = setup();
        a.store.failNext('create NetworkPolicy team-a/isolation-dns', { code: 500, message: 'etcd timeout' });
        const err = await a.reconciler.reconcile('team-a').then(
            () => assert.fail('expected a failure'),
            (e: unknown) => e,
        );
        assert.ok(err instanceof Error && !(err instanceof TerminalError), 'retried with backoff');
        assert.match(err.message, /create NetworkPolicy isolation-dns: etcd timeout/);
        assert.equal(a.outcomes.get('team-a')?.terminal, false);

        const b = setup();
        b.store.failNext('create NetworkPolicy team-a/isolation-dns', { code: 422, message: 'invalid' });
        await assert.rejects(b.reconciler.reconcile('team-a'), TerminalError);

        const c = setup();
        c.store.failNext('create NetworkPolicy team-a/isolation-dns', { code: 422, message: 'invalid' });
        c.store.failNext('label team-a', { code: 409, message: 'conflict' });
        await assert.rejects(
            c.reconciler.reconcile('team-a'),
            (e: unknown) => e instanceof Error && !(e instanceof TerminalError),
            'a retryable failure next to a terminal one: retry',
        );
    });

    it("throws a RetryAfterError carrying the server's Retry-After", async () => {
        const { store, reconciler } = setup();
        store.failNext('create NetworkPolicy team-a/isolation-dns', {
            code: 429,
            message: 'too many requests',
            headers: { 'retry-after': '7' },
        });
        await assert.rejects(
            reconciler.reconcile('team-a'),
            (e: unknown) => e instanceof RetryAfterError && e.retryAfterMs === 7000,
        );
    });

    it('writes nothing in DryRun and records the plan', async () => {
        const { store, outcomes, reconciler } = setup({ mode: 'DryRun' });
        await reconciler.reconcile('team-a');
        assert.deepEqual(store.calls, []);
        const o = outcomes.get('team-a');
        assert.equal(o?.state, 'DryRun');
        assert.ok(o?.plan?.some((a) => a.action === 'create' && a.name === 'isolation-default-deny'));
    });

    it('writes nothing for a suspended profile', async () => {
        const { store, outcomes, reconciler } = setup({ suspend: true });
        await reconciler.reconcile('team-a');
        assert.deepEqual(store.calls, []);
        assert.equal(outcomes.get('team-a')?.state, 'Suspended');
    });

    it('re-applies an object another manager changed and says who (driftPolicy Correct)', async () => {
        const { store, reconciler, drift } = await converged();
        const np = store.policies.get('team-a/isolation-dns')!;
        np.spec = { podSelector: {}, policyTypes: ['Egress'] };
        np.metadata!.managedFields = [
            { manager: 'isolation-operator', time: new Date('2026-01-01T00:00:00Z') },
            { manager: 'kubectl-edit', time: new Date('2026-01-02T00:00:00Z') },
        ];
        await reconciler.reconcile('team-a');
        assert.deepEqual(store.calls, ['update NetworkPolicy team-a/isolation-dns']);
        assert.deepEqual(drift, ['corrected NetworkPolicy']);
        assert.ok(
            store.events.some((e) => /DriftCorrected: NetworkPolicy isolation-dns .*kubectl-edit/.test(e)),
        );
    });

    it("leaves another manager's change in place under driftPolicy Report, and never reports its own managers", async () => {
        const { store, outcomes, reconciler, drift } = await converged({ driftPolicy: 'Report' });
        const np = store.policies.get('team-a/isolation-dns')!;
        np.spec = { podSelector: {}, policyTypes: ['Egress'] };
        np.metadata!.managedFields = [
            { manager: 'argocd-controller', time: new Date('2026-01-02T00:00:00Z') },
        ];
        const same = store.policies.get('team-a/isolation-same-namespace')!;
        same.spec = { podSelector: {}, policyTypes: ['Ingress'] };
        // Written under one of the operator's own managers: not drift by someone else, so it is corrected.
        same.metadata!.managedFields = [{ manager: 'isolation-operator-status', time: new Date() }];
        await reconciler.reconcile('team-a');
        assert.deepEqual(store.calls, ['update NetworkPolicy team-a/isolation-same-namespace']);
        assert.deepEqual(drift, ['detected NetworkPolicy']);
        assert.deepEqual(outcomes.get('team-a')?.drift, [
            'NetworkPolicy isolation-dns (changed by argocd-controller)',
        ]);
    });

    it('replaces a RoleBinding whose roleRef changed (delete, then create) and prunes objects no longer desired', async () => {
        const { store, reconciler } = await converged(developers);
        const binding = store.bindings.get('team-a/isolation-access-developers')!;
        binding.roleRef = { ...binding.roleRef, name: 'admin' };
        store.policies.set('team-a/isolation-ingress-old', {
            metadata: { name: 'isolation-ingress-old', namespace: 'team-a', labels: { ...MANAGED } },
            spec: { podSelector: {} },
        });
        await reconciler.reconcile('team-a');
        assert.deepEqual(store.calls, [
            'delete RoleBinding team-a/isolation-access-developers',
            'create RoleBinding team-a/isolation-access-developers',
            'delete NetworkPolicy team-a/isolation-ingress-old',
        ]);
        assert.equal(store.bindings.get('team-a/isolation-access-developers')?.roleRef.name, 'edit');
    });

    it('plans in DryRun exactly what Enforce would do, a replace as delete and create', async () => {
        const { store, outcomes, reconciler } = await converged(developers);
        store.bindings.get('team-a/isolation-access-developers')!.roleRef.name = 'admin';
        store.profiles[0]!.spec.mode = 'DryRun';
        await reconciler.reconcile('team-a');
        assert.deepEqual(store.calls, []);
        assert.deepEqual(
            outcomes.get('team-a')?.plan?.map((a) => `${a.action} ${a.kind} ${a.name}`),
            [
                'delete RoleBinding isolation-access-developers',
                'create RoleBinding isolation-access-developers',
            ],
        );
    });

    it('explains a refused binding of a role outside the bindable list, keeping the 403', async () => {
        const { store, outcomes, reconciler } = setup({
            access: [{ ...developers.access[0]!, roleRef: { kind: 'ClusterRole', name: 'cluster-admin' } }],
        });
        store.failNext('create RoleBinding', {
            code: 403,
            body: JSON.stringify({ message: 'rolebindings "x" is forbidden: user cannot bind' }),
        });
        await assert.rejects(reconciler.reconcile('team-a'), TerminalError);
        assert.match(
            outcomes.get('team-a')?.message ?? '',
            /forbidden.*ClusterRole "cluster-admin" is not among the roles the operator may bind: view, edit/,
        );
        const err = { code: 403, body: '{"message":"forbidden"}' };
        assert.equal(
            explainRefusal(rb('view'), err, ['view']),
            err,
            'a bindable role: the server message stands',
        );
        const other = { code: 500 };
        assert.equal(explainRefusal(rb('cluster-admin'), other, ['view']), other, 'only 403s are explained');
    });

    it('releases a namespace of another tenant: deletes what the cache shows and drops the label', async () => {
        const { store, outcomes, reconciler } = setup(
            { tenant: 'shop' },
            { 'isolation.dev/tenant': 'payments', 'isolation.dev/profile': 'p' },
        );
        store.policies.set('team-a/isolation-default-deny', {
            metadata: {
                name: 'isolation-default-deny',
                namespace: 'team-a',
                labels: { ...MANAGED, 'isolation.dev/profile': 'p' },
            },
            spec: { podSelector: {} },
        });
        await reconciler.reconcile('team-a');
        assert.deepEqual(store.calls, [
            'delete NetworkPolicy team-a/isolation-default-deny',
            'unlabel team-a',
        ]);
        assert.equal(outcomes.get('team-a'), undefined);
    });

    it('keeps releasing after a failed delete and reports the first failure', async () => {
        const { store, reconciler } = setup({ tenant: 'shop' }, { 'isolation.dev/tenant': 'payments' });
        // What the profile planned before the namespace moved to another tenant.
        const objects = plan({
            namespace: { name: 'team-a', labels: {} },
            profile: { ...store.profiles[0]!, spec: { namespaces: { names: ['team-a'] } } },
            serviceAccounts: [],
        });
        for (const o of objects.filter((x) => x.kind === 'NetworkPolicy'))
            store.policies.set(`team-a/${o.metadata.name}`, JSON.parse(JSON.stringify(o)) as never);
        store.failNext('delete NetworkPolicy team-a/isolation-default-deny', {
            code: 503,
            message: 'unavailable',
        });
        await assert.rejects(
            reconciler.reconcile('team-a'),
            /delete NetworkPolicy isolation-default-deny: unavailable/,
        );
        assert.equal(store.policies.size, 1, 'the other leftovers are deleted');
    });

    it('leaves a namespace alone while the profile that holds it is being deleted, and forgets a deleted namespace', async () => {
        const { store, outcomes, reconciler, touched } = await converged();
        store.profiles[0]!.metadata.deletionTimestamp = '2026-01-02T00:00:00Z';
        await reconciler.reconcile('team-a');
        assert.deepEqual(store.calls, []);
        assert.deepEqual(touched, [['p']]);
        store.namespaces.delete('team-a');
        await reconciler.reconcile('team-a');
        assert.deepEqual(store.calls, []);
        assert.equal(outcomes.get('team-a'), undefined);
    });
});
