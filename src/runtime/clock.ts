/**
 * Time as a dependency.
 *
 * Everything timed in the runtime (workqueue delays and backoff, informer restart backoff, resync, event
 * aggregation windows, leader-election lease expiry) takes a `Clock` instead of calling `Date.now()` and
 * `setTimeout` directly. Production code gets `realClock`; tests get a `FakeClock` (test/support/fake-clock.ts)
 * whose time only moves when the test calls `advance(ms)`, which fires due timers in (due time, creation order)
 * order. That makes backoff and lease tests deterministic and instant instead of sleeping.
 *
 * Design choice: timer handles are opaque objects owned by the clock (not Node's `Timeout`), so the fake and the
 * real implementation are interchangeable behind one interface.
 */

/** An opaque handle returned by `Clock.setTimeout`. */
export interface TimerHandle {
    readonly __timer: true;
}

export interface Clock {
    /** Milliseconds since the Unix epoch. */
    now(): number;
    /** Run `fn` once after `ms` milliseconds (negative delays count as 0). */
    setTimeout(fn: () => void, ms: number): TimerHandle;
    /** Cancel a timer; cancelling a fired or unknown timer is a no-op. */
    clearTimeout(handle: TimerHandle): void;
    /** Resolve after `ms`; reject with the signal's reason (an AbortError) if `signal` aborts first. */
    sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function abortReason(signal: AbortSignal): Error {
    return signal.reason instanceof Error
        ? signal.reason
        : new DOMException('This operation was aborted', 'AbortError');
}

/** `sleep` on top of setTimeout/clearTimeout, so every Clock (the test clock too) honours AbortSignals alike. */
export function sleepWith(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
        if (signal?.aborted) {
            reject(abortReason(signal));
            return;
        }
        const onAbort = (): void => {
            clock.clearTimeout(handle);
            reject(abortReason(signal as AbortSignal));
        };
        const handle = clock.setTimeout(() => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
        }, ms);
        signal?.addEventListener('abort', onAbort, { once: true });
    });
}

class RealTimer implements TimerHandle {
    readonly __timer = true as const;
    readonly timeout: ReturnType<typeof setTimeout>;
    constructor(timeout: ReturnType<typeof setTimeout>) {
        this.timeout = timeout;
    }
}

/** The wall clock. `unref` keeps long timers (resync, backoff) from holding the process open. */
export class RealClock implements Clock {
    readonly #unref: boolean;
    constructor(opts: { unref?: boolean } = {}) {
        this.#unref = opts.unref ?? false;
    }
    now(): number {
        return Date.now();
    }
    setTimeout(fn: () => void, ms: number): TimerHandle {
        const t = setTimeout(fn, Math.max(0, ms));
        if (this.#unref) t.unref();
        return new RealTimer(t);
    }
    clearTimeout(handle: TimerHandle): void {
        if (handle instanceof RealTimer) clearTimeout(handle.timeout);
    }
    sleep(ms: number, signal?: AbortSignal): Promise<void> {
        return sleepWith(this, ms, signal);
    }
}

export const realClock: Clock = new RealClock();
