/**
 * The operator's HTTP endpoints: `/healthz` and `/readyz` (kubelet probes) and `/metrics` (Prometheus).
 *
 * Design: plain `node:http`, no framework — three read-only routes do not justify a dependency. Like
 * controller-runtime, probes and metrics listen on separate bind addresses (`:8081` and `:8080` by default, `0`
 * disables one), so a NetworkPolicy can open the metrics port to monitoring namespaces only; when both addresses
 * are equal one listener serves all routes. Readiness and liveness are callbacks supplied by the caller (e.g. "every
 * informer has synced"), which keeps this module free of any dependency on the runtime or controller layers.
 *
 * Metrics are sensitive (object counts, controller names, error rates) and, like controller-runtime's secure metrics
 * server, are served over HTTPS with every request authenticated and authorised when `metricsTls` and
 * `metricsAuthorizer` are given: no bearer token or a token the API server rejects answers 401, a user without
 * `get` on the non-resource URL `/metrics` answers 403. Probes stay plain HTTP on their own port (the kubelet
 * probes without credentials), so HTTPS metrics need a bind address of their own.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.ts';
import { errorFields } from './logger.ts';

/** The answer of a probe check: healthy/ready, or not with a short reason shown in the 503 body. */
export interface ProbeResult {
    ok: boolean;
    reason?: string;
}

export type ProbeCheck = () => ProbeResult | Promise<ProbeResult>;

/** Who may read `/metrics`; decided per request from its `Authorization` header (see runtime/delegated-auth.ts). */
export type MetricsAccessDecision =
    { allowed: true; user: string } | { allowed: false; status: 401 | 403; reason: string };

export interface MetricsAuthorizer {
    authorize(authorization: string | undefined): Promise<MetricsAccessDecision>;
}

export interface ObservabilityServerOptions {
    /** `host:port` or `:port` for `/metrics`; `0` (or empty) disables it. Default `:8080`. */
    metricsBindAddress?: string;
    /** `host:port` or `:port` for `/healthz` and `/readyz`; `0` (or empty) disables them. Default `:8081`. */
    healthProbeBindAddress?: string;
    /** Serve `/metrics` over HTTPS with this certificate (PEM); default plain HTTP. */
    metricsTls?: { cert: string; key: string };
    /** Authenticate and authorise every `/metrics` request; default open to anyone who reaches the port. */
    metricsAuthorizer?: MetricsAuthorizer;
    /** The registry served on `/metrics`. */
    registry: Registry;
    /** Readiness; `/readyz` answers 503 with the reason until it returns `{ ok: true }`. */
    isReady: ProbeCheck;
    /** Liveness; default: always alive while the process answers HTTP (the event loop is not stuck). */
    isHealthy?: ProbeCheck;
    logger?: Logger;
    /** How long `close()` waits for in-flight requests before cutting connections. Default 5000 ms. */
    closeGraceMs?: number;
}

export interface BindAddress {
    host: string | undefined;
    port: number;
}

/**
 * Parse a Go-style bind address: `:8080` (all interfaces), `127.0.0.1:8080`, `[::1]:8080`, or `0` (disabled, returns
 * undefined). Port 0 with a host (`127.0.0.1:0`) means an ephemeral port.
 */
export function parseBindAddress(address: string | undefined): BindAddress | undefined {
    const value = (address ?? '').trim();
    if (value === '' || value === '0') return undefined;
    const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
    if (!match) throw new Error(`invalid bind address ${JSON.stringify(value)}: expected [host]:port or 0`);
    const port = Number(match[3]);
    if (port > 65535) throw new Error(`invalid bind address ${JSON.stringify(value)}: port out of range`);
    const host = match[1] ?? match[2];
    return { host: host === '' ? undefined : host, port };
}

type Route = 'healthz' | 'readyz' | 'metrics';

function send(
    res: http.ServerResponse,
    status: number,
    contentType: string,
    body: string,
    head: boolean,
): void {
    res.writeHead(status, {
        'Content-Type': contentType,
        'Content-Length': Buffer.byteLength(body),
        'Cache-Control': 'no-store',
    });
    res.end(head ? undefined : body);
}

/** Serves the probes and metrics; create with `startObservabilityServer`. */
export class ObservabilityServer {
    private readonly options: ObservabilityServerOptions;
    private readonly servers: { server: http.Server; routes: Set<Route>; role: string }[] = [];

    constructor(options: ObservabilityServerOptions) {
        this.options = options;
    }

