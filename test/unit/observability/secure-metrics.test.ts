import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMetrics } from '../../../src/observability/metrics.ts';
import type { MetricsAuthorizer, ObservabilityServer } from '../../../src/observability/server.ts';
import { startObservabilityServer } from '../../../src/observability/server.ts';
import {
    readServingCert,
    selfSignedServingCert,
    type ServingCert,
    watchServingCert,
} from '../../../src/observability/serving-cert.ts';
import type { TLSSocket } from 'node:tls';

/** The SHA-256 fingerprint of the certificate a fresh TLS connection to `port` is served. */
function servedFingerprint(port: number): Promise<string> {
    return new Promise((resolve, reject) => {
        const req = request(
            { host: '127.0.0.1', port, path: '/metrics', rejectUnauthorized: false, agent: false },
            (res) => {
                resolve((res.socket as TLSSocket).getPeerCertificate().fingerprint256);
                res.resume();
            },
        );
        req.on('error', reject);
        req.end();
    });
}

/** GET over HTTPS without verifying the (self-signed) certificate. */
function httpsGet(
    port: number,
    path: string,
    token?: string,
): Promise<{ status: number; body: string; authenticate?: string }> {
    return new Promise((resolve, reject) => {
        const req = request(
            {
                host: '127.0.0.1',
                port,
                path,
                rejectUnauthorized: false,
                headers: token ? { authorization: `Bearer ${token}` } : {},
            },
            (res) => {
                let body = '';
                res.on('data', (d: Buffer) => (body += d.toString()));
                res.on('end', () => {
                    const authenticate = res.headers['www-authenticate'];
                    resolve({ status: res.statusCode ?? 0, body, ...(authenticate ? { authenticate } : {}) });
                });
            },
        );
        req.on('error', reject);
        req.end();
    });
}

/** Tokens: "reader" may read, "other" is a user without the right, anything else is not authenticated. */
const authorizer: MetricsAuthorizer = {
    authorize: (header) => {
        if (header === 'Bearer reader') return Promise.resolve({ allowed: true, user: 'reader' });
        if (header === 'Bearer other')
            return Promise.resolve({ allowed: false, status: 403, reason: 'other may not get /metrics' });
        return Promise.resolve({ allowed: false, status: 401, reason: 'no' });
    },
};

describe('secure metrics endpoint', () => {
    let server: ObservabilityServer | undefined;
    afterEach(async () => {
        await server?.close();
        server = undefined;
    });

    it('serves /metrics over HTTPS: 401 without a valid token, 403 without the right, 200 with it; probes stay HTTP', async () => {
        const metrics = createMetrics({ defaultMetrics: false });
        server = await startObservabilityServer({
            registry: metrics.registry,
            isReady: () => ({ ok: true }),
            metricsBindAddress: '127.0.0.1:0',
            healthProbeBindAddress: '127.0.0.1:0',
            metricsTls: await selfSignedServingCert(),
            metricsAuthorizer: authorizer,
        });
        const port = server.address('metrics')?.port ?? 0;
        const anonymous = await httpsGet(port, '/metrics');
        assert.equal(anonymous.status, 401);
        assert.match(anonymous.authenticate ?? '', /^Bearer/);
        assert.equal((await httpsGet(port, '/metrics', 'forged')).status, 401);
        const forbidden = await httpsGet(port, '/metrics', 'other');
        assert.equal(forbidden.status, 403);
        assert.doesNotMatch(forbidden.body, /controller_runtime/);
        const ok = await httpsGet(port, '/metrics', 'reader');
        assert.equal(ok.status, 200);
        assert.match(ok.body, /controller_runtime_reconcile_total/);
        // Plain HTTP to the metrics port is not served.
        await assert.rejects(fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()));
        const probe = await fetch(`http://127.0.0.1:${server.address('readyz')?.port ?? 0}/readyz`);
        assert.equal(probe.status, 200);
    });

    it('refuses to share one address between HTTPS metrics and plain probes', async () => {
        const metrics = createMetrics({ defaultMetrics: false });
        await assert.rejects(
            startObservabilityServer({
                registry: metrics.registry,
                isReady: () => ({ ok: true }),
                metricsBindAddress: '127.0.0.1:18443',
                healthProbeBindAddress: '127.0.0.1:18443',
                metricsTls: await selfSignedServingCert(),
            }),
            /bind address other than the probes/,
        );
    });

    it('makes a self-signed serverAuth certificate for localhost, or reads tls.crt/tls.key from a directory', async () => {
        const made = await selfSignedServingCert([
            'localhost',
            'isolation-operator-metrics.isolation-system.svc',
        ]);
        const x = new X509Certificate(made.cert);
        assert.equal(made.source, 'self-signed');
        assert.match(x.subjectAltName ?? '', /DNS:localhost/);
        assert.match(x.subjectAltName ?? '', /DNS:isolation-operator-metrics\.isolation-system\.svc/);
        assert.ok(x.checkPrivateKey((await import('node:crypto')).createPrivateKey(made.key)));
        assert.ok(new Date(x.validTo).getTime() > Date.now() + 300 * 24 * 3600 * 1000);
        const dir = await mkdtemp(join(tmpdir(), 'metrics-cert-'));
        try {
            await writeFile(join(dir, 'tls.crt'), made.cert);
            await writeFile(join(dir, 'tls.key'), made.key);
            const read = await readServingCert(dir);
            assert.equal(read.source, 'files');
            assert.equal(read.cert, made.cert);
        } finally {
            await rm(dir, { recursive: true, force: true });
        }
    });

    it('serves a rotated certificate from the cert directory without a restart', async () => {
        const first = await selfSignedServingCert(['first.example']);
        const second = await selfSignedServingCert(['second.example']);
        const dir = await mkdtemp(join(tmpdir(), 'metrics-cert-'));
        await writeFile(join(dir, 'tls.crt'), first.cert);
        await writeFile(join(dir, 'tls.key'), first.key);
        const metrics = createMetrics({ defaultMetrics: false });
        const initial = await readServingCert(dir);
        const s = await startObservabilityServer({
            registry: metrics.registry,
            isReady: () => ({ ok: true }),
            metricsBindAddress: '127.0.0.1:0',
            healthProbeBindAddress: '0',
            metricsTls: initial,
        });
        server = s;
        let changed: (c: ServingCert) => void = () => undefined;
        const reloaded = new Promise<ServingCert>((r) => (changed = r));
        const watch = watchServingCert(
            dir,
            initial,
            (c) => {
                s.setMetricsTls(c);
                changed(c);
            },
            { intervalMs: 20 },
        );
        try {
            const port = s.address('metrics')?.port ?? 0;
            const fp = (pem: string) => new X509Certificate(pem).fingerprint256;
            assert.equal(await servedFingerprint(port), fp(first.cert));
            await writeFile(join(dir, 'tls.key'), second.key);
            await writeFile(join(dir, 'tls.crt'), second.cert);
            assert.equal((await reloaded).cert, second.cert);
            assert.equal(await servedFingerprint(port), fp(second.cert));
        } finally {
            watch.stop();
            await rm(dir, { recursive: true, force: true });
        }
    });
});
