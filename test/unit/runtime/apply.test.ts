import assert from 'node:assert/strict';
import { ApiException, type KubernetesObject, PatchStrategy } from '@kubernetes/client-node';
import { ApplyClient, type ObjectApi } from '../../../src/runtime/apply.ts';
import { httpStatus } from '../../../src/runtime/errors.ts';

interface Call {
    method: string;
    args: unknown[];
}

function fakeApi(opts: { deleteError?: Error } = {}) {
    const calls: Call[] = [];
    const api = {
        patch: (spec: KubernetesObject, ...rest: unknown[]) => {
            // Mimic client-node's path builder, which mutates the object it is given.
            spec.metadata = { ...spec.metadata, namespace: spec.metadata?.namespace ?? 'default' };
            calls.push({ method: 'patch', args: [structuredClone(spec), ...rest] });
            return Promise.resolve(spec);
        },
        delete: (spec: KubernetesObject, ...rest: unknown[]) => {
            calls.push({ method: 'delete', args: [spec, ...rest] });
            return opts.deleteError ? Promise.reject(opts.deleteError) : Promise.resolve({});
        },
    } as unknown as ObjectApi;
    return { api, calls };
}

const np = (): KubernetesObject => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'isolation-default-deny', namespace: 'team-a' },
});

describe('runtime/apply', () => {
    it('applies with server-side apply, the field manager and force, without mutating the caller object', async () => {
        const { api, calls } = fakeApi();
        const client = new ApplyClient({ objects: api, fieldManager: 'isolation-operator' });
        const obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } } as KubernetesObject;
        const frozen = structuredClone(obj);
        await client.apply(obj);
        assert.deepEqual(obj, frozen, 'the caller object is untouched');
        const [body, pretty, dryRun, manager, force, strategy] = calls[0]?.args ?? [];
        assert.deepEqual(body, {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: 'x', namespace: 'default' },
        });
        assert.equal(pretty, undefined);
        assert.equal(dryRun, undefined);
        assert.equal(manager, 'isolation-operator');
        assert.equal(force, true);
        assert.equal(strategy, PatchStrategy.ServerSideApply);
        assert.deepEqual(client.writes(), { apply: 1, delete: 0, patch: 0, total: 1 });
    });

    it('does not count a dry-run apply as a write', async () => {
        const { api, calls } = fakeApi();
        const client = new ApplyClient({ objects: api, fieldManager: 'm' });
        await client.apply(np(), { dryRun: true });
        assert.equal(calls[0]?.args[2], 'All');
        assert.equal(client.writes().total, 0);
    });

    it('deletes with uid and resourceVersion preconditions', async () => {
        const { api, calls } = fakeApi();
        const client = new ApplyClient({ objects: api, fieldManager: 'm' });
        const deleted = await client.delete('networking.k8s.io/v1', 'NetworkPolicy', 'team-a', 'p', {
            uid: 'u-1',
            resourceVersion: '42',
        });
        assert.equal(deleted, true);
        const args = calls[0]?.args ?? [];
        assert.deepEqual(args[0], {
            apiVersion: 'networking.k8s.io/v1',
            kind: 'NetworkPolicy',
            metadata: { name: 'p', namespace: 'team-a' },
        });
        assert.deepEqual(args[6], { preconditions: { uid: 'u-1', resourceVersion: '42' } });
        assert.equal(client.writes().delete, 1);
    });

    it('sends no delete body without preconditions', async () => {
        const { api, calls } = fakeApi();
        const client = new ApplyClient({ objects: api, fieldManager: 'm' });
        await client.delete('v1', 'ConfigMap', 'ns', 'c');
        assert.equal(calls[0]?.args[6], undefined);
    });

    it('treats 404 on delete as success without counting a write', async () => {
        const { api } = fakeApi({ deleteError: new ApiException(404, 'Not Found', {}, {}) });
        const seen: unknown[] = [];
        const client = new ApplyClient({ objects: api, fieldManager: 'm', onWrite: (...a) => seen.push(a) });
        assert.equal(await client.delete('v1', 'ConfigMap', 'ns', 'c', { uid: 'x' }), false);
        assert.equal(client.writes().total, 0);
        assert.deepEqual(seen, [['delete', 'ConfigMap', false]]);
    });

    it('propagates a 409 precondition failure on delete', async () => {
        const { api } = fakeApi({ deleteError: new ApiException(409, 'Conflict', {}, {}) });
        const client = new ApplyClient({ objects: api, fieldManager: 'm' });
        await assert.rejects(
            client.delete('v1', 'ConfigMap', 'ns', 'c', { uid: 'x' }),
            (e) => httpStatus(e) === 409,
        );
    });

    it('patches metadata with a JSON merge patch, null removing labels and owner references', async () => {
        const { api, calls } = fakeApi();
        const client = new ApplyClient({ objects: api, fieldManager: 'isolation-operator' });
        await client.patchMetadata('rbac.authorization.k8s.io/v1', 'RoleBinding', 'team-a', 'rb', {
            labels: { 'app.kubernetes.io/managed-by': null },
            ownerReferences: null,
        });
        const [body, , , manager, force, strategy] = calls[0]?.args ?? [];
        assert.deepEqual(body, {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'RoleBinding',
            metadata: {
                name: 'rb',
                namespace: 'team-a',
                labels: { 'app.kubernetes.io/managed-by': null },
                ownerReferences: null,
            },
        });
        assert.equal(manager, 'isolation-operator');
        assert.equal(force, undefined, 'force is only valid for apply');
        assert.equal(strategy, PatchStrategy.MergePatch);
        assert.equal(client.writes().patch, 1);
    });
});
