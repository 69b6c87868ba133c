/**
 * The runtime's write paths against the real API server: server-side apply and its field ownership, deletes with
 * preconditions, metadata merge patches, the status subresource content type, aggregated events.k8s.io/v1 Events
 * (found by `kubectl describe` of a cluster-scoped object), and Lease leader election with two candidates.
 */
import assert from 'node:assert/strict';
import {
    CoordinationV1Api,
    CoreV1Api,
    CustomObjectsApi,
    EventsV1Api,
    type KubernetesObject,
    KubernetesObjectApi,
    NetworkingV1Api,
    type V1ConfigMap,
} from '@kubernetes/client-node';

import type { DesiredObject } from '../../src/plan/index.ts';

import { RecentWrites } from '../../src/controller/recent-writes.ts';
import { writerOf } from '../../src/controller/cluster.ts';
import { ApplyClient } from '../../src/runtime/apply.ts';
import { httpStatus } from '../../src/runtime/errors.ts';
import { SupervisedInformer, listWatchFactory } from '../../src/runtime/informer.ts';
import { EventRecorder, KubeEventSink } from '../../src/runtime/events.ts';
import { KubeLeaseStore, LeaderElector, type LeaseStore } from '../../src/runtime/leader.ts';
import { testEnv } from './env.ts';
import { eventually } from '../support/eventually.ts';

const MANAGER = 'isolation-operator';

function clients() {
    const kc = testEnv().kc();
    return {
        kc,
        objects: KubernetesObjectApi.makeApiClient(kc),
        core: kc.makeApiClient(CoreV1Api),
        custom: kc.makeApiClient(CustomObjectsApi),
        events: kc.makeApiClient(EventsV1Api),
        coordination: kc.makeApiClient(CoordinationV1Api),
    };
}

