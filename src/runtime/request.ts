/**
 * The lean request path for the operator's hot writes (server-side apply of generated objects and namespace labels):
 * one `Dispatcher.request` on the shared connection pool, instead of client-node's generated request stack on
 * undici's WHATWG `fetch`.
 *
 * Why: in a 3,000-namespace converge about 40 % of the operator's busy CPU was the request path — client-node's
 * request context, middleware promise chains, `fetch`'s Request/Response objects and web streams — for requests
 * whose body the operator already has as JSON and whose answer it only parses (docs/benchmarks.md, "CPU profile at
 * 3,000 namespaces"). undici's `request` API sends the same bytes over the same pool (HTTP/2, ADR 0019) with a
 * fraction of that work.
 *
 * What is kept from client-node, so the two paths cannot drift apart:
 * - credentials and TLS: `KubeConfig.applySecurityAuthentication` fills the headers (bearer token, exec plugins,
 *   token files) and hands out the pooled dispatcher; the result is reused for `authRefreshMs` (default 10 s) and
 *   dropped at once on a 401, so a rotated token is picked up as quickly as client-node would (its file-token
 *   authenticator re-reads at most once a minute);
 * - errors: a non-2xx answer throws client-node's `ApiException` (code, parsed Status body, headers), which
 *   src/runtime/errors.ts already reads;
 * - `Retry-After`: the same per-KubeConfig gate (src/runtime/retry-after.ts) is waited at and fed each answer.
 */
import { ApiException, HttpMethod, RequestContext } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { getGlobalDispatcher } from 'undici';
import type { Dispatcher } from 'undici';

import { type Clock, realClock } from './clock.ts';
import type { RetryAfterGate } from './retry-after.ts';

export interface RequesterOptions {
    /** The gate of the KubeConfig's other clients (PooledKubeConfig.retryAfter), so throttling is client-wide. */
    retryAfter?: RetryAfterGate;
    clock?: Clock;
    /** How long one credential/dispatcher lookup is reused (default 10 s). */
    authRefreshMs?: number;
}

interface Auth {
    headers: Record<string, string>;
    dispatcher: Dispatcher;
    at: number;
}

/** Content type of a server-side apply body (JSON is YAML). */
export const APPLY_PATCH = 'application/apply-patch+yaml';

export class Requester {
    readonly #kc: KubeConfig;
    readonly #gate: RetryAfterGate | undefined;
    readonly #clock: Clock;
    readonly #refreshMs: number;
    #auth: Promise<Auth> | undefined;

    constructor(kc: KubeConfig, opts: RequesterOptions = {}) {
        this.#kc = kc;
        this.#gate = opts.retryAfter;
        this.#clock = opts.clock ?? realClock;
        this.#refreshMs = opts.authRefreshMs ?? 10_000;
    }

    /** The current cluster's server, parsed once per server string: its origin and path prefix (no trailing '/'). */
    #server: { raw: string; origin: string; prefix: string } | undefined;
    #target(): { origin: string; prefix: string } {
        const raw = this.#kc.getCurrentCluster()?.server;
        if (!raw) throw new Error('no current cluster in the kubeconfig');
        if (this.#server?.raw !== raw) {
            const url = new URL(raw);
            this.#server = { raw, origin: url.origin, prefix: url.pathname.replace(/\/+$/, '') };
        }
        return this.#server;
    }

    /** Request headers per credentials and content type, built once (credentials are refreshed every 10 s). */
    #headers = new WeakMap<Auth, Map<string, Record<string, string>>>();
    #headersFor(auth: Auth, contentType: string): Record<string, string> {
        let byType = this.#headers.get(auth);
        if (byType === undefined)
            this.#headers.set(auth, (byType = new Map<string, Record<string, string>>()));
        let headers = byType.get(contentType);
        if (headers === undefined) {
            headers =
                contentType === ''
                    ? { ...auth.headers, accept: 'application/json' }
                    : { ...auth.headers, 'content-type': contentType, accept: 'application/json' };
            byType.set(contentType, headers);
        }
        return headers;
    }

    async #credentials(url: string): Promise<Auth> {
        const cached = this.#auth;
        if (cached) {
            const a = await cached.catch(() => undefined);
            if (a && this.#clock.now() - a.at < this.#refreshMs) return a;
            if (this.#auth !== cached) return this.#credentials(url);
        }
        const next = (async () => {
            const ctx = new RequestContext(url, HttpMethod.GET);
            await this.#kc.applySecurityAuthentication(ctx);
            const dispatcher = ctx.getDispatcher() ?? getGlobalDispatcher();
            return { headers: { ...ctx.getHeaders() }, dispatcher, at: this.#clock.now() };
        })();
        this.#auth = next;
        return next;
    }

    /**
     * Sends one request with a JSON body and returns the parsed JSON answer. `path` starts with '/', query values
     * are encoded here. Throws `ApiException` for a non-2xx answer.
     */
    async request<T>(
        method: 'GET' | 'PATCH' | 'POST' | 'PUT',
        path: string,
        query: Record<string, string | boolean | number | undefined>,
        body: unknown,
        contentType: string,
    ): Promise<T> {
        await this.#gate?.wait();
        // The path and query are put together by hand: a URL and a URLSearchParams object per request were a
        // measurable share of the request path's CPU at 70,000 writes (docs/benchmarks.md).
        let search = '';
        for (const k in query) {
            const v = query[k];
            if (v !== undefined)
                search += `${search === '' ? '?' : '&'}${k}=${encodeURIComponent(String(v))}`;
        }
        const { origin, prefix } = this.#target();
        const fullPath = `${prefix}${path}${search}`;
        const auth = await this.#credentials(`${origin}${fullPath}`);
        const res = await auth.dispatcher.request({
            origin,
            path: fullPath,
            method,
            headers: this.#headersFor(auth, method === 'GET' ? '' : contentType),
            body: method === 'GET' ? null : JSON.stringify(body),
        });
        const text = await res.body.text();
        const retryAfter = res.headers['retry-after'];
        this.#gate?.observe(
            res.statusCode,
            Array.isArray(retryAfter) ? retryAfter.join(', ') : retryAfter,
            `${origin}${fullPath}`,
        );
        if (res.statusCode === 401) this.#auth = undefined;
        let parsed: unknown = text;
        try {
            parsed = text ? JSON.parse(text) : undefined;
        } catch {
            // not JSON: keep the text
        }
        if (res.statusCode < 200 || res.statusCode > 299) {
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers)) {
                if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
            }
            throw new ApiException(
                res.statusCode,
                `HTTP-Code: ${res.statusCode}\nMessage: ${method} ${prefix}${path} failed\nBody: ${text}`,
                parsed,
                headers,
            );
        }
        return parsed as T;
    }

    /**
     * GET of `path` as wire JSON (e.g. one page of a list). Not client-node's typed calls: those deserialise into
     * models (a second copy of every object, Dates for timestamps, `_from` for `from`) that the watch, which
     * delivers wire JSON, never produces.
     */
    get<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
        return this.request<T>('GET', path, query, undefined, '');
    }

    /** Server-side apply of `body` at `path` (forced, `fieldManager`); returns the object as stored. */
    apply<T>(path: string, body: unknown, fieldManager: string): Promise<T> {
        return this.request<T>('PATCH', path, { fieldManager, force: true }, body, APPLY_PATCH);
    }
}
