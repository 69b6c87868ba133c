import assert from 'node:assert/strict';
import { FakeClock, flush } from '../../support/fake-clock.ts';
import {
    EventAggregator,
    type EventInput,
    EventRecorder,
    type EventSink,
    type EventWrite,
    KubeEventSink,
    TokenBucket,
    eventNamespace,
} from '../../../src/runtime/events.ts';

const profile = {
    apiVersion: 'isolation.dev/v1alpha1',
    kind: 'IsolationProfile',
    name: 'payments',
    uid: 'u1',
};
const ev = (reason = 'Applied', note = 'applied objects', regarding = profile): EventInput => ({
    regarding,
    type: 'Normal',
    reason,
    note,
});

describe('runtime/events aggregation', () => {
    it('turns 10,000 identical occurrences into one create and a few throttled series updates', () => {
        const clock = new FakeClock();
        const agg = new EventAggregator({ clock });
        const writes: EventWrite[] = [];
        for (let i = 0; i < 10_000; i++) {
            const w = agg.observe(ev('Applied', `namespace ns-${i} enforced`));
            if (w) {
                writes.push(w);
                agg.succeeded(w);
            }
            if (i % 100 === 0) clock.advance(100); // 10 s in total
        }
        assert.equal(writes.length, 1);
        assert.equal(writes[0]?.op, 'create');
        assert.equal(agg.hasPending(), true);
        clock.advance(30_000);
        const due = agg.due();
        assert.equal(due.length, 1);
        assert.deepEqual(
            due.map((w) => [w.op, w.count]),
            [['update', 10_000]],
        );
        assert.equal(due[0]?.name, writes[0]?.name, 'the same Event is updated');
    });

    it('keeps separate series per object, type and reason', () => {
        const agg = new EventAggregator({ clock: new FakeClock() });
        const a = agg.observe(ev('Applied'));
        const b = agg.observe(ev('Conflict'));
        const c = agg.observe({ ...ev('Applied'), type: 'Warning' });
        const d = agg.observe(ev('Applied', 'x', { ...profile, name: 'web', uid: 'u2' }));
        assert.deepEqual(
            [a, b, c, d].map((w) => w?.op),
            ['create', 'create', 'create', 'create'],
        );
        assert.equal(new Set([a, b, c, d].map((w) => w?.name)).size, 4);
    });

    it('starts a new Event once the window has passed since the last occurrence', () => {
        const clock = new FakeClock();
        const agg = new EventAggregator({ clock, windowMs: 600_000 });
        const first = agg.observe(ev());
        assert.ok(first);
        agg.succeeded(first);
        clock.advance(600_001);
        const second = agg.observe(ev());
        assert.equal(second?.op, 'create');
        assert.notEqual(second?.name, first.name);
        assert.equal(second?.count, 1);
    });

    it('caps writes globally with a token bucket and flushes the rest later', () => {
        const clock = new FakeClock();
        const agg = new EventAggregator({ clock, burst: 5, writesPerSecond: 1 });
        const now: EventWrite[] = [];
        for (let i = 0; i < 20; i++) {
            const w = agg.observe(ev('Applied', 'n', { ...profile, name: `p${i}`, uid: `u${i}` }));
            if (w) now.push(w);
        }
        assert.equal(now.length, 5);
        for (const w of now) agg.succeeded(w);
        assert.equal(agg.due().length, 0, 'no tokens left');
        clock.advance(3000);
        const later = agg.due();
        assert.equal(later.length, 3);
        assert.ok(later.every((w) => w.op === 'create'));
    });

    it('creates an Event with a series when occurrences piled up before the first write', () => {
        const clock = new FakeClock();
        const agg = new EventAggregator({ clock, burst: 1, writesPerSecond: 1 });
        agg.observe(ev('Other'));
        assert.equal(agg.observe(ev()), undefined);
        agg.observe(ev());
        agg.observe(ev());
        clock.advance(1000);
        const [w] = agg.due();
        assert.equal(w?.op, 'create');
        assert.equal(w?.count, 3);
    });

    it('recreates the Event when an update finds it gone, and gives up after repeated failures', () => {
        const clock = new FakeClock();
        const agg = new EventAggregator({ clock, seriesUpdateIntervalMs: 0 });
        const c = agg.observe(ev());
        assert.ok(c);
        agg.succeeded(c);
        const u = agg.observe(ev());
        assert.equal(u?.op, 'update');
        assert.ok(u);
        agg.failed(u, true);
        const again = agg.due();
        assert.equal(again[0]?.op, 'create');
        assert.notEqual(again[0]?.name, c.name);
        agg.failed(again[0]);
        const third = agg.due();
        agg.failed(third[0]!);
        assert.equal(agg.size(), 0, 'dropped after three failures');
        assert.equal(agg.dropped(), 1);
    });

    it('drops new series beyond maxEntries', () => {
        const agg = new EventAggregator({ clock: new FakeClock(), maxEntries: 2, burst: 100 });
        agg.observe(ev('A'));
        agg.observe(ev('B'));
        assert.equal(agg.observe(ev('C')), undefined);
        assert.equal(agg.dropped(), 1);
    });

    it('puts events about cluster-scoped objects in the default namespace', () => {
        assert.equal(eventNamespace(profile), 'default');
        assert.equal(eventNamespace({ ...profile, namespace: 'team-a' }), 'team-a');
    });

    it('token bucket refills at its rate up to the burst', () => {
        const clock = new FakeClock();
        const b = new TokenBucket({ burst: 2, perSecond: 2, clock });
        assert.equal(b.tryTake(), true);
        assert.equal(b.tryTake(), true);
        assert.equal(b.tryTake(), false);
        clock.advance(500);
        assert.equal(b.tryTake(), true);
        clock.advance(60_000);
        assert.equal(b.available(), 2);
    });
});

