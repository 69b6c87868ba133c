import assert from 'node:assert/strict';
import { RealClock } from '../../../src/runtime/clock.ts';
import { FakeClock } from '../../support/fake-clock.ts';

describe('runtime/clock', () => {
    it('fires due timers in due-time order, ties in creation order', () => {
        const clock = new FakeClock(0);
        const fired: string[] = [];
        clock.setTimeout(() => fired.push('b@20'), 20);
        clock.setTimeout(() => fired.push('a@10'), 10);
        clock.setTimeout(() => fired.push('c@20'), 20);
        clock.setTimeout(() => fired.push('d@30'), 30);
        clock.advance(20);
        assert.deepEqual(fired, ['a@10', 'b@20', 'c@20']);
        assert.equal(clock.now(), 20);
        assert.equal(clock.pendingTimers(), 1);
        assert.equal(clock.nextTimerAt(), 30);
    });

    it('sets now() to each timer due time while it fires and fires timers scheduled during advance', () => {
        const clock = new FakeClock(1000);
        const seen: number[] = [];
        clock.setTimeout(() => {
            seen.push(clock.now());
            clock.setTimeout(() => seen.push(clock.now()), 5);
        }, 10);
        clock.advance(100);
        assert.deepEqual(seen, [1010, 1015]);
        assert.equal(clock.now(), 1100);
    });

    it('cancels timers', () => {
        const clock = new FakeClock();
        let fired = false;
        const h = clock.setTimeout(() => (fired = true), 10);
        clock.clearTimeout(h);
        clock.advance(100);
        assert.equal(fired, false);
        assert.equal(clock.pendingTimers(), 0);
    });

    it('sleep resolves on advance and rejects with the abort reason', async () => {
        const clock = new FakeClock();
        let done = false;
        const p = clock.sleep(50).then(() => (done = true));
        await clock.advanceAsync(49);
        assert.equal(done, false);
        await clock.advanceAsync(1);
        await p;
        assert.equal(done, true);

        const ac = new AbortController();
        const q = clock.sleep(50, ac.signal);
        ac.abort();
        await assert.rejects(q, { name: 'AbortError' });
        assert.equal(clock.pendingTimers(), 0);
    });

    it('the real clock sleeps for real (a few ms)', async () => {
        const clock = new RealClock({ unref: true });
        const t0 = clock.now();
        await clock.sleep(3);
        assert.ok(clock.now() - t0 >= 2);
    });
});
