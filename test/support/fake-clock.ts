/**
 * A manual `Clock` for tests (src/runtime/clock.ts): time moves only when the test says so, and due timers fire in
 * (due time, creation order) order, so backoff, lease and aggregation tests are deterministic and never sleep.
 */
import { sleepWith } from '../../src/runtime/clock.ts';
import type { Clock, TimerHandle } from '../../src/runtime/clock.ts';

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
