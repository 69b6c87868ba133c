/**
 * A rate-limited, deduplicating work queue with client-go semantics, plus a worker pool that runs a reconcile
 * function over it with controller-runtime result handling.
 *
 * Semantics (client-go `workqueue`):
 * - A key is held once however often it is added while queued ("dirty" set).
 * - A key is never processed by two workers at once: adding a key that is being processed marks it dirty, and it
 *   is queued again exactly once when its current run finishes.
 * - `addAfter` keeps only the earliest pending timer per key.
 * - `addRateLimited` backs off per key: `min(baseDelayMs * 2^failures, maxDelayMs)`; `forget` resets the count.
 * - `shutDown` stops taking new work, cancels delayed adds, drops queued keys and waits for in-flight runs.
 *
 * Design choice: a bounded worker loop of its own, no executor library. The queue keeps its FIFO (an
 * insertion-ordered Set) and starts at most `concurrency` workers, each taking keys until none is ready, so a
 * million adds cost one Set entry per distinct key, not a million closures. (An executor such as p-queue would
 * only ever hold those few workers: the cap it enforces is the one kept here.)
 *
 * Result handling (controller-runtime): a thrown `TerminalError` is counted and not retried; any other throw
 * (including non-Error "panics") → `addRateLimited`, but never sooner than a `RetryAfterError`'s delay or the
 * `Retry-After` header of the API error thrown (src/runtime/errors.ts); `{ requeueAfterMs > 0 }` → `forget` + `addAfter`;
 * otherwise → `forget`. Each run gets a `reconcileID` (UUID) and an AbortSignal (aborted on timeout or on
 * `shutDown({ abortInFlight: true })`). Metrics go through optional hook interfaces, so this module does not
 * depend on prom-client.
 */
import { randomUUID } from 'node:crypto';
import { type Clock, type TimerHandle, realClock } from './clock.ts';
import { retryAfterMs, TerminalError } from './errors.ts';

/** Raised (as the reported error) when a reconcile threw something that is not an Error. */
export class PanicError extends Error {
    readonly value: unknown;
    constructor(value: unknown) {
        super(`reconcile panicked: ${String(value)}`);
        this.name = 'PanicError';
        this.value = value;
    }
}

export interface ReconcileContext {
    /** Unique per run; put it in logs, events and error messages. */
    readonly reconcileID: string;
    /** Aborted when the run times out or the queue shuts down with `abortInFlight`. */
    readonly signal: AbortSignal;
}

export interface ReconcileResult {
    /** Run the key again after this many ms (replaces failure backoff; ignored when the reconcile throws). */
    requeueAfterMs?: number;
}

export type ReconcileFn = (
    key: string,
    ctx: ReconcileContext,
) => Promise<ReconcileResult | void> | ReconcileResult | void;

/** Outcome label of one run, as in `controller_runtime_reconcile_total{result}`. */
export type ReconcileOutcome = 'success' | 'error' | 'requeue_after';

export interface ReconcileReport {
    key: string;
    reconcileID: string;
    outcome: ReconcileOutcome;
    durationSeconds: number;
    /** Set when outcome is `error`. */
    error?: Error;
    terminal?: boolean;
    panic?: boolean;
    timedOut?: boolean;
    requeueAfterMs?: number;
}

/** Metric hooks; every method is optional. The controller wires them to prom-client. */
export interface WorkqueueMetrics {
    add(): void;
    depth(n: number): void;
    retry(): void;
    queueDuration(seconds: number): void;
    workDuration(seconds: number): void;
    reconcileResult(outcome: ReconcileOutcome): void;
    reconcileError(): void;
    terminalError(): void;
    panic(): void;
    timeout(): void;
    activeWorkers(n: number): void;
}

