/**
 * The metrics endpoint as deployed: the real operator process under the ServiceAccount and RBAC of config/rbac,
 * serving /metrics over HTTPS (self-signed) and asking the API server about every scrape (TokenReview, then a
 * SubjectAccessReview for `get` on the non-resource URL /metrics). Scrapers are ServiceAccounts: one bound to the
 * shipped ClusterRole isolation-operator-metrics-reader, one without it.
 */
import assert from 'node:assert/strict';
import { request } from 'node:https';

import { byUser, readAuditSettled } from '../support/audit.ts';
import {
    installOperatorRbac,
    OPERATOR_USER,
    startOperatorProcess,
    type OperatorProcess,
} from '../support/operator.ts';
import { testEnv, uniqueName } from './env.ts';

function scrape(url: string, token?: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const req = request(
            url,
            { rejectUnauthorized: false, headers: token ? { authorization: `Bearer ${token}` } : {} },
            (res) => {
                let body = '';
                res.on('data', (d: Buffer) => (body += d.toString()));
                res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
            },
        );
        req.on('error', reject);
        req.end();
    });
}

async function serviceAccountToken(namespace: string, name: string): Promise<string> {
    const env = testEnv();
    const created = await env.kubectl(['create', 'serviceaccount', name, '-n', namespace]);
    assert.equal(created.code, 0, created.stderr);
    const token = await env.kubectl(['create', 'token', name, '-n', namespace, '--duration=1h']);
    assert.equal(token.code, 0, token.stderr);
    return token.stdout.trim();
}

describe('metrics endpoint: HTTPS with TokenReview and SubjectAccessReview (config/rbac)', function () {
    let op: OperatorProcess | undefined;
    const since = new Date(Date.now() - 1000);

    before(async function () {
        this.timeout(120_000);
        const kubeconfig = await installOperatorRbac(testEnv().controlPlane);
        op = await startOperatorProcess(testEnv().controlPlane, {
            kubeconfig,
            name: 'metrics-auth-operator',
            secureMetrics: true,
        });
    });

    after(async function () {
        this.timeout(60_000);
        await op?.stop();
    });

    it('refuses an anonymous scrape (401), an unauthorised one (403), and serves a metrics-reader (200)', async function () {
        this.timeout(60_000);
        const env = testEnv();
        if (!op) throw new Error('operator not started');
        assert.match(op.metricsUrl, /^https:/);
        const ns = await env.createNamespace('scrapers');
        const reader = uniqueName('prometheus');
        const readerToken = await serviceAccountToken(ns, reader);
        const otherToken = await serviceAccountToken(ns, 'not-a-scraper');
        const binding = await env.kubectl([
            'create', 'clusterrolebinding', `${ns}-metrics-reader`,
            '--clusterrole=isolation-operator-metrics-reader', `--serviceaccount=${ns}:${reader}`,
        ]); // prettier-ignore
        assert.equal(binding.code, 0, binding.stderr);

        const anonymous = await scrape(op.metricsUrl);
        assert.equal(anonymous.status, 401);
        assert.doesNotMatch(anonymous.body, /controller_runtime/);
        assert.equal((await scrape(op.metricsUrl, 'not-a-token')).status, 401);
        const forbidden = await scrape(op.metricsUrl, otherToken);
        assert.equal(forbidden.status, 403);
        assert.doesNotMatch(forbidden.body, /controller_runtime/);
        const ok = await scrape(op.metricsUrl, readerToken);
        assert.equal(ok.status, 200);
        assert.match(ok.body, /controller_runtime_reconcile_total/);
        assert.match(ok.body, /isolation_operator_informer_relists_total/);

        // Probes stay plain HTTP without credentials (the kubelet's way).
        assert.equal((await fetch(`${op.healthUrl}/readyz`)).status, 200);

        // The reviews ran as the operator, allowed by config/rbac.
        const reviews = byUser(
            await readAuditSettled((a) => env.kubectl(a), env.auditLogPath, since),
            OPERATOR_USER,
        ).filter(
            (e) =>
                e.objectRef?.resource === 'tokenreviews' || e.objectRef?.resource === 'subjectaccessreviews',
        );
        assert.ok(
            reviews.some((e) => e.objectRef?.resource === 'tokenreviews' && e.responseStatus?.code === 201),
        );
        assert.ok(
            reviews.some(
                (e) => e.objectRef?.resource === 'subjectaccessreviews' && e.responseStatus?.code === 201,
            ),
        );
        assert.deepEqual(
            reviews.filter((e) => e.responseStatus?.code === 403),
            [],
        );
    });
});
