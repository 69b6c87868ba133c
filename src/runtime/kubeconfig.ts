/**
 * A KubeConfig whose requests share one undici dispatcher (connection pool).
 *
 * client-node 2.0.1 builds a new undici Agent in `applySecurityAuthentication` for every request, so every request
 * opens a new TLS connection: a full handshake on both sides. Measured with the benchmark harness (docs/
 * benchmarks.md), 7,000 server-side applies took 42.7 s that way and 14.3 s over one pool, and TLS set-up was the
 * largest item of the operator's CPU profile. The first Agent a request builds carries the TLS settings of this
 * KubeConfig (CA, client certificate); later ones are identical and are closed unused. Credentials that change per
 * request (tokens) travel in headers, which `super` still sets every time.
 */
import { KubeConfig } from '@kubernetes/client-node';
import type { RequestContext } from '@kubernetes/client-node';

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

export class PooledKubeConfig extends KubeConfig {
    #shared: Dispatcher | undefined;

    override async applySecurityAuthentication(context: RequestContext): Promise<void> {
        await super.applySecurityAuthentication(context);
        const fresh = context.getDispatcher();
        if (!fresh) return;
        this.#shared ??= fresh;
        if (fresh !== this.#shared) {
            void fresh.close(); // never connected: closing is free, and it must not linger
            context.setDispatcher(this.#shared);
        }
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
