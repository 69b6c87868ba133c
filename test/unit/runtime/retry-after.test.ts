import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { CoreV1Api } from '@kubernetes/client-node';

import { FakeClock } from '../../support/fake-clock.ts';
import { PooledKubeConfig } from '../../../src/runtime/kubeconfig.ts';
import { parseRetryAfter } from '../../../src/runtime/errors.ts';
import { RetryAfterGate } from '../../../src/runtime/retry-after.ts';

describe('Retry-After', function () {
    describe('parseRetryAfter', function () {
        const now = Date.UTC(2026, 0, 1, 12, 0, 0);
        it('reads delay-seconds', function () {
            assert.equal(parseRetryAfter('3', now), 3000);
            assert.equal(parseRetryAfter(' 0 ', now), 0);
        });
        it('reads an HTTP-date, never negative', function () {
            assert.equal(parseRetryAfter(new Date(now + 5000).toUTCString(), now), 5000);
            assert.equal(parseRetryAfter(new Date(now - 5000).toUTCString(), now), 0);
        });
        it('ignores absent and malformed values', function () {
            for (const v of [undefined, null, '', '-1', '1.5', 'soon'])
                assert.equal(parseRetryAfter(v, now), undefined, String(v));
        });
    });

    describe('RetryAfterGate', function () {
        it('holds waiters until the time a 429 named, and never shortens an earlier wait', async function () {
            const clock = new FakeClock();
            const gate = new RetryAfterGate({ clock });
            gate.observe(429, '2');
            gate.observe(503, '1');
            assert.equal(gate.notBefore(), clock.now() + 2000);
            let done = false;
            const waiting = gate.wait().then(() => (done = true));
            await clock.advanceAsync(1999);
            assert.equal(done, false);
            await clock.advanceAsync(1);
            await waiting;
            assert.equal(done, true);
        });
        it('ignores successful responses and statuses without the header, caps long waits', function () {
            const clock = new FakeClock();
            const gate = new RetryAfterGate({ clock, maxMs: 10_000 });
            gate.observe(200, '5');
            gate.observe(429, undefined);
            gate.observe(404, '5');
            assert.equal(gate.notBefore(), 0);
            gate.observe(429, '3600');
            assert.equal(gate.notBefore(), clock.now() + 10_000);
        });
    });

    it('API clients of a PooledKubeConfig send nothing before the Retry-After of a 429 has passed', async function () {
        this.timeout(10_000);
        const arrivals: number[] = [];
        const server = createServer((req, res) => {
            arrivals.push(Date.now());
            if (arrivals.length === 1) {
                res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' }).end(
                    JSON.stringify({ kind: 'Status', code: 429 }),
                );
                return;
            }
            res.writeHead(200, { 'content-type': 'application/json' }).end(
                JSON.stringify({ kind: 'NamespaceList', apiVersion: 'v1', metadata: {}, items: [] }),
            );
        });
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
        try {
            const addr = server.address();
            const port = typeof addr === 'object' && addr ? addr.port : 0;
            const kc = new PooledKubeConfig();
            kc.loadFromOptions({
                clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
                users: [{ name: 'u', token: 't' }],
                contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
                currentContext: 'x',
            });
            const core = kc.makeApiClient(CoreV1Api);
            await assert.rejects(core.listNamespace(), (e: { code?: number }) => e.code === 429);
            await core.listNamespace();
            assert.equal(arrivals.length, 2);
            const gap = (arrivals[1] ?? 0) - (arrivals[0] ?? 0);
            assert.ok(gap >= 950, `the second request came ${gap} ms after the 429 with Retry-After: 1`);
            await kc.closePool();
        } finally {
            server.close();
        }
    });
});
