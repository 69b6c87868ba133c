import assert from 'node:assert/strict';
import { FakeClock, flush } from '../../support/fake-clock.ts';
import {
    type ReconcileContext,
    type ReconcileReport,
    type ReconcileResult,
    Workqueue,
    type WorkqueueOptions,
} from '../../../src/runtime/workqueue.ts';
import { RetryAfterError, TerminalError } from '../../../src/runtime/errors.ts';

/** A reconcile whose runs the test completes by hand. */
class Gate {
    readonly calls: { key: string; ctx: ReconcileContext }[] = [];
    readonly #pending = new Map<
        string,
        { resolve: (r?: ReconcileResult) => void; reject: (e: unknown) => void }[]
    >();
    active = 0;
    maxActivePerKey = new Map<string, number>();
    #activeKeys = new Map<string, number>();

    readonly reconcile = (key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> => {
        this.calls.push({ key, ctx });
        this.active++;
        const n = (this.#activeKeys.get(key) ?? 0) + 1;
        this.#activeKeys.set(key, n);
        this.maxActivePerKey.set(key, Math.max(n, this.maxActivePerKey.get(key) ?? 0));
        return new Promise<ReconcileResult | void>((resolve, reject) => {
            const list = this.#pending.get(key) ?? [];
            const finish = (): void => {
                this.active--;
                this.#activeKeys.set(key, (this.#activeKeys.get(key) ?? 1) - 1);
            };
            list.push({
                resolve: (r) => {
                    finish();
                    resolve(r);
                },
                reject: (e) => {
                    finish();
                    // Deliberately allows non-Errors: the queue must survive a reconcile "panic".
                    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
                    reject(e);
                },
            });
            this.#pending.set(key, list);
        });
    };

    count(key: string): number {
        return this.calls.filter((c) => c.key === key).length;
    }
    async resolve(key: string, r?: ReconcileResult): Promise<void> {
        const p = this.#pending.get(key)?.shift();
        assert.ok(p, `no pending run for ${key}`);
        p.resolve(r);
        await flush();
    }
    async reject(key: string, e: unknown): Promise<void> {
        const p = this.#pending.get(key)?.shift();
        assert.ok(p, `no pending run for ${key}`);
        p.reject(e);
        await flush();
    }
}

function makeQueue(gate: Gate, opts: Partial<WorkqueueOptions> = {}) {
    const clock = new FakeClock();
    const reports: ReconcileReport[] = [];
    const q = new Workqueue({
        reconcile: gate.reconcile,
        clock,
        concurrency: 1,
        onResult: (r) => reports.push(r),
        ...opts,
    });
    return { q, clock, reports };
}

describe('runtime/workqueue', () => {
    it('processes a key added 1000 times while queued exactly once', async () => {
        const gate = new Gate();
        const { q } = makeQueue(gate);
        q.add('busy');
        await flush();
        for (let i = 0; i < 1000; i++) q.add('k');
        assert.equal(q.len(), 1);
        await gate.resolve('busy');
        assert.equal(gate.count('k'), 1);
        await gate.resolve('k');
        assert.equal(gate.count('k'), 1);
        assert.equal(q.len(), 0);
    });

    it('coalesces a synchronous burst of adds of an idle key into one run', async () => {
        const gate = new Gate();
        const { q } = makeQueue(gate, { concurrency: 4 });
        for (let i = 0; i < 50; i++) q.add('k');
        await flush();
        await gate.resolve('k');
        assert.equal(gate.count('k'), 1);
    });

    it('runs a key added while processing exactly once more, after the current run, never concurrently', async () => {
        const gate = new Gate();
        const { q } = makeQueue(gate, { concurrency: 4 });
        q.add('k');
        await flush();
        assert.equal(gate.count('k'), 1);
        q.add('k');
        q.add('k');
        q.add('k');
        await flush();
        assert.equal(gate.count('k'), 1, 'no second run while the first is in flight');
        assert.equal(q.len(), 0, 'a dirty in-flight key is not in the ready queue');
        await gate.resolve('k');
        assert.equal(gate.count('k'), 2);
        await gate.resolve('k');
        assert.equal(gate.count('k'), 2);
        assert.equal(gate.maxActivePerKey.get('k'), 1);
    });

    it('runs distinct keys concurrently up to the concurrency limit, in FIFO order', async () => {
        const gate = new Gate();
        const { q } = makeQueue(gate, { concurrency: 2 });
        for (const k of ['a', 'b', 'c', 'd']) q.add(k);
        await flush();
        assert.deepEqual(
            gate.calls.map((c) => c.key),
            ['a', 'b'],
        );
        assert.equal(q.activeWorkers(), 2);
        assert.equal(q.len(), 2);
        await gate.resolve('b');
        assert.deepEqual(
            gate.calls.map((c) => c.key),
            ['a', 'b', 'c'],
        );
        await gate.resolve('a');
        await gate.resolve('c');
        await gate.resolve('d');
        assert.deepEqual(
            gate.calls.map((c) => c.key),
            ['a', 'b', 'c', 'd'],
        );
        assert.equal(q.activeWorkers(), 0);
    });

    it('addAfter keeps only the earliest pending timer per key', async () => {
        const gate = new Gate();
        const { q, clock } = makeQueue(gate);
        q.addAfter('k', 1000);
        q.addAfter('k', 5000);
        q.addAfter('k', 300);
        assert.equal(clock.pendingTimers(), 1);
        assert.equal(q.waitingLen(), 1);
        await clock.advanceAsync(299);
        assert.equal(gate.count('k'), 0);
        await clock.advanceAsync(1);
        assert.equal(gate.count('k'), 1);
        await gate.resolve('k');
        await clock.advanceAsync(10_000);
        assert.equal(gate.count('k'), 1, 'the later timers were dropped');
    });

    it('backs off per key exponentially (5 ms doubling, capped) and resets on forget', () => {
        const gate = new Gate();
        const { q, clock } = makeQueue(gate, { maxDelayMs: 1000 });
        const delays: number[] = [];
        for (let i = 0; i < 10; i++) {
            delays.push(q.backoffFor('k'));
            q.addRateLimited('k');
        }
        assert.deepEqual(delays, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        assert.equal(q.numRequeues('k'), 10);
        assert.equal(q.backoffFor('other'), 5, 'backoff is per key');
        q.forget('k');
        assert.equal(q.numRequeues('k'), 0);
        assert.equal(q.backoffFor('k'), 5);
        assert.equal(clock.pendingTimers(), 1, 'rate-limited adds of one key share one timer');
    });

    it('uses the client-go defaults of 5 ms base and 1000 s cap', () => {
        const { q } = makeQueue(new Gate());
        for (let i = 0; i < 40; i++) q.addRateLimited('k');
        assert.equal(q.backoffFor('k'), 1_000_000);
        assert.equal(q.backoffFor('fresh'), 5);
    });

    it('retries a failing reconcile with growing backoff and forgets after success', async () => {
        const gate = new Gate();
        const { q, clock, reports } = makeQueue(gate);
        q.add('k');
        await flush();
        await gate.reject('k', new Error('boom'));
        assert.equal(q.numRequeues('k'), 1);
        assert.equal(reports.at(-1)?.outcome, 'error');
        await clock.advanceAsync(4);
        assert.equal(gate.count('k'), 1);
        await clock.advanceAsync(1);
        assert.equal(gate.count('k'), 2, 'retried after 5 ms');
        await gate.reject('k', new Error('boom'));
        await clock.advanceAsync(9);
        assert.equal(gate.count('k'), 2);
        await clock.advanceAsync(1);
        assert.equal(gate.count('k'), 3, 'retried after 10 ms');
        await gate.resolve('k');
        assert.equal(q.numRequeues('k'), 0, 'success forgets the failures');
        assert.equal(reports.at(-1)?.outcome, 'success');
    });

    it('does not retry a TerminalError but reports it', async () => {
        const gate = new Gate();
        let terminal = 0;
        const { q, clock, reports } = makeQueue(gate, { metrics: { terminalError: () => terminal++ } });
        q.add('k');
        await flush();
        await gate.reject('k', new TerminalError('bad spec'));
        await clock.advanceAsync(60_000);
        assert.equal(gate.count('k'), 1);
        assert.equal(terminal, 1);
        assert.equal(reports[0]?.terminal, true);
        assert.equal(clock.pendingTimers(), 0);
    });

    it('waits at least the Retry-After of an API error or a RetryAfterError, and still counts the failure', async () => {
        const gate = new Gate();
        const { q, clock, reports } = makeQueue(gate);
        q.add('k');
        await flush();
        // client-node's ApiException: code, body, headers (lower-case names from fetch).
        const throttled = Object.assign(new Error('HTTP-Code: 429'), {
            code: 429,
            headers: { 'retry-after': '2' },
        });
        await gate.reject('k', throttled);
        assert.equal(q.numRequeues('k'), 1);
        assert.equal(reports.at(-1)?.terminal, false);
        await clock.advanceAsync(1999);
        assert.equal(
            gate.count('k'),
            1,
            'not before the 2 s the server asked for (the backoff alone is 5 ms)',
        );
        await clock.advanceAsync(1);
        assert.equal(gate.count('k'), 2);
        await gate.reject('k', new RetryAfterError('busy', 300));
        assert.equal(q.numRequeues('k'), 2);
        await clock.advanceAsync(299);
        assert.equal(gate.count('k'), 2);
        await clock.advanceAsync(1);
        assert.equal(gate.count('k'), 3);
        // A Retry-After shorter than the grown backoff does not shorten it.
        for (let i = 0; i < 10; i++) q.addRateLimited('other');
        assert.equal(q.backoffFor('other'), 5 * 2 ** 10);
        q.addRateLimited('other', 1);
        assert.equal(q.numRequeues('other'), 11);
    });

    it('catches thrown non-Errors as panics and retries them', async () => {
        const gate = new Gate();
        let panics = 0;
        const { q, clock, reports } = makeQueue(gate, { metrics: { panic: () => panics++ } });
        q.add('k');
        await flush();
        await gate.reject('k', 'a string');
        assert.equal(panics, 1);
        assert.equal(reports[0]?.panic, true);
        assert.match(reports[0]?.error?.message ?? '', /panicked: a string/);
        await clock.advanceAsync(5);
        assert.equal(gate.count('k'), 2);
    });

    it('catches a synchronous throw from the reconcile function', async () => {
        const clock = new FakeClock();
        const reports: ReconcileReport[] = [];
        const q = new Workqueue({
            clock,
            reconcile: () => {
                throw new Error('sync');
            },
            onResult: (r) => reports.push(r),
        });
        q.add('k');
        await flush();
        assert.equal(reports[0]?.outcome, 'error');
        assert.equal(q.numRequeues('k'), 1);
        await q.shutDown();
    });

    it('requeueAfterMs forgets the failures and requeues after the delay', async () => {
        const gate = new Gate();
        const { q, clock, reports } = makeQueue(gate);
        q.add('k');
        await flush();
        await gate.reject('k', new Error('x'));
        await clock.advanceAsync(5);
        await gate.resolve('k', { requeueAfterMs: 30_000 });
        assert.equal(q.numRequeues('k'), 0);
        assert.equal(reports.at(-1)?.outcome, 'requeue_after');
        await clock.advanceAsync(29_999);
        assert.equal(gate.count('k'), 2);
        await clock.advanceAsync(1);
        assert.equal(gate.count('k'), 3);
    });

    it('gives each run a unique reconcileID and a live AbortSignal', async () => {
        const gate = new Gate();
        const { q } = makeQueue(gate, { concurrency: 2 });
        q.add('a');
        q.add('b');
        await flush();
        const [a, b] = gate.calls;
        assert.ok(a && b);
        assert.match(a.ctx.reconcileID, /^[0-9a-f-]{36}$/);
        assert.notEqual(a.ctx.reconcileID, b.ctx.reconcileID);
        assert.equal(a.ctx.signal.aborted, false);
        await gate.resolve('a');
        await gate.resolve('b');
    });

    it('aborts the signal when a reconcile exceeds its timeout', async () => {
        const gate = new Gate();
        let timeouts = 0;
        const { q, clock } = makeQueue(gate, {
            reconcileTimeoutMs: 1000,
            metrics: { timeout: () => timeouts++ },
        });
        q.add('k');
        await flush();
        const ctx = gate.calls[0]?.ctx;
        await clock.advanceAsync(999);
        assert.equal(ctx?.signal.aborted, false);
        await clock.advanceAsync(1);
        assert.equal(ctx?.signal.aborted, true);
        assert.equal(timeouts, 1);
        await gate.reject('k', ctx?.signal.reason);
    });

    it('shutDown stops new work, drops queued keys, cancels timers and waits for in-flight runs', async () => {
        const gate = new Gate();
        const { q, clock } = makeQueue(gate);
        q.add('a');
        await flush();
        q.add('b');
        q.addAfter('c', 100);
        let drained = false;
        const done = q.shutDown().then(() => {
            drained = true;
        });
        assert.equal(q.len(), 0);
        assert.equal(clock.pendingTimers(), 0);
        q.add('d');
        assert.equal(q.len(), 0, 'adds after shutdown are ignored');
        await flush();
        assert.equal(drained, false, 'waits for the in-flight run');
        assert.equal(gate.calls[0]?.ctx.signal.aborted, false);
        await gate.resolve('a');
        await done;
        assert.equal(drained, true);
        assert.deepEqual(
            gate.calls.map((c) => c.key),
            ['a'],
        );
    });

    it('shutDown with abortInFlight aborts the running reconciles', async () => {
        const gate = new Gate();
        const { q } = makeQueue(gate);
        q.add('a');
        await flush();
        const done = q.shutDown({ abortInFlight: true });
        assert.equal(gate.calls[0]?.ctx.signal.aborted, true);
        await gate.reject('a', new Error('aborted'));
        await done;
        assert.equal(q.numRequeues('a'), 0, 'no retry is scheduled after shutdown');
    });

    it('resolves shutDown at once when idle', async () => {
        const { q } = makeQueue(new Gate());
        await q.shutDown();
        assert.equal(q.isShuttingDown(), true);
    });

    it('reports metrics through the hooks', async () => {
        const gate = new Gate();
        const seen = {
            adds: 0,
            retries: 0,
            depth: [] as number[],
            results: [] as string[],
            active: [] as number[],
        };
        const work: number[] = [];
        const queued: number[] = [];
        const { q, clock } = makeQueue(gate, {
            metrics: {
                add: () => seen.adds++,
                retry: () => seen.retries++,
                depth: (n) => seen.depth.push(n),
                reconcileResult: (r) => seen.results.push(r),
                activeWorkers: (n) => seen.active.push(n),
                workDuration: (s) => work.push(s),
                queueDuration: (s) => queued.push(s),
            },
        });
        q.add('a');
        q.add('a');
        await flush();
        clock.advance(250);
        await gate.reject('a', new Error('x'));
        await clock.advanceAsync(5);
        await gate.resolve('a', { requeueAfterMs: 10 });
        assert.equal(seen.adds, 2, 'one for the first add, one for the retry');
        assert.equal(seen.retries, 1);
        assert.deepEqual(seen.results, ['error', 'requeue_after']);
        assert.equal(work[0], 0.25);
        assert.equal(queued[0], 0);
        assert.ok(seen.depth.includes(1) && seen.depth.at(-1) === 0);
        assert.deepEqual(seen.active.slice(0, 2), [1, 0]);
        await q.shutDown();
    });

    it('tracks unfinished work and the longest running processor', async () => {
        const gate = new Gate();
        const { q, clock } = makeQueue(gate, { concurrency: 2 });
        q.add('a');
        await flush();
        clock.advance(1000);
        q.add('b');
        await flush();
        clock.advance(500);
        assert.equal(q.unfinishedWorkSeconds(), 2);
        assert.equal(q.longestRunningProcessorSeconds(), 1.5);
        await gate.resolve('a');
        await gate.resolve('b');
        assert.equal(q.unfinishedWorkSeconds(), 0);
    });
});
