/**
 * Honouring `Retry-After`: when the API server answers 429 (API Priority and Fairness, max-in-flight) or 503 with a
 * `Retry-After` header, no further request of this client goes out before that time has passed.
 *
 * Design choice: a gate per KubeConfig, applied as client-node middleware (see kubeconfig.ts), instead of a retry
 * inside each call site. The failed request still fails (the workqueue retries the reconcile as for any error), but
 * the retried reconcile's requests wait at the gate, so a throttled operator sends nothing until the server said it
 * may: no hot loop of 5 ms workqueue retries against an overloaded server, whatever the call site. The gate is
 * client-wide because the server's throttling is about its load, not about one object. Leader-election Lease
 * requests pass the gate (`exempt`): holding them back could cost the leadership that the throttled work needs.
 * Waits are capped (`maxMs`, default 60 s) so a bogus header cannot stall the operator for long. Time comes from an
 * injected clock.
 */
import { Observable } from '@kubernetes/client-node';
import type { ObservableMiddleware, RequestContext, ResponseContext } from '@kubernetes/client-node';
import { type Clock, realClock } from './clock.ts';
import { parseRetryAfter } from './errors.ts';

/** Statuses whose Retry-After the gate honours (client-go: 429, and 5xx carrying the header). */
const HONOURED = new Set([429, 500, 502, 503, 504]);

export interface RetryAfterGateOptions {
    clock?: Clock;
    /** Longest wait one response can impose (default 60 s). */
    maxMs?: number;
    /** Called when a response closed the gate (for logs and metrics). */
    onThrottled?: (status: number, waitMs: number, url: string) => void;
}

export class RetryAfterGate {
    readonly #clock: Clock;
    readonly #maxMs: number;
    readonly #onThrottled: RetryAfterGateOptions['onThrottled'];
    #notBefore = 0;

    constructor(opts: RetryAfterGateOptions = {}) {
        this.#clock = opts.clock ?? realClock;
        this.#maxMs = opts.maxMs ?? 60_000;
        this.#onThrottled = opts.onThrottled;
    }

    /** Epoch ms before which no request goes out (0 when open). */
    notBefore(): number {
        return this.#notBefore;
    }

    /** Records a response: a honoured status with a Retry-After closes the gate until then (never shortens it). */
    observe(status: number, retryAfter: string | undefined | null, url = ''): void {
        if (!HONOURED.has(status)) return;
        const now = this.#clock.now();
        const ms = parseRetryAfter(retryAfter, now);
        if (ms === undefined) return;
        const wait = Math.min(ms, this.#maxMs);
        if (now + wait > this.#notBefore) this.#notBefore = now + wait;
        this.#onThrottled?.(status, wait, url);
    }

    /** Resolves once the gate is open. */
    async wait(): Promise<void> {
        for (;;) {
            const left = this.#notBefore - this.#clock.now();
            if (left <= 0) return;
            await this.#clock.sleep(left);
        }
    }
}

/** Lease requests (leader election) are never held back. */
export function isLeaseRequest(url: string): boolean {
    return url.includes('/apis/coordination.k8s.io/');
}

/** client-node middleware: wait at the gate before each request, feed each response to it. */
export function retryAfterMiddleware(
    gate: RetryAfterGate,
    exempt: (url: string) => boolean = isLeaseRequest,
): ObservableMiddleware {
    return {
        pre: (ctx: RequestContext) =>
            new Observable(exempt(ctx.getUrl()) ? Promise.resolve(ctx) : gate.wait().then(() => ctx)),
        post: (res: ResponseContext) => {
            gate.observe(res.httpStatusCode, res.headers['retry-after']);
            return new Observable(Promise.resolve(res));
        },
    };
}
