import assert from 'node:assert/strict';
import { createSecureServer } from 'node:http2';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { AddressInfo } from 'node:net';

import { selfSignedServingCert } from '../../../src/observability/serving-cert.ts';
import { httpStatus } from '../../../src/runtime/errors.ts';
import { PooledKubeConfig } from '../../../src/runtime/kubeconfig.ts';
import { StreamWatch } from '../../../src/runtime/watch-stream.ts';
import { FakeClock } from '../../support/fake-clock.ts';

/** A TLS server offering HTTP/2 like the API server; `handle` writes each watch response. */
async function server(handle: (req: Http2ServerRequest, res: Http2ServerResponse) => void) {
    const { cert, key } = await selfSignedServingCert(['localhost']);
    const s = createSecureServer({ cert, key, allowHTTP1: true }, handle);
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const { port } = s.address() as AddressInfo;
    const kc = new PooledKubeConfig();
    kc.loadFromOptions({
        clusters: [{ name: 'c', server: `https://127.0.0.1:${port}`, skipTLSVerify: true }],
        users: [{ name: 'u', token: 'tok' }],
        contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
        currentContext: 'x',
    });
    return {
        kc,
        close: async () => {
            await kc.closePool();
            await new Promise<void>((r) => s.close(() => r()));
        },
    };
}

function ended(): { done: (err: unknown) => void; result: Promise<unknown> } {
    let done!: (err: unknown) => void;
    const result = new Promise<unknown>((resolve) => (done = resolve));
    return { done, result };
}

describe('StreamWatch', () => {
    it('asks for watch=true with the query and credentials, and splits events across chunk boundaries', async () => {
        let url = '';
        let auth: string | undefined;
        const srv = await server((req, res) => {
            url = req.url;
            auth = req.headers.authorization;
            res.writeHead(200, { 'content-type': 'application/json' });
            const a = JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a' } } });
            const b = JSON.stringify({ type: 'MODIFIED', object: { metadata: { name: 'b' } } });
            // One event split in the middle, one garbage line, then a clean end.
            res.write(a.slice(0, 10));
            setTimeout(() => {
                res.write(`${a.slice(10)}\nnot json\n${b}\n`);
                res.end();
            }, 20);
        });
        try {
            const events: string[] = [];
            const { done, result } = ended();
            await new StreamWatch(srv.kc).watch(
                '/api/v1/namespaces',
                { resourceVersion: '5', allowWatchBookmarks: true, labelSelector: undefined },
                (phase, obj) =>
                    events.push(`${phase} ${(obj as { metadata: { name: string } }).metadata.name}`),
                done,
            );
            assert.equal(await result, null, 'a clean end');
            assert.deepEqual(events, ['ADDED a', 'MODIFIED b']);
            const u = new URL(url, 'https://x');
            assert.equal(u.pathname, '/api/v1/namespaces');
            assert.equal(u.searchParams.get('watch'), 'true');
            assert.equal(u.searchParams.get('resourceVersion'), '5');
            assert.equal(u.searchParams.get('allowWatchBookmarks'), 'true');
            assert.equal(u.searchParams.has('labelSelector'), false, 'undefined values are left out');
            assert.equal(auth, 'Bearer tok');
        } finally {
            await srv.close();
        }
    });

    it('ends with the error an event handler throws instead of skipping the event like a bad line', async () => {
        const srv = await server((_req, res) => {
            res.writeHead(200, { 'content-type': 'application/json' });
            const ev = (name: string) => JSON.stringify({ type: 'ADDED', object: { metadata: { name } } });
            res.write(`${ev('a')}\n${ev('boom')}\n${ev('c')}\n`);
            // left open: only the handler's error can end this watch
        });
        try {
            const events: string[] = [];
            const { done, result } = ended();
            await new StreamWatch(srv.kc).watch(
                '/api/v1/namespaces',
                {},
                (_phase, obj) => {
                    const name = (obj as { metadata: { name: string } }).metadata.name;
                    if (name === 'boom') throw new Error('transform failed on boom');
                    events.push(name);
                },
                done,
            );
            const err = await result;
            assert.ok(err instanceof Error);
            assert.equal(err.message, 'transform failed on boom');
            assert.deepEqual(events, ['a'], 'nothing after the failed event is delivered');
        } finally {
            await srv.close();
        }
    });

    it('ends with an error carrying the HTTP status when the watch is refused', async () => {
        const srv = await server((_req, res) => {
            res.writeHead(410, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ kind: 'Status', code: 410 }));
        });
        try {
            const { done, result } = ended();
            await new StreamWatch(srv.kc).watch('/api/v1/namespaces', {}, () => undefined, done);
            assert.equal(httpStatus(await result), 410);
        } finally {
            await srv.close();
        }
    });

    it('ends with a TimeoutError after the inactivity period, but not while data keeps coming', async () => {
        let responses: Http2ServerResponse[] = [];
        const srv = await server((_req, res) => {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.write('\n');
            responses.push(res);
        });
        const clock = new FakeClock();
        try {
            const { done, result } = ended();
            let events = 0;
            const request = await new StreamWatch(srv.kc, 1000, clock).watch('/x', {}, () => events++, done);
            // Wait for the server to have the request (a positive barrier, not a sleep).
            while (responses.length === 0) await new Promise((r) => setImmediate(r));
            const bookmark = JSON.stringify({ type: 'BOOKMARK', object: { metadata: {} } });
            clock.advance(800);
            responses[0]!.write(`${bookmark}\n`);
            while (events === 0) await new Promise((r) => setImmediate(r));
            // The fake clock runs due timers inside advance(), and the timeout aborts synchronously.
            clock.advance(800);
            assert.equal(request.signal.aborted, false, 'data 800 ms ago: still alive after 1.6 s');
            clock.advance(300);
            assert.equal(request.signal.aborted, true, 'silent for 1.1 s: aborted');
            const err = await result;
            assert.equal((err as Error).name, 'TimeoutError');
        } finally {
            for (const r of responses) r.end();
            responses = [];
            await srv.close();
        }
    });
});