describe('runtime against the API server', () => {
    describe('ApplyClient', () => {
        it('server-side applies as the field manager, forces conflicts, and a repeated apply changes nothing', async () => {
            const env = testEnv();
            const c = clients();
            const ns = await env.createNamespace('rt-apply');
            const client = new ApplyClient({ objects: c.objects, fieldManager: MANAGER });
            const desired: KubernetesObject & { data: Record<string, string> } = {
                apiVersion: 'v1',
                kind: 'ConfigMap',
                metadata: { name: 'cm', namespace: ns, labels: { 'app.kubernetes.io/managed-by': MANAGER } },
                data: { a: '1' },
            };
            const snapshot = structuredClone(desired);
            const first = await client.apply(desired);
            assert.deepEqual(desired, snapshot, 'the caller object is not mutated');
            const entry = first.metadata?.managedFields?.find((m) => m.manager === MANAGER);
            assert.equal(entry?.operation, 'Apply');

            const again = await client.apply(desired);
            assert.equal(again.metadata?.resourceVersion, first.metadata?.resourceVersion, 'no-op apply');

            // Another manager takes field data.a; our forced apply takes it back.
            const other = await env.kubectl(
                ['apply', '--server-side', '--force-conflicts', '--field-manager=someone-else', '-f', '-'],
                { input: JSON.stringify({ ...snapshot, data: { a: '2' } }) },
            );
            assert.equal(other.code, 0, other.stderr);
            const back = await client.apply(desired);
            assert.equal((back as unknown as V1ConfigMap).data?.a, '1');
            assert.equal(client.writes().apply, 3);
        });

        it('applies a NetworkPolicy (a kind serialised through the client model)', async () => {
            const env = testEnv();
            const c = clients();
            const ns = await env.createNamespace('rt-np');
            const client = new ApplyClient({ objects: c.objects, fieldManager: MANAGER });
            const np = {
                apiVersion: 'networking.k8s.io/v1',
                kind: 'NetworkPolicy',
                metadata: { name: 'isolation-default-deny', namespace: ns },
                spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
            };
            const out = await client.apply(np);
            assert.deepEqual(out.spec.policyTypes, ['Ingress', 'Egress']);
        });

        it('deletes with a UID precondition, refuses a wrong UID with 409, and treats 404 as done', async () => {
            const env = testEnv();
            const c = clients();
            const ns = await env.createNamespace('rt-del');
            const client = new ApplyClient({ objects: c.objects, fieldManager: MANAGER });
            const cm = await client.apply<KubernetesObject>({
                apiVersion: 'v1',
                kind: 'ConfigMap',
                metadata: { name: 'gone', namespace: ns },
            });
            await assert.rejects(
                client.delete('v1', 'ConfigMap', ns, 'gone', { uid: '00000000-0000-0000-0000-000000000000' }),
                (e) => httpStatus(e) === 409,
            );
            assert.equal(await client.delete('v1', 'ConfigMap', ns, 'gone', { uid: cm.metadata?.uid }), true);
            assert.equal(await client.delete('v1', 'ConfigMap', ns, 'gone'), false);
            assert.equal(client.writes().delete, 1);
        });

        it('strips labels and ownerReferences with a merge patch, keeping the rest', async () => {
            const env = testEnv();
            const c = clients();
            const ns = await env.createNamespace('rt-orphan');
            const client = new ApplyClient({ objects: c.objects, fieldManager: MANAGER });
            const owner = await c.core.readNamespace({ name: ns });
            await client.apply({
                apiVersion: 'v1',
                kind: 'ConfigMap',
                metadata: {
                    name: 'child',
                    namespace: ns,
                    labels: { 'app.kubernetes.io/managed-by': MANAGER, keep: 'yes' },
                    ownerReferences: [
                        {
                            apiVersion: 'v1',
                            kind: 'Namespace',
                            name: ns,
                            uid: owner.metadata?.uid ?? '',
                            controller: true,
                        },
                    ],
                },
                data: { x: '1' },
            } as KubernetesObject);
            await client.patchMetadata('v1', 'ConfigMap', ns, 'child', {
                labels: { 'app.kubernetes.io/managed-by': null },
                ownerReferences: null,
            });
            const live = await c.core.readNamespacedConfigMap({ name: 'child', namespace: ns });
            assert.deepEqual(live.metadata?.labels, { keep: 'yes' });
            assert.equal(live.metadata?.ownerReferences, undefined);
            assert.deepEqual(live.data, { x: '1' });
        });

        it("the operator's writer creates by POST, replaces by a conditional PUT, and never takes over another uid", async () => {
            const env = testEnv();
            const c = clients();
            const ns = await env.createNamespace('rt-writer');
            const net = c.kc.makeApiClient(NetworkingV1Api);
            const writes: string[] = [];
            const writer = writerOf(c.kc, new RecentWrites(), (verb, kind) => writes.push(`${verb} ${kind}`));
            const labels = { 'app.kubernetes.io/managed-by': MANAGER };
            const desired = (egress: boolean): DesiredObject => ({
                apiVersion: 'networking.k8s.io/v1',
                kind: 'NetworkPolicy',
                metadata: { name: 'isolation-x', namespace: ns, labels },
                spec: {
                    podSelector: {},
                    policyTypes: egress ? ['Ingress', 'Egress'] : ['Ingress'],
                    ingress: [{ from: [{ podSelector: {} }] }],
                    ...(egress ? { egress: [{ to: [{ podSelector: {} }] }] } : {}),
                },
            });
            const read = () => net.readNamespacedNetworkPolicy({ name: 'isolation-x', namespace: ns });

            await writer.create(desired(true));
            const created = await read();
            assert.equal(created.spec?.egress?.length, 1);
            assert.equal(created.metadata?.managedFields?.[0]?.manager, MANAGER);
            await assert.rejects(writer.create(desired(true)), (e: unknown) => httpStatus(e) === 409);

            // A field no longer desired goes: the PUT replaces the object, no field-ownership bookkeeping needed.
            await writer.update(desired(false), created.metadata);
            const replaced = await read();
            assert.equal(replaced.spec?.egress, undefined);
            assert.deepEqual(replaced.spec?.policyTypes, ['Ingress']);

            // Written since the cache saw it (stale resourceVersion): a forced apply on the same uid takes it back.
            const edit = await env.kubectl([
                'patch', 'networkpolicy', 'isolation-x', '-n', ns, '--type=merge',
                '-p', '{"spec":{"ingress":[]}}',
            ]); // prettier-ignore
            assert.equal(edit.code, 0, edit.stderr);
            await writer.update(desired(false), replaced.metadata!);
            const back = await read();
            assert.equal(back.spec?.ingress?.length, 1, 'the operator spec is back');

            // Deleted and re-created by someone else under the name: refused, the other object untouched.
            await net.deleteNamespacedNetworkPolicy({ name: 'isolation-x', namespace: ns });
            const foreign = await net.createNamespacedNetworkPolicy({
                namespace: ns,
                body: {
                    metadata: { name: 'isolation-x' },
                    spec: { podSelector: {}, policyTypes: ['Ingress'] },
                },
            });
            await assert.rejects(
                writer.update(desired(true), back.metadata!),
                (e: unknown) => httpStatus(e) === 409,
            );
            const after = await read();
            assert.equal(after.metadata?.uid, foreign.metadata?.uid);
            assert.equal(after.metadata?.labels, undefined, 'not taken over');
            assert.deepEqual(writes, ['create NetworkPolicy', 'update NetworkPolicy', 'apply NetworkPolicy']);
        });

        it("the operator's status writer merge-patches the status subresource and clears lists it omits", async () => {
            const env = testEnv();
            const c = clients();
            const name = env.uniqueName('rt-status');
            await c.custom.createClusterCustomObject({
                group: 'isolation.dev',
                version: 'v1alpha1',
                plural: 'isolationprofiles',
                body: {
                    apiVersion: 'isolation.dev/v1alpha1',
                    kind: 'IsolationProfile',
                    metadata: { name },
                    spec: { namespaces: { names: ['does-not-exist'] } },
                },
            });
            const writes: string[] = [];
            const writer = writerOf(c.kc, new RecentWrites(), (verb, kind) => writes.push(`${verb} ${kind}`));
            const read = async () =>
                (await c.custom.getClusterCustomObject({
                    group: 'isolation.dev',
                    version: 'v1alpha1',
                    plural: 'isolationprofiles',
                    name,
                })) as {
                    status?: { observedGeneration?: number; conflicts?: unknown[] };
                    metadata: {
                        generation: number;
                        managedFields: { manager: string; subresource?: string }[];
                    };
                };
            await writer.patchStatus(name, {
                observedGeneration: 1,
                conflicts: [{ namespace: 'a', governedBy: 'other' }],
            });
            assert.equal((await read()).status?.conflicts?.length, 1);
            await writer.patchStatus(name, { observedGeneration: 1 });
            const live = await read();
            assert.equal(live.status?.observedGeneration, 1);
            assert.equal(live.status?.conflicts, undefined, 'a list the new status omits is removed');
            assert.deepEqual(writes, ['status IsolationProfile', 'status IsolationProfile']);
            assert.equal(live.metadata.generation, 1, 'a status write does not bump the generation');
            assert.ok(
                live.metadata.managedFields.some(
                    (m) => m.manager === `${MANAGER}-status` && m.subresource === 'status',
                ),
            );
            await c.custom.deleteClusterCustomObject({
                group: 'isolation.dev',
                version: 'v1alpha1',
                plural: 'isolationprofiles',
                name,
            });
        });
    });

    describe('SupervisedInformer', () => {
        it('syncs a label-selected ListWatch (selector on list and watch) and sees adds and deletes', async () => {
            const env = testEnv();
            const c = clients();
            const ns = await env.createNamespace('rt-informer');
            const selector = 'app.kubernetes.io/managed-by=isolation-operator';
            const seen: string[] = [];
            await c.core.createNamespacedConfigMap({
                namespace: ns,
                body: {
                    metadata: { name: 'managed-1', labels: { 'app.kubernetes.io/managed-by': MANAGER } },
                },
            });
            await c.core.createNamespacedConfigMap({
                namespace: ns,
                body: { metadata: { name: 'unmanaged' } },
            });
            const inf = new SupervisedInformer<V1ConfigMap>({
                name: 'configmaps',
                labelSelector: selector,
                list: (opts) => c.core.listNamespacedConfigMap({ namespace: ns, ...opts }),
                factory: listWatchFactory(c.kc, `/api/v1/namespaces/${ns}/configmaps`),
                handlers: {
                    onAdd: (o) => seen.push(`add ${o.metadata?.name}`),
                    onDelete: (o) => seen.push(`delete ${o.metadata?.name}`),
                },
            });
            inf.start();
            await inf.waitForSync(AbortSignal.timeout(20_000));
            assert.deepEqual(
                inf.list().map((o) => o.metadata?.name),
                ['managed-1'],
                'the LIST honoured the selector',
            );
            await c.core.createNamespacedConfigMap({
                namespace: ns,
                body: { metadata: { name: 'unmanaged-2' } },
            });
            await c.core.createNamespacedConfigMap({
                namespace: ns,
                body: {
                    metadata: { name: 'managed-2', labels: { 'app.kubernetes.io/managed-by': MANAGER } },
                },
            });
            await c.core.deleteNamespacedConfigMap({ name: 'managed-1', namespace: ns });
            await eventually('watch events', () => (seen.includes('delete managed-1') ? true : undefined));
            assert.deepEqual(
                seen,
                ['add managed-1', 'add managed-2', 'delete managed-1'],
                'the WATCH honoured it',
            );
            assert.equal(inf.up(), true);
            await inf.stop();
            assert.equal(inf.restarts(), 0, 'our own stop is not treated as a failure');
        });
    });

    describe('EventRecorder', () => {
        it('aggregates repeats into one events.k8s.io/v1 Event in default that kubectl describe shows', async () => {
            const env = testEnv();
            const c = clients();
            const name = env.uniqueName('rt-events');
            const created = (await c.custom.createClusterCustomObject({
                group: 'isolation.dev',
                version: 'v1alpha1',
                plural: 'isolationprofiles',
                body: {
                    apiVersion: 'isolation.dev/v1alpha1',
                    kind: 'IsolationProfile',
                    metadata: { name },
                    spec: { namespaces: { names: ['nowhere'] } },
                },
            })) as { metadata: { uid: string } };
            const regarding = {
                apiVersion: 'isolation.dev/v1alpha1',
                kind: 'IsolationProfile',
                name,
                uid: created.metadata.uid,
            };
            const rec = new EventRecorder({
                sink: new KubeEventSink(c.events),
                reporting: { controller: 'isolation.dev/isolation-operator', instance: 'test-pod' },
                seriesUpdateIntervalMs: 0,
                onError: (e) => assert.fail(String(e)),
            });
            rec.normal(regarding, 'Reconciled', 'namespaces enforced', 'Reconcile');
            await rec.flush();
            for (let i = 0; i < 50; i++)
                rec.normal(regarding, 'Reconciled', 'namespaces enforced', 'Reconcile');
            await rec.flush();
            await rec.stop();

            const list = await c.events.listNamespacedEvent({
                namespace: 'default',
                fieldSelector: `regarding.name=${name}`,
            });
            assert.equal(list.items.length, 1, 'one Event for 51 occurrences');
            const ev = list.items[0];
            assert.equal(ev?.series?.count, 51);
            assert.equal(ev?.reason, 'Reconciled');
            assert.equal(ev?.regarding?.uid, created.metadata.uid);

            const describe = await env.kubectl(['describe', 'isolationprofile', name]);
            assert.equal(describe.code, 0, describe.stderr);
            assert.match(describe.stdout, /Events:[\s\S]*Reconciled[\s\S]*namespaces enforced/);
            await c.custom.deleteClusterCustomObject({
                group: 'isolation.dev',
                version: 'v1alpha1',
                plural: 'isolationprofiles',
                name,
            });
        });
    });

    describe('LeaderElector', () => {
        it('elects one of two candidates, maintains the Lease fields, and fails over on release, not on expiry', async () => {
            const env = testEnv();
            const c = clients();
            const ns = await env.createNamespace('rt-lease');
            const leaseName = 'isolation-operator-leader';
            // A lease far longer than the test waits: a standby can only lead this soon if the lease was released.
            const timings = { leaseDurationMs: 120_000, renewDeadlineMs: 3000, retryPeriodMs: 300 };
            const started: string[] = [];
            const mk = (identity: string) => {
                const ac = new AbortController();
                const inner = new KubeLeaseStore(c.coordination, ns, leaseName);
                const reads = { n: 0 };
                const store: LeaseStore = {
                    get: () => (reads.n++, inner.get()),
                    create: (r) => inner.create(r),
                    update: (r, v) => inner.update(r, v),
                };
                const elector = new LeaderElector({
                    identity,
                    store,
                    callbacks: { onStartedLeading: () => void started.push(identity) },
                    ...timings,
                });
                return { elector, ac, reads, done: elector.run(ac.signal) };
            };
            const a = mk('pod-a');
            await eventually('pod-a leads', () => (a.elector.isLeader() ? true : undefined));
            const b = mk('pod-b');
            // Barrier: pod-b has campaigned a few times against the held lease.
            await eventually('pod-b tried three times', () => (b.reads.n >= 3 ? true : undefined));
            assert.equal(b.elector.isLeader(), false, 'only one leader while the first renews');
            assert.equal(b.elector.leader(), 'pod-a', 'pod-b saw who leads');

            const lease = await c.coordination.readNamespacedLease({ name: leaseName, namespace: ns });
            assert.equal(lease.spec?.holderIdentity, 'pod-a');
            assert.equal(lease.spec?.leaseDurationSeconds, 120);
            assert.equal(lease.spec?.leaseTransitions, 0);
            assert.ok(lease.spec?.acquireTime && lease.spec.renewTime);

            a.ac.abort();
            await a.done;
            // Well inside the 120 s lease: only the release lets pod-b in this soon.
            await eventually('pod-b leads', () => (b.elector.isLeader() ? true : undefined), 30_000);
            const after = await c.coordination.readNamespacedLease({ name: leaseName, namespace: ns });
            assert.equal(after.spec?.holderIdentity, 'pod-b');
            assert.equal(after.spec?.leaseTransitions, 1);
            assert.deepEqual(started, ['pod-a', 'pod-b']);
            b.ac.abort();
            await b.done;
        });
    });
});
