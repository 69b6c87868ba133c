/**
 * Proves the local control plane is a real one: namespaces are finalized by the controller manager, ownerReference
 * garbage collection runs, RBAC is enforced for certificate users, and ServiceAccount tokens authenticate.
 */
import assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';

import { testEnv } from './env.ts';
import { eventually } from '../support/eventually.ts';

describe('local control plane', () => {
    it('serves Kubernetes v1.37.2', async () => {
        const env = testEnv();
        const res = await env.kubectl(['version', '-o', 'json']);
        assert.equal(res.code, 0, res.stderr);
        const v = JSON.parse(res.stdout) as {
            clientVersion: { gitVersion: string };
            serverVersion: { gitVersion: string };
        };
        assert.equal(v.serverVersion.gitVersion, 'v1.37.2');
        assert.equal(v.clientVersion.gitVersion, 'v1.37.2');
    });

    it('deletes a namespace completely (finalized by the namespace controller)', async () => {
        const env = testEnv();
        const core = env.kc().makeApiClient(CoreV1Api);
        const ns = await env.createNamespace('harness-del');
        await core.createNamespacedConfigMap({
            namespace: ns,
            body: { metadata: { name: 'x' }, data: { a: '1' } },
        });
        await core.deleteNamespace({ name: ns });
        await eventually(
            'namespace to disappear',
            async () => {
                try {
                    await core.readNamespace({ name: ns });
                    return undefined;
                } catch (err) {
                    return (err as { code?: number }).code === 404 ? true : undefined;
                }
            },
            60_000,
        );
    });

    it('garbage-collects an object after its owner is deleted', async () => {
        const env = testEnv();
        const core = env.kc().makeApiClient(CoreV1Api);
        const ns = await env.createNamespace('harness-gc');
        const owner = await core.createNamespacedConfigMap({
            namespace: ns,
            body: { metadata: { name: 'owner' } },
        });
        await core.createNamespacedConfigMap({
            namespace: ns,
            body: {
                metadata: {
                    name: 'dependent',
                    ownerReferences: [
                        { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid! },
                    ],
                },
            },
        });
        await core.deleteNamespacedConfigMap({ namespace: ns, name: 'owner' });
        await eventually(
            'dependent to be collected',
            async () => {
                try {
                    await core.readNamespacedConfigMap({ namespace: ns, name: 'dependent' });
                    return undefined;
                } catch (err) {
                    return (err as { code?: number }).code === 404 ? true : undefined;
                }
            },
            60_000,
        );
    });

    it('enforces RBAC: a user gets 403 without a RoleBinding and 200 with one', async () => {
        const env = testEnv();
        const ns = await env.createNamespace('harness-rbac');
        const user = env.uniqueName('alice');
        const kubeconfig = await env.addUser(user, ['team-a']);
        const denied = await env.kubectl(['get', 'configmaps', '-n', ns], { kubeconfig });
        assert.notEqual(denied.code, 0);
        assert.match(denied.stderr, /forbidden/i);
        const bind = await env.kubectl([
            'create',
            'rolebinding',
            'view',
            '--clusterrole=view',
            `--user=${user}`,
            '-n',
            ns,
        ]);
        assert.equal(bind.code, 0, bind.stderr);
        await eventually(
            'access after binding',
            async () => {
                const ok = await env.kubectl(['get', 'configmaps', '-n', ns], { kubeconfig });
                return ok.code === 0 ? true : undefined;
            },
            10_000,
        );
        const other = await env.kubectl(['get', 'configmaps', '-n', 'default'], { kubeconfig });
        assert.notEqual(other.code, 0, 'the binding must not reach other namespaces');
    });

    it('authenticates a ServiceAccount token as that ServiceAccount', async () => {
        const env = testEnv();
        const ns = env.uniqueName('harness-sa');
        const kubeconfig = await env.serviceAccountKubeconfig(ns, 'robot');
        const who = await env.kubectl(['auth', 'whoami', '-o', 'json'], { kubeconfig });
        assert.equal(who.code, 0, who.stderr);
        const review = JSON.parse(who.stdout) as {
            status: { userInfo: { username: string; groups: string[] } };
        };
        assert.equal(review.status.userInfo.username, `system:serviceaccount:${ns}:robot`);
        assert.ok(review.status.userInfo.groups.includes(`system:serviceaccounts:${ns}`));
        const denied = await env.kubectl(['get', 'namespaces'], { kubeconfig });
        assert.match(denied.stderr, /forbidden/i);
    });
});
