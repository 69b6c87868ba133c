import assert from 'node:assert/strict';
import { createSecureServer } from 'node:http2';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { AddressInfo } from 'node:net';

import type { RequestContext } from '@kubernetes/client-node';

import { selfSignedServingCert } from '../../../src/observability/serving-cert.ts';
import { errorMessage, httpStatus } from '../../../src/runtime/errors.ts';
import { PooledKubeConfig } from '../../../src/runtime/kubeconfig.ts';
import { APPLY_PATCH, Requester } from '../../../src/runtime/request.ts';
import { RetryAfterGate } from '../../../src/runtime/retry-after.ts';
import { FakeClock } from '../../support/fake-clock.ts';

interface Seen {
    method: string;
    url: string;
    headers: Record<string, string | string[] | undefined>;
    body: string;
}

/** A TLS server offering HTTP/2 (like the API server); `answer` decides each response. */
async function server(answer: (req: Seen, res: Http2ServerResponse) => void) {
    const { cert, key } = await selfSignedServingCert(['localhost']);
    const seen: Seen[] = [];
    const s = createSecureServer({ cert, key, allowHTTP1: true }, (req: Http2ServerRequest, res) => {
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (c: string) => (body += c));
        req.on('end', () => {
            const r = { method: req.method, url: req.url, headers: req.headers, body };
            seen.push(r);
            answer(r, res);
        });
    });
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const { port } = s.address() as AddressInfo;
    return {
        seen,
        url: `https://127.0.0.1:${port}`,
        close: () => new Promise<void>((r) => s.close(() => r())),
    };
}

/** Counts credential look-ups, like a token read from a file would be. */
class CountingKubeConfig extends PooledKubeConfig {
    lookups = 0;
    token = 't1';
    override async applySecurityAuthentication(ctx: RequestContext): Promise<void> {
        this.lookups++;
        this.users = [{ name: 'u', token: this.token }];
        await super.applySecurityAuthentication(ctx);
    }
}

function kubeconfig(server: string, prefix = ''): CountingKubeConfig {
    const kc = new CountingKubeConfig();
    kc.loadFromOptions({
        clusters: [{ name: 'c', server: `${server}${prefix}`, skipTLSVerify: true }],
        users: [{ name: 'u', token: 't1' }],
        contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
        currentContext: 'x',
    });
    return kc;
}

const json = (
    res: Http2ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
};

