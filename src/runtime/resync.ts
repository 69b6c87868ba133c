/**
 * Periodic resync: a jittered timer that calls a callback (typically "enqueue every key") as a safety net for
 * anything the event path missed.
 *
 * Design choice: each period is drawn independently as `intervalMs * (1 ± jitter)` (default 10 min ± 10 %), so
 * several replicas or controllers started together drift apart instead of resyncing in lockstep. The next period
 * is scheduled only after the callback settles (an async callback never overlaps itself). Errors go to `onError`.
 */
import { type Clock, type TimerHandle, realClock } from './clock.ts';

export interface ResyncOptions {
    callback: () => void | Promise<void>;
    /** Mean period. Default 10 min. */
    intervalMs?: number;
    /** Fraction of the period to jitter by, each way. Default 0.1. */
    jitter?: number;
    clock?: Clock;
    /** Uniform in [0, 1). Default Math.random. */
    random?: () => number;
    onError?: (err: unknown) => void;
}

export class Resync {
    readonly #callback: () => void | Promise<void>;
    readonly #intervalMs: number;
    readonly #jitter: number;
    readonly #clock: Clock;
    readonly #random: () => number;
    readonly #onError: (err: unknown) => void;
    #timer: TimerHandle | undefined;
    #running = false;
    #runs = 0;

    constructor(opts: ResyncOptions) {
        this.#callback = opts.callback;
        this.#intervalMs = opts.intervalMs ?? 600_000;
        this.#jitter = opts.jitter ?? 0.1;
        this.#clock = opts.clock ?? realClock;
        this.#random = opts.random ?? Math.random;
        this.#onError = opts.onError ?? (() => undefined);
    }

    /** The next period: `intervalMs * (1 + jitter * (2 * random - 1))`. */
    nextDelay(): number {
        return Math.round(this.#intervalMs * (1 + this.#jitter * (2 * this.#random() - 1)));
    }

    start(): void {
        if (this.#running) return;
        this.#running = true;
        this.#schedule();
    }

    stop(): void {
        this.#running = false;
        if (this.#timer) this.#clock.clearTimeout(this.#timer);
        this.#timer = undefined;
    }

    /** How many times the callback has been called. */
    runs(): number {
        return this.#runs;
    }

    #schedule(): void {
        this.#timer = this.#clock.setTimeout(() => void this.#fire(), this.nextDelay());
    }

    async #fire(): Promise<void> {
        this.#timer = undefined;
        if (!this.#running) return;
        this.#runs++;
        try {
            await this.#callback();
        } catch (err) {
            this.#onError(err);
        }
        if (this.#running) this.#schedule();
    }
}