export interface WorkqueueOptions {
    /** Used in reports only. */
    name?: string;
    reconcile: ReconcileFn;
    /** Concurrent reconciles (distinct keys). Default 4. */
    concurrency?: number;
    /** First retry delay. Default 5 ms (client-go). */
    baseDelayMs?: number;
    /** Retry delay cap. Default 1000 s (client-go). */
    maxDelayMs?: number;
    /** Abort a run's signal after this long; 0/undefined = no timeout. The run still finishes on its own. */
    reconcileTimeoutMs?: number;
    clock?: Clock;
    metrics?: Partial<WorkqueueMetrics>;
    /** Called after every run, e.g. to log errors with the reconcileID. Must not throw. */
    onResult?: (report: ReconcileReport) => void;
}

const noop = (): void => {};

function withDefaults(m: Partial<WorkqueueMetrics> = {}): WorkqueueMetrics {
    return {
        add: m.add?.bind(m) ?? noop,
        depth: m.depth?.bind(m) ?? noop,
        retry: m.retry?.bind(m) ?? noop,
        queueDuration: m.queueDuration?.bind(m) ?? noop,
        workDuration: m.workDuration?.bind(m) ?? noop,
        reconcileResult: m.reconcileResult?.bind(m) ?? noop,
        reconcileError: m.reconcileError?.bind(m) ?? noop,
        terminalError: m.terminalError?.bind(m) ?? noop,
        panic: m.panic?.bind(m) ?? noop,
        timeout: m.timeout?.bind(m) ?? noop,
        activeWorkers: m.activeWorkers?.bind(m) ?? noop,
    };
}

interface Waiting {
    readyAt: number;
    handle: TimerHandle;
}

export class Workqueue {
    readonly name: string;
    readonly concurrency: number;
    readonly #reconcile: ReconcileFn;
    readonly #clock: Clock;
    readonly #metrics: WorkqueueMetrics;
    readonly #onResult: (report: ReconcileReport) => void;
    readonly #baseDelayMs: number;
    readonly #maxDelayMs: number;
    readonly #timeoutMs: number;

    /** Ready keys in FIFO order (a Set iterates in insertion order). */
    readonly #queue = new Set<string>();
    /** Keys that need (another) run: queued, or re-added while processing. */
    readonly #dirty = new Set<string>();
    /** Keys being reconciled now, with their start time. */
    readonly #processing = new Map<string, number>();
    readonly #queuedAt = new Map<string, number>();
    readonly #waiting = new Map<string, Waiting>();
    readonly #failures = new Map<string, number>();
    readonly #inFlight = new Map<string, AbortController>();
    /** Workers started and not finished (never more than `concurrency`). */
    #workers = 0;
    /** Of those, workers that have not taken their next key yet. */
    #awaitingTake = 0;
    #shuttingDown = false;
    #drained: Promise<void> | undefined;
    #resolveDrained: (() => void) | undefined;

    constructor(opts: WorkqueueOptions) {
        this.name = opts.name ?? 'workqueue';
        this.concurrency = Math.max(1, opts.concurrency ?? 4);
        this.#reconcile = opts.reconcile;
        this.#clock = opts.clock ?? realClock;
        this.#metrics = withDefaults(opts.metrics);
        this.#onResult = opts.onResult ?? noop;
        this.#baseDelayMs = opts.baseDelayMs ?? 5;
        this.#maxDelayMs = opts.maxDelayMs ?? 1_000_000;
        this.#timeoutMs = opts.reconcileTimeoutMs ?? 0;
    }