describe('Requester (the lean request path)', () => {
    it('sends a forced server-side apply with the credentials and returns the stored object', async () => {
        const srv = await server((_r, res) =>
            json(res, 200, { kind: 'NetworkPolicy', metadata: { name: 'a', resourceVersion: '7' } }),
        );
        const kc = kubeconfig(srv.url, '/prefix/');
        try {
            const r = new Requester(kc);
            const body = {
                apiVersion: 'networking.k8s.io/v1',
                kind: 'NetworkPolicy',
                metadata: { name: 'a' },
            };
            const stored = await r.apply<{ metadata: { resourceVersion: string } }>(
                '/apis/networking.k8s.io/v1/namespaces/ns/networkpolicies/a',
                body,
                'isolation-operator',
            );
            assert.equal(stored.metadata.resourceVersion, '7');
            const [req] = srv.seen;
            assert.equal(req?.method, 'PATCH');
            assert.equal(
                req?.url,
                '/prefix/apis/networking.k8s.io/v1/namespaces/ns/networkpolicies/a?fieldManager=isolation-operator&force=true',
                'the server URL path prefix is kept',
            );
            assert.equal(req?.headers['content-type'], APPLY_PATCH);
            assert.equal(req?.headers.authorization, 'Bearer t1');
            assert.deepEqual(JSON.parse(req?.body ?? ''), body, 'the body goes as is');
        } finally {
            await kc.closePool();
            await srv.close();
        }
    });

    it('lists with a GET: no body, no content type, the query encoded, wire JSON back', async () => {
        const srv = await server((_r, res) =>
            json(res, 200, {
                kind: 'NamespaceList',
                metadata: { continue: 'next' },
                items: [{ kind: 'Namespace' }],
            }),
        );
        const kc = kubeconfig(srv.url, '/prefix');
        try {
            const r = new Requester(kc);
            const page = await r.get<{ metadata: { continue: string }; items: unknown[] }>(
                '/api/v1/namespaces',
                {
                    labelSelector: 'env in (a,b),!legacy',
                    limit: 500,
                    continue: 'eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ==',
                    fieldSelector: undefined,
                },
            );
            assert.equal(page.metadata.continue, 'next', 'the wire key, not a model name');
            assert.equal(page.items.length, 1);
            const [req] = srv.seen;
            assert.equal(req?.method, 'GET');
            assert.equal(req?.body, '');
            assert.equal(req?.headers['content-type'], undefined);
            assert.equal(req?.headers.authorization, 'Bearer t1');
            const url = new URL(req?.url ?? '', 'https://x');
            assert.equal(url.pathname, '/prefix/api/v1/namespaces');
            assert.deepEqual(Object.fromEntries(url.searchParams), {
                labelSelector: 'env in (a,b),!legacy',
                limit: '500',
                continue: 'eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ==',
            });
        } finally {
            await kc.closePool();
            await srv.close();
        }
    });

    it('throws an error errors.ts reads (status, Status message), and feeds Retry-After to the gate', async () => {
        const srv = await server((r, res) =>
            r.url.includes('/busy')
                ? json(res, 429, { kind: 'Status', message: 'too many requests' }, { 'retry-after': '7' })
                : json(res, 409, { kind: 'Status', message: 'conflict on spec' }),
        );
        const kc = kubeconfig(srv.url);
        const clock = new FakeClock();
        const gate = new RetryAfterGate({ clock });
        try {
            const r = new Requester(kc, { retryAfter: gate });
            const conflict = await r.apply('/api/v1/namespaces/a', {}, 'm').catch((e: unknown) => e);
            assert.equal(httpStatus(conflict), 409);
            assert.equal(errorMessage(conflict), 'conflict on spec');
            assert.equal(gate.notBefore(), 0, 'a 409 does not close the gate');
            const busy = await r.apply('/api/v1/namespaces/busy', {}, 'm').catch((e: unknown) => e);
            assert.equal(httpStatus(busy), 429);
            assert.equal(gate.notBefore(), clock.now() + 7000, 'the server asked for 7 s');
        } finally {
            await kc.closePool();
            await srv.close();
        }
    });

    it('reuses credentials for authRefreshMs and looks them up again at once after a 401', async () => {
        let deny = false;
        const srv = await server((_r, res) =>
            deny ? json(res, 401, { kind: 'Status' }) : json(res, 200, {}),
        );
        const kc = kubeconfig(srv.url);
        const clock = new FakeClock();
        try {
            const r = new Requester(kc, { authRefreshMs: 10_000, clock });
            await r.apply('/api/v1/namespaces/a', {}, 'm');
            await r.apply('/api/v1/namespaces/a', {}, 'm');
            assert.equal(kc.lookups, 1, 'cached within the refresh period');
            clock.advance(10_001);
            await r.apply('/api/v1/namespaces/a', {}, 'm');
            assert.equal(kc.lookups, 2, 'looked up again after it');
            deny = true;
            kc.token = 't2';
            await assert.rejects(r.apply('/api/v1/namespaces/a', {}, 'm'), (e) => httpStatus(e) === 401);
            deny = false;
            await r.apply('/api/v1/namespaces/a', {}, 'm');
            assert.equal(kc.lookups, 3, 'a 401 drops the cached credentials');
            assert.equal(srv.seen.at(-1)?.headers.authorization, 'Bearer t2', 'the new token is sent');
        } finally {
            await kc.closePool();
            await srv.close();
        }
    });
});
