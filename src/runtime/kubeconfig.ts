/**
 * A KubeConfig whose requests share one undici dispatcher (connection pool).
 *
 * client-node 2.0.1 builds a new undici Agent in `applySecurityAuthentication` for every request, so every request
 * opens a new TLS connection: a full handshake on both sides. Measured with the benchmark harness (docs/
 * benchmarks.md), 7,000 server-side applies took 42.7 s that way and 14.3 s over one pool, and TLS set-up was the
 * largest item of the operator's CPU profile. The first Agent a request builds carries the TLS settings of this
 * KubeConfig (CA, client certificate); every later request reuses it. Credentials that change per request (tokens)
 * travel in headers, which `super` still sets every time.
 *
 * The pool is kept by replacing client-node's (TypeScript-private) `createDispatcher` on the instance, so no
 * throwaway Agent is built at all: building one per request and closing it again cost about 5 % of the operator's
 * CPU in a 1,000-namespace converge (undici's ClientDestroyedError alone was the largest single function).
 *
 * Every API client made from it also honours `Retry-After` (retry-after.ts): one gate per KubeConfig, as client
 * middleware, so a 429 or 503 with Retry-After holds back every later request of the process until then.
 */
import { KubeConfig } from '@kubernetes/client-node';
import type { ApiConstructor, ApiType, Configuration, RequestContext } from '@kubernetes/client-node';

import { RetryAfterGate, retryAfterMiddleware } from './retry-after.ts';

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

type CreateDispatcher = (cluster: unknown, agentOptions: unknown) => Dispatcher | undefined;

export class PooledKubeConfig extends KubeConfig {
    #shared: Dispatcher | undefined;
    /** Shared by every API client of this KubeConfig. */
    readonly retryAfter = new RetryAfterGate();

    /** `KubeConfig.makeApiClient` (its configuration, user agent included), plus the Retry-After gate. */
    override makeApiClient<T extends ApiType>(apiClientType: ApiConstructor<T>): T {
        let config: Configuration | undefined;
        super.makeApiClient(
            class {
                constructor(c: Configuration) {
                    config = c;
                }
            },
        );
        if (!config) throw new Error('makeApiClient: no configuration');
        config.middleware.push(retryAfterMiddleware(this.retryAfter));
        return new apiClientType(config);
    }

    constructor() {
        super();
        // `applySecurityAuthentication` calls `this.createDispatcher(cluster, agentOptions)` for every request.
        const self = this as unknown as { createDispatcher: CreateDispatcher };
        const create = self.createDispatcher.bind(this);
        self.createDispatcher = (cluster, agentOptions) => (this.#shared ??= create(cluster, agentOptions));
    }

    /** Closes the shared pool (at shutdown). */
    async closePool(): Promise<void> {
        const d = this.#shared;
        this.#shared = undefined;
        await d?.close();
    }
}

/** Loads a kubeconfig file, or the default chain (in-cluster, $KUBECONFIG, ~/.kube/config), into a pooled config. */
export function loadPooledKubeConfig(path: string): PooledKubeConfig {
    const kc = new PooledKubeConfig();
    if (path) kc.loadFromFile(path);
    else kc.loadFromDefault();
    return kc;
}
