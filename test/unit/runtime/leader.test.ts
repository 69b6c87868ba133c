import assert from 'node:assert/strict';
import { FakeClock, flush } from '../../support/fake-clock.ts';
import {
    LeaderElector,
    type LeaderElectorOptions,
    type LeaseRecord,
    type LeaseStore,
    type VersionedLease,
    decide,
} from '../../../src/runtime/leader.ts';
import { MemoryLeaseStore } from '../../support/memory-lease-store.ts';

const T0 = Date.UTC(2026, 0, 1);

/** A per-candidate view of the shared store that can be cut off (network partition). */
class Partitionable implements LeaseStore {
    readonly inner: MemoryLeaseStore;
    down = false;
    constructor(inner: MemoryLeaseStore) {
        this.inner = inner;
    }
    #check(): void {
        if (this.down) throw new Error('connect ECONNREFUSED');
    }
    async get(): Promise<VersionedLease | undefined> {
        this.#check();
        return this.inner.get();
    }
    async create(r: LeaseRecord): Promise<VersionedLease> {
        this.#check();
        return this.inner.create(r);
    }
    async update(r: LeaseRecord, v: string): Promise<VersionedLease> {
        this.#check();
        return this.inner.update(r, v);
    }
}

function candidate(
    identity: string,
    store: LeaseStore,
    clock: FakeClock,
    over: Partial<LeaderElectorOptions> = {},
) {
    const log: string[] = [];
    let leadSignal: AbortSignal | undefined;
    const ac = new AbortController();
    const elector = new LeaderElector({
        identity,
        store,
        clock,
        random: () => 0,
        callbacks: {
            onStartedLeading: (signal) => {
                leadSignal = signal;
                log.push('started');
            },
            onStoppedLeading: () => log.push('stopped'),
        },
        onLeaderChange: (b) => log.push(`leader=${b}`),
        ...over,
    });
    const done = elector.run(ac.signal);
    return { elector, log, cancel: () => ac.abort(), done, signal: () => leadSignal };
}

describe('runtime/leader decide()', () => {
    const base = { identity: 'me', leaseDurationSeconds: 15, observed: undefined };

    it('creates the lease when there is none', () => {
        const { decision } = decide({ ...base, now: T0, current: undefined });
        assert.deepEqual(decision, {
            action: 'create',
            record: {
                holderIdentity: 'me',
                leaseDurationSeconds: 15,
                acquireTime: T0,
                renewTime: T0,
                leaseTransitions: 0,
            },
        });
    });

    it('waits for a lease held by another until 15 s after WE last saw it change, whatever its renewTime says', () => {
        const current = {
            version: '7',
            record: {
                holderIdentity: 'other',
                leaseDurationSeconds: 15,
                renewTime: T0 - 3_600_000,
                leaseTransitions: 2,
            },
        };
        const first = decide({ ...base, now: T0, current });
        assert.equal(first.decision.action, 'wait', 'a stale renewTime (clock skew) does not count');
        const later = decide({ ...base, now: T0 + 14_999, current, observed: first.observed });
        assert.equal(later.decision.action, 'wait');
        const expired = decide({ ...base, now: T0 + 15_000, current, observed: first.observed });
        assert.equal(expired.decision.action, 'update');
        if (expired.decision.action !== 'update') return;
        assert.equal(expired.decision.version, '7');
        assert.equal(expired.decision.record.leaseTransitions, 3);
        assert.equal(expired.decision.record.acquireTime, T0 + 15_000);
    });

    it('restarts the expiry clock when the record changes', () => {
        const rec = { holderIdentity: 'other', leaseDurationSeconds: 15, leaseTransitions: 0 };
        const a = decide({ ...base, now: T0, current: { version: '1', record: rec } });
        const b = decide({
            ...base,
            now: T0 + 10_000,
            current: { version: '2', record: rec },
            observed: a.observed,
        });
        assert.equal(b.observed?.observedAt, T0 + 10_000);
        const c = decide({
            ...base,
            now: T0 + 20_000,
            current: { version: '2', record: rec },
            observed: b.observed,
        });
        assert.equal(c.decision.action, 'wait');
    });

    it('renews its own lease keeping acquireTime and transitions', () => {
        const current = {
            version: '3',
            record: {
                holderIdentity: 'me',
                leaseDurationSeconds: 15,
                acquireTime: T0,
                renewTime: T0,
                leaseTransitions: 4,
            },
        };
        const { decision } = decide({ ...base, now: T0 + 2000, current });
        assert.deepEqual(decision, {
            action: 'update',
            version: '3',
            record: {
                holderIdentity: 'me',
                leaseDurationSeconds: 15,
                acquireTime: T0,
                renewTime: T0 + 2000,
                leaseTransitions: 4,
            },
        });
    });

    it('takes a released lease (empty holder) at once', () => {
        const current = {
            version: '9',
            record: { holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 1 },
        };
        const { decision } = decide({ ...base, now: T0, current });
        assert.equal(decision.action, 'update');
    });
});

