/**
 * A TLS-terminating fault proxy between the operator and the real API server: it forwards every request unchanged
 * (the operator's bearer token included; upstream TLS verified against the control plane's CA) unless a
 * programmable rule matches, and then answers 429 with Retry-After, 500 or 503 itself, delays the request, or cuts
 * a watch stream after some milliseconds. Every request is logged with what was injected, so tests assert from the
 * log (retries no sooner than Retry-After, no hot loop) rather than from the operator's own account.
 *
 * Design choice: the proxy's serving certificate is issued by the control plane's CA, so the operator's kubeconfig
 * differs from its ServiceAccount kubeconfig in the server URL only: the operator is configured exactly as against a
 * real API server, nothing in it knows about the proxy.
 */
import { createServer, request, Agent, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

import { issueCert } from '../controlplane/pki.ts';

/** What a matching rule does to a request. */
export type FaultAction =
    | { kind: 'status'; status: 429 | 500 | 503; retryAfterSeconds?: number }
    | { kind: 'delay'; ms: number }
    | { kind: 'dropWatch'; afterMs: number };

export interface FaultRule {
    name: string;
    /** HTTP method(s) to match (upper case); any when absent. */
    methods?: readonly string[];
    /** Matched against the path without the query; any when absent. */
    path?: RegExp;
    /** true: only watch requests; false: only non-watch requests; absent: both. */
    watch?: boolean;
    /** Apply to at most this many matching requests. */
    times?: number;
    /** Apply to each matching request with this probability (default 1), from the proxy's seeded random source. */
    probability?: number;
    action: FaultAction;
}

export interface ProxyLogEntry {
    /** Milliseconds since the Unix epoch when the request arrived. */
    at: number;
    method: string;
    path: string;
    watch: boolean;
    /** Name of the rule that acted on the request, if any. */
    rule?: string;
    action?: FaultAction['kind'];
    /** Status sent to the client (0 when the connection was cut before headers). */
    status: number;
    retryAfterSeconds?: number;
}

interface ActiveRule extends FaultRule {
    applied: number;
}

/** A deterministic random source (mulberry32), so a run's injected faults can be reproduced from its seed. */
function seeded(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

function isWatch(url: URL): boolean {
    const w = url.searchParams.get('watch');
    return w === 'true' || w === '1';
}

export class FaultProxy {
    readonly log: ProxyLogEntry[] = [];
    readonly #upstream: URL;
    readonly #upstreamAgent: Agent;
    readonly #rules: ActiveRule[] = [];
    readonly #random: () => number;
    /** Watch responses being streamed now. */
    readonly #openWatches = new Set<ServerResponse>();
    #server: Server | undefined;
    #url = '';

    constructor(upstream: string, upstreamCA: Buffer, seed = 1) {
        this.#upstream = new URL(upstream);
        this.#upstreamAgent = new Agent({ ca: upstreamCA, keepAlive: true, maxSockets: 256 });
        this.#random = seeded(seed);
    }

    /** Issues the serving certificate from the control plane's CA (in `pkiDir`) and listens on a free port. */
    static async start(opts: { upstream: string; pkiDir: string; seed?: number }): Promise<FaultProxy> {
        const ca = { cert: join(opts.pkiDir, 'ca.crt'), key: join(opts.pkiDir, 'ca.key') };
        const serving = await issueCert(opts.pkiDir, 'fault-proxy', ca, '/CN=fault-proxy', [
            'subjectAltName=IP:127.0.0.1,DNS:localhost',
            'extendedKeyUsage=serverAuth',
            'keyUsage=critical,digitalSignature,keyEncipherment',
        ]);
        const proxy = new FaultProxy(opts.upstream, await readFile(ca.cert), opts.seed);
        const server = createServer(
            { cert: await readFile(serving.cert), key: await readFile(serving.key) },
            (req, res) => proxy.#handle(req, res),
        );
        await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
        const addr = server.address();
        proxy.#url = `https://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
        proxy.#server = server;
        return proxy;
    }

    get url(): string {
        return this.#url;
    }

    /** Adds a rule (checked in insertion order; the first that applies wins) and returns a function removing it. */
    addRule(rule: FaultRule): () => void {
        const active: ActiveRule = { ...rule, applied: 0 };
        this.#rules.push(active);
        return () => {
            const i = this.#rules.indexOf(active);
            if (i >= 0) this.#rules.splice(i, 1);
        };
    }

    clearRules(): void {
        this.#rules.length = 0;
    }

    /** Log entries since `since` (ms epoch). */
    entriesSince(since: number): ProxyLogEntry[] {
        return this.log.filter((e) => e.at >= since);
    }

    /** Copies `kubeconfigPath` (one cluster) with its server pointed at the proxy; returns the new path. */
    async kubeconfigThrough(kubeconfigPath: string, outPath: string): Promise<string> {
        const doc = parse(await readFile(kubeconfigPath, 'utf8')) as {
            clusters: { cluster: { server: string } }[];
        };
        for (const c of doc.clusters) c.cluster.server = this.#url;
        await writeFile(outPath, stringify(doc), { mode: 0o600 });
        return outPath;
    }

    /** Cuts every watch stream open now (as a load balancer or API server restart would); returns how many. */
    cutWatches(): number {
        const n = this.#openWatches.size;
        for (const res of this.#openWatches) res.destroy();
        this.#openWatches.clear();
        return n;
    }

    async stop(): Promise<void> {
        const server = this.#server;
        this.#server = undefined;
        if (!server) return;
        server.closeAllConnections();
        await new Promise<void>((res) => server.close(() => res()));
        this.#upstreamAgent.destroy();
    }

    #match(method: string, path: string, watch: boolean): ActiveRule | undefined {
        for (const r of this.#rules) {
            if (r.methods && !r.methods.includes(method)) continue;
            if (r.path && !r.path.test(path)) continue;
            if (r.watch !== undefined && r.watch !== watch) continue;
            if (r.times !== undefined && r.applied >= r.times) continue;
            if (r.probability !== undefined && this.#random() >= r.probability) continue;
            r.applied++;
            return r;
        }
        return undefined;
    }

    #handle(req: IncomingMessage, res: ServerResponse): void {
        const url = new URL(req.url ?? '/', this.#upstream);
        const method = req.method ?? 'GET';
        const watch = isWatch(url);
        const entry: ProxyLogEntry = { at: Date.now(), method, path: url.pathname, watch, status: 0 };
        this.log.push(entry);
        const rule = this.#match(method, url.pathname, watch);
        if (rule) {
            entry.rule = rule.name;
            entry.action = rule.action.kind;
        }
        const action = rule?.action;
        if (action?.kind === 'status') {
            req.resume();
            const headers: Record<string, string> = { 'content-type': 'application/json' };
            if (action.retryAfterSeconds !== undefined) {
                headers['retry-after'] = String(action.retryAfterSeconds);
                entry.retryAfterSeconds = action.retryAfterSeconds;
            }
            entry.status = action.status;
            const reason = action.status === 429 ? 'TooManyRequests' : 'InternalError';
            res.writeHead(action.status, headers).end(
                JSON.stringify({
                    kind: 'Status',
                    apiVersion: 'v1',
                    status: 'Failure',
                    message: `injected by the fault proxy (${rule?.name})`,
                    reason,
                    code: action.status,
                }),
            );
            return;
        }
        const forward = () => this.#forward(req, res, url, entry, action);
        if (action?.kind === 'delay') setTimeout(forward, action.ms);
        else forward();
    }

    #forward(
        req: IncomingMessage,
        res: ServerResponse,
        url: URL,
        entry: ProxyLogEntry,
        action: FaultAction | undefined,
    ): void {
        const headers = { ...req.headers, host: this.#upstream.host };
        const up = request(
            {
                protocol: 'https:',
                hostname: this.#upstream.hostname,
                port: this.#upstream.port,
                method: req.method,
                path: url.pathname + url.search,
                headers,
                agent: this.#upstreamAgent,
            },
            (upRes) => {
                entry.status = upRes.statusCode ?? 0;
                res.writeHead(upRes.statusCode ?? 502, upRes.headers);
                upRes.pipe(res);
                // The API server went away mid-response (a restart, a cut stream): the client must see the cut too,
                // not a response that never ends.
                upRes.on('close', () => {
                    if (!upRes.complete) res.destroy();
                });
                if (entry.watch) {
                    this.#openWatches.add(res);
                    res.on('close', () => this.#openWatches.delete(res));
                }
                if (action?.kind === 'dropWatch') {
                    setTimeout(() => {
                        upRes.destroy();
                        res.destroy();
                    }, action.afterMs);
                }
            },
        );
        up.on('error', () => {
            if (!res.headersSent) res.writeHead(502).end();
            else res.destroy();
        });
        // The client went away (a watch it stopped, a cut connection): stop the upstream request too.
        res.on('close', () => {
            if (!res.writableFinished) up.destroy();
        });
        req.pipe(up);
    }
}
