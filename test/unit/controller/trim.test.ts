import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { V1Namespace, V1NetworkPolicy, V1RoleBinding, V1ServiceAccount } from '@kubernetes/client-node';

import {
    trimNamespace,
    trimNetworkPolicy,
    trimRoleBinding,
    trimServiceAccount,
    trimUnmanaged,
} from '../../../src/controller/trim.ts';
import { lastForeignManager } from '../../../src/plan/index.ts';

const bulky = {
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': 'x'.repeat(5000) },
    managedFields: [
        {
            manager: 'isolation-operator',
            operation: 'Apply',
            time: new Date('2026-01-01T00:00:00Z'),
            fieldsV1: { 'f:spec': {} },
        },
        {
            manager: 'kubectl-edit',
            operation: 'Update',
            time: new Date('2026-01-02T00:00:00Z'),
            fieldsV1: { 'f:spec': {} },
        },
    ],
};

describe('cache trimming', () => {
    it('keeps of a namespace only its name, version, labels and lifecycle timestamps (no uid: nothing writes with it)', () => {
        const ns = {
            metadata: {
                name: 'a',
                uid: 'u',
                resourceVersion: '5',
                labels: { x: 'y' },
                creationTimestamp: new Date(0),
                ...bulky,
            },
            spec: { finalizers: ['kubernetes'] },
            status: { phase: 'Active' },
        } as V1Namespace;
        const t = trimNamespace(ns);
        assert.deepEqual(t.metadata, {
            name: 'a',
            resourceVersion: '5',
            labels: { x: 'y' },
            creationTimestamp: new Date(0),
        });
        assert.equal(t.kind, 'Namespace');
        assert.equal('status' in t, false);
        assert.equal(ns.metadata?.annotations !== undefined, true, 'the input is not mutated');
    });

    it('keeps of a ServiceAccount its name, namespace and labels', () => {
        const sa = {
            metadata: { name: 's', namespace: 'n', uid: 'u', labels: { r: 'x' }, ...bulky },
            secrets: [{ name: 'tok' }],
        } as V1ServiceAccount;
        assert.deepEqual(trimServiceAccount(sa).metadata, { name: 's', namespace: 'n', labels: { r: 'x' } });
        assert.equal('secrets' in trimServiceAccount(sa), false);
    });

    it('keeps what the diff and the drift report read on generated objects', () => {
        const np = {
            metadata: {
                name: 'p',
                namespace: 'n',
                ownerReferences: [{ apiVersion: 'v', kind: 'K', name: 'o', uid: 'u' }],
                ...bulky,
            },
            spec: { podSelector: {}, policyTypes: ['Ingress'] },
        } as V1NetworkPolicy;
        const t = trimNetworkPolicy(np);
        assert.deepEqual(t.spec, np.spec);
        assert.deepEqual(t.metadata?.ownerReferences, np.metadata?.ownerReferences);
        assert.equal(t.metadata?.annotations, undefined);
        assert.equal(JSON.stringify(t).includes('fieldsV1'), false);
        assert.equal(lastForeignManager(t)?.manager, 'kubectl-edit');
        const rb = {
            metadata: { name: 'r', namespace: 'n', ...bulky },
            roleRef: { apiGroup: 'g', kind: 'ClusterRole', name: 'view' },
            subjects: [{ kind: 'User', name: 'u' }],
        } as V1RoleBinding;
        const tr = trimRoleBinding(rb);
        assert.deepEqual(tr.roleRef, rb.roleRef);
        assert.deepEqual(tr.subjects, rb.subjects);
        assert.ok(JSON.stringify(tr).length < JSON.stringify(rb).length / 10);
    });

    it('keeps of an unmanaged object its name, and the last writer only under a name the operator generates', () => {
        const spec = { podSelector: {}, ingress: [{}] };
        const blocker = { metadata: { name: 'isolation-default-deny', namespace: 'n', resourceVersion: '7', labels: { a: 'b' }, ...bulky }, spec } as V1NetworkPolicy; // prettier-ignore
        assert.deepEqual(trimUnmanaged(blocker), {
            metadata: {
                name: 'isolation-default-deny',
                namespace: 'n',
                resourceVersion: '7',
                managedFields: [{ manager: 'kubectl-edit' }],
            },
        });
        const other = {
            metadata: { name: 'admins', namespace: 'n', resourceVersion: '8', ...bulky },
            roleRef: { apiGroup: 'g', kind: 'ClusterRole', name: 'admin' },
        } as V1RoleBinding;
        assert.deepEqual(trimUnmanaged(other), {
            metadata: { name: 'admins', namespace: 'n', resourceVersion: '8' },
        });
    });
});

describe('cache sharing', () => {
    const np = (ns: string, port: number): V1NetworkPolicy => ({
        metadata: {
            name: 'isolation-default-deny',
            namespace: ns,
            labels: { 'isolation.dev/profile': 'p' },
            ownerReferences: [
                { apiVersion: 'isolation.dev/v1alpha1', kind: 'IsolationProfile', name: 'p', uid: 'u' },
            ],
            managedFields: [{ manager: 'isolation-operator', operation: 'Apply', time: new Date(0) }],
        },
        spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ ports: [{ port }] }] },
    });

    it('stores equal specs, labels and owners once, frozen, across namespaces', () => {
        const a = trimNetworkPolicy(np('a', 80));
        const b = trimNetworkPolicy(np('b', 80));
        const c = trimNetworkPolicy(np('c', 81));
        assert.equal(a.spec, b.spec);
        assert.notEqual(a.spec, c.spec);
        assert.equal(a.metadata?.labels, b.metadata?.labels);
        assert.equal(a.metadata?.ownerReferences, b.metadata?.ownerReferences);
        assert.ok(Object.isFrozen(a.spec) && Object.isFrozen(a.spec?.policyTypes));
        assert.equal(a.metadata?.namespace, 'a');
        assert.equal(
            a.metadata?.managedFields,
            undefined,
            "the operator's own field manager entry is dropped",
        );
    });

    it('bounds the pool', async () => {
        const { Sharer } = await import('../../../src/controller/trim.ts');
        const s = new Sharer(3);
        for (let i = 0; i < 10; i++) s.share({ i });
        assert.ok(s.size <= 3);
        assert.deepEqual(s.share({ i: 99 }), { i: 99 });
    });

    it('forgets a value once no cached object holds it (a deleted profile leaves nothing behind)', async () => {
        const { Sharer } = await import('../../../src/controller/trim.ts');
        const s = new Sharer();
        let held: unknown[] | undefined = [];
        for (let i = 0; i < 100; i++)
            held.push(s.share({ spec: i, ports: Array.from({ length: 50 }, (_, p) => p) }));
        const kept = s.share({ spec: 'kept' });
        assert.equal(s.size, 101);
        held = undefined;
        await collectGarbage();
        assert.equal(s.size, 1, 'values no object holds any more are forgotten');
        assert.equal(s.share({ spec: 'kept' }), kept, 'a value still held is still shared');
    });
});

/** A full GC, then a turn of the event loop so FinalizationRegistry callbacks run. */
async function collectGarbage(): Promise<void> {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((r) => setImmediate(r));
    }
}
