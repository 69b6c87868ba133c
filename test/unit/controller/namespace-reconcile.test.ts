/**
 * NamespaceReconciler.reconcile through in-memory doubles of its two ports: a ClusterView holding objects and a
 * ClusterWriter that records every call and applies it to the same store, so a second reconcile sees the first one's
 * writes (as the informer caches do). No cluster: the integration tests cover the real API server.
 */
import assert from 'node:assert/strict';
import type { V1Namespace, V1NetworkPolicy, V1RoleBinding } from '@kubernetes/client-node';

import type { IsolationProfile, IsolationProfileSpec } from '../../../src/api/types.ts';
import { NamespaceReconciler } from '../../../src/controller/namespace-reconciler.ts';
import { OutcomeStore } from '../../../src/controller/outcomes.ts';
import type {
    ClusterView,
    ClusterWriter,
    ForeignObject,
    ProfileEvents,
} from '../../../src/controller/ports.ts';
import { DEFAULT_PLAN_SETTINGS } from '../../../src/plan/index.ts';

const MANAGED = { 'app.kubernetes.io/managed-by': 'isolation-operator' };

class Store {
    namespaces = new Map<string, V1Namespace>();
    profiles: IsolationProfile[] = [];
    policies = new Map<string, V1NetworkPolicy>(); // `${ns}/${name}`, managed ones only (the informer's selector)
    bindings = new Map<string, V1RoleBinding>();
    foreign: (ForeignObject & { namespace: string })[] = [];
    calls: string[] = [];
    events: string[] = [];

    view(): ClusterView {
        const inNs = <T extends { metadata?: { namespace?: string } }>(m: Map<string, T>, ns: string) =>
            [...m.values()].filter((o) => o.metadata?.namespace === ns);
        return {
            profiles: () => this.profiles,
            profile: (n) => this.profiles.find((p) => p.metadata.name === n),
            namespaces: () => [...this.namespaces.values()],
            namespace: (n) => this.namespaces.get(n),
            serviceAccounts: () => [],
            networkPolicies: (ns) => inNs(this.policies, ns),
            roleBindings: (ns) => inNs(this.bindings, ns),
            generatedFor: () => [],
            clusterRole: () => undefined,
        };
    }

    writer(): ClusterWriter {
        // Each call settles on a later tick, as a real request would.
        const later = <T>(fn: () => T): Promise<T> => Promise.resolve().then(fn);
        const fail = (what: string) => () => Promise.reject(new Error(`unexpected ${what}`));
        return {
            apply: (obj) =>
                later(() => {
                    this.calls.push(`apply ${obj.kind} ${obj.metadata.namespace}/${obj.metadata.name}`);
                    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
                    const stored = JSON.parse(JSON.stringify(obj)) as V1NetworkPolicy & V1RoleBinding;
                    if (obj.kind === 'NetworkPolicy') this.policies.set(key, stored);
                    else this.bindings.set(key, stored);
                }),
            foreignObjects: (kind, namespace, names) =>
                later(() => {
                    this.calls.push(`list ${kind} ${namespace}`);
                    return this.foreign
                        .filter((f) => f.kind === kind && f.namespace === namespace && names.includes(f.name))
                        .map(({ kind: k, name, manager }) =>
                            manager ? { kind: k, name, manager } : { kind: k, name },
                        );
                }),
            delete: (kind, namespace, name) =>
                later(() => {
                    this.calls.push(`delete ${kind} ${namespace}/${name}`);
                    (kind === 'NetworkPolicy' ? this.policies : this.bindings).delete(`${namespace}/${name}`);
                }),
            labelNamespace: (namespace, profile) =>
                later(() => {
                    this.calls.push(`label ${namespace}=${profile}`);
                    const ns = this.namespaces.get(namespace)!;
                    ns.metadata!.labels = {
                        ...(ns.metadata?.labels ?? {}),
                        'isolation.dev/profile': profile,
                    };
                }),
            unlabelNamespace: (namespace) =>
                later(() => {
                    this.calls.push(`unlabel ${namespace}`);
                    const ns = this.namespaces.get(namespace)!;
                    const labels = { ...(ns.metadata?.labels ?? {}) };
                    delete labels['isolation.dev/profile'];
                    ns.metadata!.labels = labels;
                }),
            orphan: fail('orphan'),
            addFinalizer: fail('addFinalizer'),
            removeFinalizer: fail('removeFinalizer'),
            patchStatus: fail('patchStatus'),
        };
    }

    eventSink(): ProfileEvents {
        return { record: (_p, type, reason, message) => this.events.push(`${type} ${reason}: ${message}`) };
    }
}

function profile(name: string, spec: Partial<IsolationProfileSpec>): IsolationProfile {
    return {
        apiVersion: 'isolation.dev/v1alpha1',
        kind: 'IsolationProfile',
        metadata: { name, uid: `uid-${name}`, generation: 1, creationTimestamp: '2026-01-01T00:00:00Z' },
        spec: { namespaces: { names: ['team-a'] }, ...spec },
    };
}

function setup(spec: Partial<IsolationProfileSpec> = {}, nsLabels: Record<string, string> = {}) {
    const store = new Store();
    store.namespaces.set('team-a', { metadata: { name: 'team-a', labels: { ...nsLabels } } });
    store.profiles.push(profile('p', spec));
    const outcomes = new OutcomeStore();
    const reconciler = new NamespaceReconciler({
        view: store.view(),
        writer: store.writer(),
        outcomes,
        events: store.eventSink(),
        settings: DEFAULT_PLAN_SETTINGS,
    });
    return { store, outcomes, reconciler };
}

describe('NamespaceReconciler.reconcile (in-memory ports)', () => {
    it('labels the namespace first, creates what is missing, then costs nothing once converged', async () => {
        const { store, outcomes, reconciler } = setup();
        const first = await reconciler.reconcile('team-a');
        assert.deepEqual(first.profiles, ['p']);
        assert.equal(first.error, undefined);
        assert.equal(store.calls[0], 'label team-a=p');
        assert.ok(store.calls.includes('apply NetworkPolicy team-a/isolation-default-deny'));
        assert.equal(outcomes.get('team-a')?.state, 'Enforced');
        assert.equal(outcomes.get('team-a')?.networkPolicies, 3);
        store.calls.length = 0;
        await reconciler.reconcile('team-a');
        assert.deepEqual(store.calls, [], 'a converged namespace costs zero writes and no foreign check');
    });

    it('never adopts a foreign object under a generated name: reports it, terminal, and applies the rest', async () => {
        const { store, outcomes, reconciler } = setup();
        store.foreign.push({
            kind: 'NetworkPolicy',
            namespace: 'team-a',
            name: 'isolation-default-deny',
            manager: 'kubectl',
        });
        const res = await reconciler.reconcile('team-a');
        assert.equal(res.terminal, true);
        assert.ok(!store.calls.includes('apply NetworkPolicy team-a/isolation-default-deny'));
        assert.ok(store.calls.includes('apply NetworkPolicy team-a/isolation-dns'));
        const o = outcomes.get('team-a');
        assert.equal(o?.state, 'Failed');
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

    it('writes nothing in DryRun and records the plan', async () => {
        const { store, outcomes, reconciler } = setup({ mode: 'DryRun' });
        await reconciler.reconcile('team-a');
        assert.deepEqual(store.calls, []);
        const o = outcomes.get('team-a');
        assert.equal(o?.state, 'DryRun');
        assert.ok(o?.plan?.some((a) => a.action === 'create' && a.name === 'isolation-default-deny'));
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
});
