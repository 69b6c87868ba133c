/**
 * A KubeConfig whose requests share ONE undici dispatcher (connection pool). client-node 2.0.1 builds a new
 * undici Agent in `applySecurityAuthentication` for every request, so every request opens a new TLS connection
 * (full handshake on both client and API server). The bench uses this only for the second, "pooled" baseline, to
 * show how much of the plain-client write rate is connection set-up rather than the API server's write path — and
 * what the operator would gain from the same change (see docs/benchmarks.md).
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
}