    /** Bind the listeners. Rejects if an address is invalid or already in use. */
    async start(): Promise<void> {
        const metrics = parseBindAddress(this.options.metricsBindAddress ?? ':8080');
        const probes = parseBindAddress(this.options.healthProbeBindAddress ?? ':8081');
        const plans: { address: BindAddress; routes: Set<Route>; role: string }[] = [];
        if (probes) plans.push({ address: probes, routes: new Set(['healthz', 'readyz']), role: 'probes' });
        if (metrics) {
            const shared = plans.find(
                (p) => p.address.host === metrics.host && p.address.port === metrics.port,
            );
            const tls = this.options.metricsTls !== undefined;
            if (shared && tls && metrics.port !== 0)
                throw new Error('metrics served over HTTPS need a bind address other than the probes');
            if (shared && metrics.port !== 0) {
                shared.routes.add('metrics');
                shared.role = 'probes+metrics';
            } else {
                plans.push({ address: metrics, routes: new Set(['metrics']), role: 'metrics' });
            }
        }
        try {
            for (const plan of plans) {
                const handler = (req: http.IncomingMessage, res: http.ServerResponse) =>
                    this.handle(plan.routes, req, res);
                const tls = plan.role === 'metrics' ? this.options.metricsTls : undefined;
                const server = tls
                    ? https.createServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, handler)
                    : http.createServer(handler);
                server.keepAliveTimeout = 5_000;
                await new Promise<void>((resolve, reject) => {
                    server.once('error', reject);
                    server.listen(plan.address.port, plan.address.host, () => {
                        server.off('error', reject);
                        resolve();
                    });
                });
                this.servers.push({ server, routes: plan.routes, role: plan.role });
                const bound = server.address() as AddressInfo;
                this.options.logger?.info('serving', {
                    endpoints: [...plan.routes].map((r) => `/${r}`).join(','),
                    address: `${bound.address}:${bound.port}`,
                    scheme: tls ? 'https' : 'http',
                    ...(plan.role === 'metrics'
                        ? { authorization: this.options.metricsAuthorizer ? 'delegated' : 'none' }
                        : {}),
                });
            }
        } catch (err) {
            await this.close();
            throw err;
        }
    }

    /** Serve a new certificate on the HTTPS metrics listener from the next TLS handshake (certificate rotation). */
    setMetricsTls(tls: { cert: string; key: string }): void {
        const entry = this.servers.find((s) => s.role === 'metrics');
        if (entry?.server instanceof https.Server)
            entry.server.setSecureContext({ cert: tls.cert, key: tls.key });
    }

    /** The bound address of the listener serving `route`, if any (useful with ephemeral ports). */
    address(route: Route): AddressInfo | undefined {
        const entry = this.servers.find((s) => s.routes.has(route));
        return entry ? (entry.server.address() as AddressInfo) : undefined;
    }

    /** Stop accepting connections, let in-flight requests finish for `closeGraceMs`, then cut the rest. */
    async close(): Promise<void> {
        const grace = this.options.closeGraceMs ?? 5_000;
        const entries = this.servers.splice(0);
        await Promise.all(
            entries.map(
                ({ server }) =>
                    new Promise<void>((resolve) => {
                        const timer = setTimeout(() => server.closeAllConnections(), grace);
                        timer.unref();
                        server.close(() => {
                            clearTimeout(timer);
                            resolve();
                        });
                        server.closeIdleConnections();
                    }),
            ),
        );
    }

    private handle(routes: Set<Route>, req: http.IncomingMessage, res: http.ServerResponse): void {
        this.route(routes, req, res).catch((err: unknown) => {
            this.options.logger?.error('observability endpoint failed', {
                path: req.url,
                ...errorFields(err),
            });
            if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n', false);
            else res.destroy();
        });
    }

    private async route(
        routes: Set<Route>,
        req: http.IncomingMessage,
        res: http.ServerResponse,
    ): Promise<void> {
        const path = (req.url ?? '/').split('?')[0] ?? '/';
        const name = path.replace(/^\/+|\/+$/g, '') as Route;
        if (!routes.has(name)) {
            send(res, 404, 'text/plain; charset=utf-8', 'not found\n', false);
            return;
        }
        const head = req.method === 'HEAD';
        if (req.method !== 'GET' && !head) {
            res.setHeader('Allow', 'GET, HEAD');
            send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', false);
            return;
        }
        if (name === 'metrics') {
            const auth = this.options.metricsAuthorizer;
            if (auth) {
                const decision = await auth.authorize(req.headers.authorization);
                if (!decision.allowed) {
                    if (decision.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
                    this.options.logger?.debug('metrics request refused', {
                        status: decision.status,
                        reason: decision.reason,
                    });
                    const text = decision.status === 401 ? 'Unauthorized' : 'Forbidden';
                    send(res, decision.status, 'text/plain; charset=utf-8', `${text}\n`, false);
                    return;
                }
            }
            const body = await this.options.registry.metrics();
            send(res, 200, this.options.registry.contentType, body, head);
            return;
        }
        const check = name === 'readyz' ? this.options.isReady : this.options.isHealthy;
        const result: ProbeResult = check ? await check() : { ok: true };
        if (result.ok) send(res, 200, 'text/plain; charset=utf-8', 'ok\n', head);
        else
            send(
                res,
                503,
                'text/plain; charset=utf-8',
                `not ${name === 'readyz' ? 'ready' : 'healthy'}: ${result.reason ?? 'unknown'}\n`,
                head,
            );
    }
}

/** Create and start the server. */
export async function startObservabilityServer(
    options: ObservabilityServerOptions,
): Promise<ObservabilityServer> {
    const server = new ObservabilityServer(options);
    await server.start();
    return server;
}
