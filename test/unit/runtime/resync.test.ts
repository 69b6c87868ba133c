import assert from 'node:assert/strict';
import { FakeClock, flush } from '../../support/fake-clock.ts';
import { Resync } from '../../../src/runtime/resync.ts';

describe('runtime/resync', () => {
    it('defaults to 10 minutes with ±10 % jitter', () => {
        const lo = new Resync({ callback: () => {}, random: () => 0 });
        const hi = new Resync({ callback: () => {}, random: () => 0.999999 });
        const mid = new Resync({ callback: () => {}, random: () => 0.5 });
        assert.equal(lo.nextDelay(), 540_000);
        assert.equal(hi.nextDelay(), 660_000);
        assert.equal(mid.nextDelay(), 600_000);
    });

    it('calls the callback once per jittered period until stopped', async () => {
        const clock = new FakeClock();
        let calls = 0;
        const r = new Resync({ callback: () => void calls++, clock, intervalMs: 1000, random: () => 0 });
        r.start();
        await clock.advanceAsync(899);
        assert.equal(calls, 0);
        await clock.advanceAsync(1);
        assert.equal(calls, 1);
        await clock.advanceAsync(900);
        assert.equal(calls, 2);
        r.stop();
        await clock.advanceAsync(10_000);
        assert.equal(calls, 2);
        assert.equal(clock.pendingTimers(), 0);
    });

    it('does not overlap a slow async callback and reports its errors', async () => {
        const clock = new FakeClock();
        const errors: unknown[] = [];
        let release: () => void = () => {};
        let calls = 0;
        const r = new Resync({
            clock,
            intervalMs: 100,
            jitter: 0,
            onError: (e) => errors.push(e),
            callback: async () => {
                calls++;
                await new Promise<void>((res) => (release = res));
                throw new Error('resync failed');
            },
        });
        r.start();
        await clock.advanceAsync(100);
        await clock.advanceAsync(1000);
        assert.equal(calls, 1, 'no second run while the first is pending');
        release();
        await flush();
        assert.equal(errors.length, 1);
        await clock.advanceAsync(100);
        assert.equal(calls, 2);
        r.stop();
    });
});
