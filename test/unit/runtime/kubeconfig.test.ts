import assert from 'node:assert/strict';

import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';

import { PooledKubeConfig } from '../../../src/runtime/kubeconfig.ts';

const KUBECONFIG = `
apiVersion: v1
kind: Config
clusters:
  - name: c
    cluster: { server: 'https://127.0.0.1:6443', insecure-skip-tls-verify: true }
users:
  - name: u
    user: { token: secret-token }
contexts:
  - name: x
    context: { cluster: c, user: u }
current-context: x
`;

describe('PooledKubeConfig', () => {
    it('gives every request one shared dispatcher and builds no throwaway Agent', async () => {
        const proto = KubeConfig.prototype as unknown as { createDispatcher: (...a: unknown[]) => unknown };
        const original = proto.createDispatcher;
        let built = 0;
        proto.createDispatcher = function (this: unknown, ...a: unknown[]) {
            built++;
            return original.apply(this, a);
        };
        try {
            const kc = new PooledKubeConfig();
            kc.loadFromString(KUBECONFIG);
            const contexts = [1, 2, 3].map(
                () => new RequestContext('https://127.0.0.1:6443/api/v1/namespaces', HttpMethod.GET),
            );
            for (const ctx of contexts) await kc.applySecurityAuthentication(ctx);
            const first = contexts[0]!.getDispatcher();
            assert.ok(first, 'a dispatcher is set');
            for (const ctx of contexts) {
                assert.equal(ctx.getDispatcher(), first, 'the same pool for every request');
                assert.equal(
                    ctx.getHeaders().Authorization,
                    'Bearer secret-token',
                    'credentials still per request',
                );
            }
            assert.equal(built, 1, 'one Agent built, none thrown away');
            await kc.closePool();
        } finally {
            proto.createDispatcher = original;
        }
    });
});
