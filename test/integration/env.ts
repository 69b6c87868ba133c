/**
 * The shared integration-test environment: one real control plane for the whole mocha run (started by the
 * root hooks in hooks.ts), and small helpers tests use against it. Tests isolate themselves by namespace and by
 * unique cluster-scoped names instead of restarting the control plane.
 */
import { randomBytes } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';

import type { ControlPlane } from '../controlplane/controlplane.ts';

export interface TestEnv {
    kubeconfigPath: string;
    auditLogPath: string;
    binDir: string;
    runDir: string;
    controlPlane: ControlPlane;
    kc(kubeconfigPath?: string): KubeConfig;
    kubectl(
        args: string[],
        opts?: { kubeconfig?: string; input?: string },
    ): Promise<{ code: number; stdout: string; stderr: string }>;
    addUser(name: string, groups: string[]): Promise<string>;
    serviceAccountKubeconfig(namespace: string, name: string): Promise<string>;
    createNamespace(prefix: string, labels?: Record<string, string>): Promise<string>;
    uniqueName(prefix: string): string;
}

let current: TestEnv | undefined;

export function uniqueName(prefix: string): string {
    return `${prefix}-${randomBytes(3).toString('hex')}`.slice(0, 63).replace(/-+$/, '');
}

export function setTestEnv(cp: ControlPlane): TestEnv {
    current = {
        kubeconfigPath: cp.kubeconfigPath,
        auditLogPath: cp.state.auditLogPath,
        binDir: cp.state.binDir,
        runDir: cp.state.runDir,
        controlPlane: cp,
        kc(path?: string) {
            const kc = new KubeConfig();
            kc.loadFromFile(path ?? cp.kubeconfigPath);
            return kc;
        },
        kubectl: (args, opts) => cp.kubectl(args, opts),
        addUser: (name, groups) => cp.addUser(name, groups),
        async serviceAccountKubeconfig(namespace, name) {
            await cp.kubectl(['create', 'namespace', namespace]);
            await cp.kubectl(['create', 'serviceaccount', name, '-n', namespace]);
            return cp.serviceAccountKubeconfig(namespace, name);
        },
        async createNamespace(prefix, labels = {}) {
            const name = uniqueName(prefix);
            const manifest = JSON.stringify({
                apiVersion: 'v1',
                kind: 'Namespace',
                metadata: { name, labels },
            });
            const res = await cp.kubectl(['create', '-f', '-'], { input: manifest });
            if (res.code !== 0) throw new Error(`create namespace ${name}: ${res.stderr}`);
            return name;
        },
        uniqueName,
    };
    return current;
}

/** The environment of the running suite; throws outside a run started with the integration hooks. */
export function testEnv(): TestEnv {
    if (!current)
        throw new Error('integration environment not started: run through .mocharc.integration.json');
    return current;
}
