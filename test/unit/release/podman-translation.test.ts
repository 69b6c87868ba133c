/**
 * The Deployment -> `podman run` translation the image test relies on (test/support/podman.ts), on the real
 * config/manager/manager.yaml: every security setting, mount and variable the kubelet would apply is there, ports
 * are remapped consistently, and a setting the translation does not know is refused instead of dropped.
 */
import assert from 'node:assert/strict';
import type { V1Deployment } from '@kubernetes/client-node';

import {
    managerContainer,
    managerDeployment,
    podmanRunArgs,
    SERVICE_ACCOUNT_DIR,
} from '../../support/podman.ts';
import type { RunAsPod } from '../../support/podman.ts';

function opts(dep: V1Deployment): RunAsPod {
    const { container } = managerContainer(dep);
    const ports = new Map<number, number>();
    for (const [i, p] of (container.ports ?? []).entries()) ports.set(p.containerPort, 40000 + i);
    return {
        image: 'localhost/isolation-operator:test',
        name: 'op',
        serviceAccountDir: '/tmp/sa',
        apiServerHost: '127.0.0.1',
        apiServerPort: 6443,
        podName: 'op-pod',
        podNamespace: 'isolation-system',
        ports,
    };
}

function pairs(args: string[], flag: string): string[] {
    return args.flatMap((a, i) => (a === flag ? [args[i + 1] ?? ''] : []));
}

describe('podman translation of config/manager/manager.yaml', () => {
    const dep = managerDeployment();
    const args = podmanRunArgs(dep, opts(dep));

    it('runs as the Deployment user with a read-only root, no capabilities and no privilege escalation', () => {
        const { pod } = managerContainer(dep);
        assert.deepEqual(pairs(args, '--user'), [
            `${pod.securityContext?.runAsUser}:${pod.securityContext?.runAsGroup}`,
        ]);
        assert.ok(args.includes('--read-only'));
        assert.ok(args.includes('--read-only-tmpfs=false'));
        assert.ok(args.includes('--cap-drop=ALL'));
        assert.deepEqual(pairs(args, '--security-opt'), ['no-new-privileges']);
    });

    it('mounts the ServiceAccount read-only where the kubelet does and points at the API server', () => {
        assert.deepEqual(pairs(args, '--volume'), [`/tmp/sa:${SERVICE_ACCOUNT_DIR}:ro`]);
        const env = pairs(args, '--env');
        assert.ok(env.includes('KUBERNETES_SERVICE_HOST=127.0.0.1'));
        assert.ok(env.includes('KUBERNETES_SERVICE_PORT=6443'));
        assert.ok(env.includes('POD_NAME=op-pod'));
        assert.ok(env.includes('POD_NAMESPACE=isolation-system'));
    });

    it('passes the Deployment args after the image, with the declared ports remapped', () => {
        const { container } = managerContainer(dep);
        const after = args.slice(args.indexOf('localhost/isolation-operator:test') + 1);
        assert.equal(after.length, container.args?.length);
        assert.equal(after[0], container.args?.[0]);
        for (const a of after) {
            for (const p of container.ports ?? [])
                assert.ok(!a.endsWith(`:${p.containerPort}`), `unmapped: ${a}`);
        }
    });

    it('refuses what it cannot translate', () => {
        const copy = structuredClone(dep);
        copy.spec!.template.spec!.volumes = [{ name: 'tmp', hostPath: { path: '/x' } }];
        assert.throws(() => podmanRunArgs(copy, opts(copy)), /only emptyDir volumes/);
        const env = structuredClone(dep);
        managerContainer(env).container.env?.push({
            name: 'X',
            valueFrom: { secretKeyRef: { name: 's', key: 'k' } },
        });
        assert.throws(() => podmanRunArgs(env, opts(env)), /env X/);
    });
});
