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
 */
import { KubeConfig } from '@kubernetes/client-node';
import type { RequestContext } from '@kubernetes/client-node';

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

type CreateDispatcher = (cluster: unknown, agentOptions: unknown) => Dispatcher | undefined;

export class PooledKubeConfig extends KubeConfig {
    #shared: Dispatcher | undefined;

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