    /** Queue `key` unless it is already queued; if it is being processed, run it once more afterwards. */
    add(key: string): void {
        if (this.#shuttingDown || this.#dirty.has(key)) return;
        this.#metrics.add();
        this.#dirty.add(key);
        if (this.#processing.has(key)) return;
        this.#enqueue(key);
    }

    /** Add `key` after `ms`; if a timer for `key` is already pending, the earlier of the two wins. */
    addAfter(key: string, ms: number): void {
        if (this.#shuttingDown) return;
        if (ms <= 0) {
            this.add(key);
            return;
        }
        const readyAt = this.#clock.now() + ms;
        const existing = this.#waiting.get(key);
        if (existing) {
            if (existing.readyAt <= readyAt) return;
            this.#clock.clearTimeout(existing.handle);
        }
        const handle = this.#clock.setTimeout(() => {
            this.#waiting.delete(key);
            this.add(key);
        }, ms);
        this.#waiting.set(key, { readyAt, handle });
    }

    /**
     * Add `key` after its per-key exponential backoff, and count the failure. `atLeastMs` (a server's Retry-After)
     * raises the delay of this one retry; the backoff still grows as for any failure.
     */
    addRateLimited(key: string, atLeastMs = 0): void {
        if (this.#shuttingDown) return;
        this.#metrics.retry();
        this.addAfter(key, Math.max(this.#nextBackoff(key), atLeastMs));
    }

    /** The delay the next `addRateLimited(key)` would use, without counting a failure. */
    backoffFor(key: string): number {
        const failures = this.#failures.get(key) ?? 0;
        return Math.min(this.#baseDelayMs * 2 ** failures, this.#maxDelayMs);
    }

    #nextBackoff(key: string): number {
        const delay = this.backoffFor(key);
        this.#failures.set(key, (this.#failures.get(key) ?? 0) + 1);
        return delay;
    }

    /** Reset the failure count of `key` (it does not cancel a pending delayed add). */
    forget(key: string): void {
        this.#failures.delete(key);
    }

    /** How many times `key` has been rate-limited since it was last forgotten. */
    numRequeues(key: string): number {
        return this.#failures.get(key) ?? 0;
    }

    /** Keys ready to run (not counting keys in flight or waiting for a timer). */
    len(): number {
        return this.#queue.size;
    }

    /** Keys waiting on an `addAfter`/backoff timer. */
    waitingLen(): number {
        return this.#waiting.size;
    }

    /** Keys being reconciled right now. */
    activeWorkers(): number {
        return this.#processing.size;
    }

    isShuttingDown(): boolean {
        return this.#shuttingDown;
    }

    /** Sum of the run time so far of in-flight reconciles (workqueue_unfinished_work_seconds). */
    unfinishedWorkSeconds(): number {
        const now = this.#clock.now();
        let total = 0;
        for (const start of this.#processing.values()) total += now - start;
        return total / 1000;
    }

    /** Run time so far of the longest in-flight reconcile (workqueue_longest_running_processor_seconds). */
    longestRunningProcessorSeconds(): number {
        const now = this.#clock.now();
        let longest = 0;
        for (const start of this.#processing.values()) longest = Math.max(longest, now - start);
        return longest / 1000;
    }

    /**
     * Stop taking new work: later adds are ignored, delayed adds are cancelled and queued keys are dropped.
     * Resolves when in-flight reconciles have finished. With `abortInFlight`, their signals are aborted first.
     */
    shutDown(opts: { abortInFlight?: boolean } = {}): Promise<void> {
        if (!this.#shuttingDown) {
            this.#shuttingDown = true;
            for (const w of this.#waiting.values()) this.#clock.clearTimeout(w.handle);
            this.#waiting.clear();
            for (const key of this.#queue) this.#dirty.delete(key);
            this.#queue.clear();
            this.#queuedAt.clear();
            this.#metrics.depth(0);
            this.#drained = new Promise((resolve) => {
                this.#resolveDrained = resolve;
            });
            this.#checkDrained();
        }
        if (opts.abortInFlight) {
            for (const ac of this.#inFlight.values()) {
                ac.abort(new DOMException('workqueue shutting down', 'AbortError'));
            }
        }
        return this.#drained as Promise<void>;
    }

    #checkDrained(): void {
        if (this.#shuttingDown && this.#workers === 0 && this.#processing.size === 0) {
            this.#resolveDrained?.();
        }
    }

    #enqueue(key: string): void {
        this.#queue.add(key);
        this.#queuedAt.set(key, this.#clock.now());
        this.#metrics.depth(this.#queue.size);
        this.#pump();
    }

    /** Start workers (up to `concurrency`) while more keys are ready than idle workers will take. */
    #pump(): void {
        while (
            !this.#shuttingDown &&
            this.#workers < this.concurrency &&
            this.#awaitingTake < this.#queue.size
        ) {
            this.#workers++;
            this.#awaitingTake++;
            void this.#work();
        }
    }

    /** One worker: takes and processes keys until none is ready, then ends. `#process` never throws. */
    async #work(): Promise<void> {
        try {
            for (;;) {
                // Yielding before each take lets a synchronous burst of adds (an informer's initial list)
                // coalesce before the key is taken.
                await Promise.resolve();
                this.#awaitingTake--;
                const key = this.#take();
                if (key === undefined) return;
                await this.#process(key);
                if (this.#shuttingDown || this.#queue.size === 0) return;
                this.#awaitingTake++;
            }
        } finally {
            this.#workers--;
            this.#pump();
            this.#checkDrained();
        }
    }

    #take(): string | undefined {
        if (this.#shuttingDown) return undefined;
        const next = this.#queue.values().next();
        if (next.done) return undefined;
        const key = next.value;
        this.#queue.delete(key);
        this.#dirty.delete(key);
        const now = this.#clock.now();
        this.#metrics.queueDuration((now - (this.#queuedAt.get(key) ?? now)) / 1000);
        this.#queuedAt.delete(key);
        this.#metrics.depth(this.#queue.size);
        this.#processing.set(key, now);
        this.#metrics.activeWorkers(this.#processing.size);
        return key;
    }

    async #process(key: string): Promise<void> {
        const reconcileID = randomUUID();
        const ac = new AbortController();
        this.#inFlight.set(reconcileID, ac);
        let timedOut = false;
        const timer =
            this.#timeoutMs > 0
                ? this.#clock.setTimeout(() => {
                      timedOut = true;
                      this.#metrics.timeout();
                      ac.abort(new DOMException('reconcile timed out', 'TimeoutError'));
                  }, this.#timeoutMs)
                : undefined;
        const start = this.#clock.now();
        let report: Omit<ReconcileReport, 'durationSeconds'>;
        try {
            // Promise.resolve().then() also turns a synchronous throw into a rejection.
            const result = await Promise.resolve().then(() =>
                this.#reconcile(key, { reconcileID, signal: ac.signal }),
            );
            const after = result?.requeueAfterMs ?? 0;
            this.forget(key);
            if (after > 0) {
                this.addAfter(key, after);
                report = { key, reconcileID, outcome: 'requeue_after', requeueAfterMs: after };
            } else {
                report = { key, reconcileID, outcome: 'success' };
            }
        } catch (thrown: unknown) {
            const panic = !(thrown instanceof Error);
            const error = thrown instanceof Error ? thrown : new PanicError(thrown);
            const terminal = error instanceof TerminalError;
            this.#metrics.reconcileError();
            if (panic) this.#metrics.panic();
            if (terminal) {
                this.#metrics.terminalError();
                this.forget(key);
            } else {
                this.addRateLimited(key, retryAfterMs(thrown, this.#clock.now()) ?? 0);
            }
            report = { key, reconcileID, outcome: 'error', error, terminal, panic };
        } finally {
            if (timer) this.#clock.clearTimeout(timer);
            this.#inFlight.delete(reconcileID);
        }
        const durationSeconds = (this.#clock.now() - start) / 1000;
        this.#metrics.workDuration(durationSeconds);
        this.#metrics.reconcileResult(report.outcome);
        this.#done(key);
        try {
            this.#onResult({ ...report, durationSeconds, ...(timedOut ? { timedOut } : {}) });
        } catch {
            // A reporting hook must never break the queue.
        }
    }

    /** The run of `key` finished: if it was re-added meanwhile, queue it again (exactly once). */
    #done(key: string): void {
        this.#processing.delete(key);
        this.#metrics.activeWorkers(this.#processing.size);
        if (this.#dirty.has(key)) {
            if (this.#shuttingDown) this.#dirty.delete(key);
            else this.#enqueue(key);
        }
    }
}