describe('runtime/events recorder', () => {
    function fakeSink() {
        const writes: EventWrite[] = [];
        let fail: Error | undefined;
        const write = (w: EventWrite): Promise<void> => {
            if (fail) return Promise.reject(fail);
            writes.push(w);
            return Promise.resolve();
        };
        const sink: EventSink = { create: write, update: write };
        return { sink, writes, setFail: (e: Error) => (fail = e) };
    }

    it('writes the first occurrence at once and the aggregated count on the flush timer', async () => {
        const clock = new FakeClock();
        const { sink, writes } = fakeSink();
        const rec = new EventRecorder({
            sink,
            clock,
            reporting: { controller: 'x.dev/op', instance: 'pod-1' },
        });
        for (let i = 0; i < 500; i++) rec.normal(profile, 'Applied', 'applied');
        await flush();
        assert.deepEqual(
            writes.map((w) => [w.op, w.count]),
            [['create', 1]],
        );
        await clock.advanceAsync(30_000);
        assert.deepEqual(
            writes.map((w) => [w.op, w.count]),
            [
                ['create', 1],
                ['update', 500],
            ],
        );
        assert.equal(clock.pendingTimers(), 0, 'the flush timer stops when nothing is pending');
        await rec.stop();
    });

    it('never throws to the caller when the sink fails, and reports the error', async () => {
        const clock = new FakeClock();
        const { sink, setFail } = fakeSink();
        const errors: unknown[] = [];
        setFail(new Error('forbidden'));
        const rec = new EventRecorder({
            sink,
            clock,
            reporting: { controller: 'x.dev/op', instance: 'pod-1' },
            onError: (e) => errors.push(e),
        });
        rec.warning(profile, 'Failed', 'oops');
        await rec.flush();
        assert.equal(errors.length, 1);
        await rec.stop();
    });

    it('KubeEventSink builds a valid events.k8s.io/v1 Event and patches only the series', async () => {
        const calls: { method: string; param: Record<string, unknown>; options?: unknown }[] = [];
        const api = {
            createNamespacedEvent: (param: Record<string, unknown>) => {
                calls.push({ method: 'create', param });
                return Promise.resolve({});
            },
            patchNamespacedEvent: (param: Record<string, unknown>, options: unknown) => {
                calls.push({ method: 'patch', param, options });
                return Promise.resolve({});
            },
        };
        const sink = new KubeEventSink(api as never);
        const t = Date.UTC(2026, 0, 1, 12, 0, 0, 123);
        await sink.create(
            {
                op: 'create',
                key: 'k',
                namespace: 'default',
                name: 'payments.1',
                input: ev(),
                firstTime: t,
                count: 1,
                lastObservedTime: t,
            },
            { controller: 'isolation.dev/isolation-operator', instance: 'pod-1' },
        );
        const body = JSON.parse(JSON.stringify(calls[0]?.param.body)) as Record<string, unknown>;
        assert.equal(calls[0]?.param.namespace, 'default');
        assert.equal(body.eventTime, '2026-01-01T12:00:00.123000Z', 'MicroTime precision');
        assert.deepEqual(body.regarding, {
            apiVersion: profile.apiVersion,
            kind: profile.kind,
            name: 'payments',
            uid: 'u1',
        });
        assert.equal(body.reportingController, 'isolation.dev/isolation-operator');
        assert.equal(body.action, 'Applied');
        assert.equal(body.series, undefined);
        await sink.update({
            op: 'update',
            key: 'k',
            namespace: 'default',
            name: 'payments.1',
            count: 7,
            lastObservedTime: t,
        });
        assert.deepEqual(calls[1]?.param.body, {
            series: { count: 7, lastObservedTime: '2026-01-01T12:00:00.123000Z' },
        });
    });
});
