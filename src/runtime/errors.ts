/**
 * What the operator needs to know about a failed request, in one place: its HTTP status, its message, whether
 * retrying can help, and how long the server asked us to wait. Also the two error classes a reconcile throws to
 * steer the workqueue: `TerminalError` (do not retry) and `RetryAfterError` (retry no sooner than this).
 *
 * Design choice: every error shape client-node produces is read here and nowhere else. `ApiException` carries
 * `code` (and `headers`, `body`); watch and fetch errors carry `statusCode`; some older paths put it under
 * `response.statusCode`. Callers ask `httpStatus(err)` and never probe fields themselves, so a new shape is one
 * change here.
 */

/** HTTP status of a failed Kubernetes request, if the error carries one. */
export function httpStatus(err: unknown): number | undefined {
    if (typeof err !== 'object' || err === null) return undefined;
    const e = err as { code?: unknown; statusCode?: unknown; response?: { statusCode?: unknown } };
    for (const c of [e.code, e.statusCode, e.response?.statusCode]) if (typeof c === 'number') return c;
    return undefined;
}

export const isNotFound = (err: unknown): boolean => httpStatus(err) === 404;
export const isConflict = (err: unknown): boolean => httpStatus(err) === 409;

/** Message of a Kubernetes API error: the Status message from the body when there is one. */
export function errorMessage(err: unknown): string {
    const e = err as { body?: unknown; message?: unknown } | null | undefined;
    let body = e?.body;
    if (typeof body === 'string') {
        try {
            body = JSON.parse(body);
        } catch {
            // not JSON
        }
    }
    const msg = (body as { message?: unknown } | null | undefined)?.message;
    if (typeof msg === 'string' && msg) return msg;
    return typeof e?.message === 'string' ? e.message : String(err);
}

/**
 * 400/403/422: the API server refuses the content or the operator's rights; only a change to the profile or the
 * cluster helps, so backing off and retrying forever is noise. Conflicts, 404s, 429s, 5xx and network errors are
 * retried.
 */
export function isTerminal(err: unknown): boolean {
    if (err instanceof TerminalError) return true;
    const code = httpStatus(err);
    return code === 400 || code === 403 || code === 422;
}

/** Throw this from a reconcile to report an error that retrying cannot fix (counted, not requeued). */
export class TerminalError extends Error {
    constructor(message: string, options?: { cause?: unknown }) {
        super(message, options);
        this.name = 'TerminalError';
    }
}

/** Throw this from a reconcile to be retried no sooner than `retryAfterMs` (a failure all the same). */
export class RetryAfterError extends Error {
    readonly retryAfterMs: number;
    constructor(message: string, retryAfterMs: number, options?: { cause?: unknown }) {
        super(message, options);
        this.name = 'RetryAfterError';
        this.retryAfterMs = Math.max(0, retryAfterMs);
    }
}

/**
 * The `Retry-After` header of a response (RFC 9110 §10.2.3): delay-seconds or an HTTP date, in ms from `nowMs`.
 * Undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | undefined | null, nowMs: number): number | undefined {
    if (value === undefined || value === null) return undefined;
    const v = value.trim();
    if (/^\d+$/.test(v)) return Number(v) * 1000;
    // Date.parse reads "-5" or "+3" as years; only a real HTTP-date may pass.
    if (v === '' || /^[+-]?\d/.test(v)) return undefined;
    const at = Date.parse(v);
    return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/**
 * How long the server asked to wait before retrying (`RetryAfterError`, or an `ApiException` whose response had a
 * `Retry-After` header, as the API server sends with 429 and some 503s); undefined when it did not say.
 */
export function retryAfterMs(err: unknown, nowMs: number): number | undefined {
    if (err instanceof RetryAfterError) return err.retryAfterMs;
    if (typeof err !== 'object' || err === null) return undefined;
    const headers = (err as { headers?: unknown }).headers;
    if (typeof headers !== 'object' || headers === null) return undefined;
    for (const [k, v] of Object.entries(headers as Record<string, unknown>))
        if (k.toLowerCase() === 'retry-after' && typeof v === 'string') return parseRetryAfter(v, nowMs);
    return undefined;
}
