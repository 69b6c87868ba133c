/**
 * Time as a dependency.
 *
 * Everything timed in the runtime (workqueue delays and backoff, informer restart backoff, resync, event
 * aggregation windows, leader-election lease expiry) takes a `Clock` instead of calling `Date.now()` and
 * `setTimeout` directly. Production code gets `realClock`; tests get a `FakeClock` whose time only moves when the
 * test calls `advance(ms)`, which fires due timers in (due time, creation order) order. That makes backoff and
 * lease tests deterministic and instant instead of sleeping.
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

/** Shared `sleep` on top of setTimeout/clearTimeout, so both clocks honour AbortSignals the same way. */
function sleepWith(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
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

class FakeTimer implements TimerHandle {
    readonly __timer = true as const;
    readonly due: number;
    readonly seq: number;
    readonly fn: () => void;
    constructor(due: number, seq: number, fn: () => void) {
        this.due = due;
        this.seq = seq;
        this.fn = fn;
    }
}

/**
 * A manual clock for tests. Time starts at `start` (default 2026-01-01T00:00:00Z) and moves only through
 * `advance`/`advanceAsync`/`set`. Timers scheduled while firing run in the same advance if they are due.
 */
export class FakeClock implements Clock {
    #now: number;
    #seq = 0;
    #timers = new Set<FakeTimer>();

    constructor(start = Date.UTC(2026, 0, 1)) {
        this.#now = start;
    }
    now(): number {
        return this.#now;
    }
    setTimeout(fn: () => void, ms: number): TimerHandle {
        const t = new FakeTimer(this.#now + Math.max(0, ms), this.#seq++, fn);
        this.#timers.add(t);
        return t;
    }
    clearTimeout(handle: TimerHandle): void {
        if (handle instanceof FakeTimer) this.#timers.delete(handle);
    }
    sleep(ms: number, signal?: AbortSignal): Promise<void> {
        return sleepWith(this, ms, signal);
    }
    /** Number of pending timers. */
    pendingTimers(): number {
        return this.#timers.size;
    }
    /** Due time of the earliest pending timer, if any. */
    nextTimerAt(): number | undefined {
        return this.#next(Number.POSITIVE_INFINITY)?.due;
    }
    #next(limit: number): FakeTimer | undefined {
        let best: FakeTimer | undefined;
        for (const t of this.#timers) {
            if (t.due > limit) continue;
            if (!best || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
        }
        return best;
    }
    /** Move time forward by `ms`, firing due timers synchronously in order. */
    advance(ms: number): void {
        const target = this.#now + ms;
        for (let t = this.#next(target); t; t = this.#next(target)) {
            this.#timers.delete(t);
            this.#now = Math.max(this.#now, t.due);
            t.fn();
        }
        this.#now = Math.max(this.#now, target);
    }
    /**
     * Like `advance`, but lets promise continuations (and setImmediate callbacks) run after each timer, so async
     * code woken by a timer can schedule its next timer before time moves on.
     */
    async advanceAsync(ms: number): Promise<void> {
        const target = this.#now + ms;
        await flush();
        for (let t = this.#next(target); t; t = this.#next(target)) {
            this.#timers.delete(t);
            this.#now = Math.max(this.#now, t.due);
            t.fn();
            await flush();
        }
        this.#now = Math.max(this.#now, target);
        await flush();
    }
}

/** Let all pending microtasks and immediates run (a macrotask boundary, no real waiting). */
export function flush(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
}