describe('runtime/leader elector', () => {
    it('acquires a free lease immediately and renews it every retry period', async () => {
        const clock = new FakeClock(T0);
        const store = new MemoryLeaseStore();
        const a = candidate('a', store, clock);
        await flush();
        assert.deepEqual(a.log, ['leader=true', 'started']);
        assert.equal(a.elector.isLeader(), true);
        assert.equal(store.peek()?.record.holderIdentity, 'a');
        await clock.advanceAsync(2000);
        assert.equal(store.peek()?.record.renewTime, T0 + 2000);
        assert.equal(store.peek()?.record.acquireTime, T0);
        a.cancel();
        await a.done;
    });

    it('keeps a second candidate waiting while the leader renews', async () => {
        const clock = new FakeClock(T0);
        const store = new MemoryLeaseStore();
        const a = candidate('a', store, clock);
        await flush();
        const b = candidate('b', store, clock);
        await clock.advanceAsync(60_000);
        assert.equal(b.elector.isLeader(), false);
        assert.equal(b.elector.leader(), 'a');
        assert.deepEqual(b.log, []);
        a.cancel();
        b.cancel();
        await Promise.all([a.done, b.done]);
    });

    it('a partitioned leader stops after the renew deadline; the other takes over after the lease duration', async () => {
        const clock = new FakeClock(T0);
        const shared = new MemoryLeaseStore();
        const viewA = new Partitionable(shared);
        const a = candidate('a', viewA, clock);
        await flush();
        const b = candidate('b', new Partitionable(shared), clock);
        await flush();
        viewA.down = true;
        const cutAt = clock.now();
        // a's last renewal was at T0; it must give up at T0 + 10 s at the latest.
        await clock.advanceAsync(10_000);
        assert.equal(a.elector.isLeader(), false);
        assert.deepEqual(a.log, ['leader=true', 'started', 'leader=false', 'stopped']);
        assert.equal(a.signal()?.aborted, true);
        await a.done;
        assert.equal(
            b.elector.isLeader(),
            false,
            'b still waits: 15 s have not passed since it saw a change',
        );
        await clock.advanceAsync(16_000 - (clock.now() - cutAt));
        assert.equal(b.elector.isLeader(), true);
        assert.equal(shared.peek()?.record.holderIdentity, 'b');
        assert.equal(shared.peek()?.record.leaseTransitions, 1);
        b.cancel();
        await b.done;
    });

    it('releases the lease on cancel so the next candidate acquires at its next retry', async () => {
        const clock = new FakeClock(T0);
        const store = new MemoryLeaseStore();
        const a = candidate('a', store, clock);
        await flush();
        const b = candidate('b', store, clock);
        await flush();
        a.cancel();
        await a.done;
        assert.deepEqual(a.log, ['leader=true', 'started', 'leader=false', 'stopped']);
        assert.equal(store.peek()?.record.holderIdentity, '');
        await clock.advanceAsync(2000);
        assert.equal(b.elector.isLeader(), true, 'no 15 s wait after a release');
        b.cancel();
        await b.done;
    });

    it('does not release when releaseOnCancel is false', async () => {
        const clock = new FakeClock(T0);
        const store = new MemoryLeaseStore();
        const a = candidate('a', store, clock, { releaseOnCancel: false });
        await flush();
        a.cancel();
        await a.done;
        assert.equal(store.peek()?.record.holderIdentity, 'a');
    });

    it('lets exactly one of two simultaneous candidates win (409 on the loser)', async () => {
        const clock = new FakeClock(T0);
        const store = new MemoryLeaseStore();
        const a = candidate('a', store, clock);
        const b = candidate('b', store, clock);
        await clock.advanceAsync(10_000);
        const leaders = [a, b].filter((c) => c.elector.isLeader());
        assert.equal(leaders.length, 1);
        a.cancel();
        b.cancel();
        await Promise.all([a.done, b.done]);
    });

    it('survives transient store errors during renewal within the deadline', async () => {
        const clock = new FakeClock(T0);
        const shared = new MemoryLeaseStore();
        const view = new Partitionable(shared);
        const errors: unknown[] = [];
        const a = candidate('a', view, clock, { onError: (e) => errors.push(e) });
        await flush();
        view.down = true;
        await clock.advanceAsync(5000);
        view.down = false;
        await clock.advanceAsync(2000);
        assert.equal(a.elector.isLeader(), true);
        assert.ok(errors.length > 0);
        await clock.advanceAsync(30_000);
        assert.equal(a.elector.isLeader(), true);
        a.cancel();
        await a.done;
    });

    it('stops as soon as it sees another holder', async () => {
        const clock = new FakeClock(T0);
        const store = new MemoryLeaseStore();
        const a = candidate('a', store, clock);
        await flush();
        const cur = store.peek();
        assert.ok(cur);
        await store.update({ ...cur.record, holderIdentity: 'intruder' }, cur.version);
        await clock.advanceAsync(2000);
        assert.equal(a.elector.isLeader(), false);
        await a.done;
        assert.equal(
            store.peek()?.record.holderIdentity,
            'intruder',
            'does not release a lease it does not hold',
        );
    });

    it('rejects inconsistent timings', () => {
        assert.throws(
            () =>
                new LeaderElector({
                    identity: 'x',
                    store: new MemoryLeaseStore(),
                    callbacks: { onStartedLeading: () => {} },
                    leaseDurationMs: 10_000,
                    renewDeadlineMs: 10_000,
                }),
            /leaseDuration > renewDeadline/,
        );
    });
});
