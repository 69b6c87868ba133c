import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../../src/observability/logger.ts';
import { createMetrics } from '../../../src/observability/metrics.ts';
import type { ObservabilityServer, ProbeResult } from '../../../src/observability/server.ts';
import { parseBindAddress, startObservabilityServer } from '../../../src/observability/server.ts';
import { servingAddresses } from '../../support/operator.ts';

async function get(
    server: ObservabilityServer,
    route: 'healthz' | 'readyz' | 'metrics',
    path: string = `/${route}`,
    method = 'GET',
): Promise<{ status: number; body: string; contentType: string | null }> {
    const address = server.address(route);
    assert.ok(address, `no listener for ${route}`);
    const res = await fetch(`http://127.0.0.1:${address.port}${path}`, { method });
    return { status: res.status, body: await res.text(), contentType: res.headers.get('content-type') };
}

describe('parseBindAddress', () => {
    it('parses Go-style addresses and treats 0 as disabled', () => {
        assert.deepEqual(parseBindAddress(':8080'), { host: undefined, port: 8080 });
        assert.deepEqual(parseBindAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
        assert.deepEqual(parseBindAddress('[::1]:9443'), { host: '::1', port: 9443 });
        assert.equal(parseBindAddress('0'), undefined);
        assert.equal(parseBindAddress(''), undefined);
        assert.throws(() => parseBindAddress('8080'), /invalid bind address/);
        assert.throws(() => parseBindAddress(':70000'), /out of range/);
    });
});

describe('observability server', () => {
    let server: ObservabilityServer | undefined;
    afterEach(async () => {
        await server?.close();
        server = undefined;
    });

    it('answers /readyz 503 with the reason until the readiness callback says ready', async () => {
        let ready: ProbeResult = { ok: false, reason: 'informers not synced: namespaces' };
        const metrics = createMetrics({ defaultMetrics: false });
        server = await startObservabilityServer({
            registry: metrics.registry,
            isReady: () => ready,
            metricsBindAddress: '127.0.0.1:0',
            healthProbeBindAddress: '127.0.0.1:0',
        });
        const before = await get(server, 'readyz');
        assert.equal(before.status, 503);
        assert.equal(before.body, 'not ready: informers not synced: namespaces\n');
        ready = { ok: true };
        const after = await get(server, 'readyz');
        assert.equal(after.status, 200);
        assert.equal(after.body, 'ok\n');
    });

    it('answers /healthz from the liveness callback, alive by default', async () => {
        const metrics = createMetrics({ defaultMetrics: false });
        server = await startObservabilityServer({
            registry: metrics.registry,
            isReady: () => ({ ok: false }),
            metricsBindAddress: '0',
            healthProbeBindAddress: '127.0.0.1:0',
        });
        const res = await get(server, 'healthz');
        assert.equal(res.status, 200);
        assert.equal((await get(server, 'healthz', '/healthz', 'HEAD')).body, '');
    });

    it('serves the registry on /metrics with its content type, on a separate listener', async () => {
        const metrics = createMetrics({ defaultMetrics: false, controllers: ['namespace'] });
        server = await startObservabilityServer({
            registry: metrics.registry,
            isReady: () => ({ ok: true }),
            metricsBindAddress: '127.0.0.1:0',
            healthProbeBindAddress: '127.0.0.1:0',
        });
        assert.notEqual(server.address('metrics')?.port, server.address('readyz')?.port);
        const res = await get(server, 'metrics');
        assert.equal(res.status, 200);
        assert.equal(res.contentType, metrics.registry.contentType);
        assert.match(
            res.body,
            /controller_runtime_reconcile_total\{controller="namespace",result="success"\} 0/,
        );
        // The probe listener does not expose metrics, and vice versa.
        assert.equal((await get(server, 'readyz', '/metrics')).status, 404);
        assert.equal((await get(server, 'metrics', '/readyz')).status, 404);
    });

    it('logs each bound address, which is how the test harness finds ports the kernel picked', async () => {
        const out = new PassThrough();
        let text = '';
        out.on('data', (c: Buffer) => (text += c.toString('utf8')));
        const metrics = createMetrics({ defaultMetrics: false });
        server = await startObservabilityServer({
            registry: metrics.registry,
            isReady: () => ({ ok: true }),
            metricsBindAddress: '127.0.0.1:0',
            healthProbeBindAddress: '127.0.0.1:0',
            logger: createLogger({ level: 'info', format: 'json', stream: out }),
        });
        await new Promise((r) => setImmediate(r));
        const seen = new Map<string, string>();
        for (const line of text.split('\n')) {
            const s = servingAddresses(line);
            if (s) for (const e of s.endpoints.split(',')) seen.set(e, s.address);
        }
        assert.equal(seen.get('/readyz'), `127.0.0.1:${server.address('readyz')?.port}`);
        assert.equal(seen.get('/healthz'), seen.get('/readyz'));
        assert.equal(seen.get('/metrics'), `127.0.0.1:${server.address('metrics')?.port}`);
        assert.equal(servingAddresses('{"message":"caches synced"}'), undefined);
        assert.equal(servingAddresses('not json'), undefined);
    });

    it('disables an endpoint bound to 0', async () => {
        const metrics = createMetrics({ defaultMetrics: false });
        server = await startObservabilityServer({
            registry: metrics.registry,
            isReady: () => ({ ok: true }),
            metricsBindAddress: '127.0.0.1:0',
            healthProbeBindAddress: '0',
        });
        assert.equal(server.address('readyz'), undefined);
        assert.ok(server.address('metrics'));
    });

    it('rejects other methods and answers 500 when a check throws', async () => {
        const metrics = createMetrics({ defaultMetrics: false });
        server = await startObservabilityServer({
            registry: metrics.registry,
            isReady: () => {
                throw new Error('broken check');
            },
            metricsBindAddress: '0',
            healthProbeBindAddress: '127.0.0.1:0',
        });
        assert.equal((await get(server, 'readyz', '/readyz', 'POST')).status, 405);
        assert.equal((await get(server, 'readyz')).status, 500);
    });

    it('closes gracefully and frees the port', async () => {
        const metrics = createMetrics({ defaultMetrics: false });
        const s = await startObservabilityServer({
            registry: metrics.registry,
            isReady: () => ({ ok: true }),
            metricsBindAddress: '0',
            healthProbeBindAddress: '127.0.0.1:0',
        });
        const port = s.address('healthz')?.port;
        assert.equal((await get(s, 'healthz')).status, 200);
        await s.close();
        await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
    });

    it('fails to start when the port is taken', async () => {
        const metrics = createMetrics({ defaultMetrics: false });
        server = await startObservabilityServer({
            registry: metrics.registry,
            isReady: () => ({ ok: true }),
            metricsBindAddress: '0',
            healthProbeBindAddress: '127.0.0.1:0',
        });
        const port = server.address('healthz')?.port;
        await assert.rejects(
            startObservabilityServer({
                registry: metrics.registry,
                isReady: () => ({ ok: true }),
                metricsBindAddress: '0',
                healthProbeBindAddress: `127.0.0.1:${port}`,
            }),
            /EADDRINUSE/,
        );
    });
});
