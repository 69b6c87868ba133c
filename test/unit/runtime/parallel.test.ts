import assert from 'node:assert/strict';

import { inParallel } from '../../../src/runtime/parallel.ts';

/** A call that stays pending until released by the test. */
function gate() {
    const pending = new Map<number, () => void>();
    const started: number[] = [];
    const fn = (i: number) =>
        new Promise<void>((resolve) => {
            started.push(i);
            pending.set(i, () => {
                pending.delete(i);
                resolve();
            });
        });
    return { pending, started, fn };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('inParallel', () => {
    it('keeps at most `limit` calls pending and starts them in item order', async () => {
        const g = gate();
        const done = inParallel([1, 2, 3, 4, 5], 2, g.fn);
        await tick();
        assert.deepEqual(g.started, [1, 2]);
        g.pending.get(2)!();
        await tick();
        assert.deepEqual(g.started, [1, 2, 3]);
        assert.equal(g.pending.size, 2);
        for (let i = 0; i < 5 && g.pending.size > 0; i++) {
            for (const release of [...g.pending.values()]) release();
            await tick();
        }
        await done;
        assert.deepEqual(g.started, [1, 2, 3, 4, 5]);
    });

    it('waits for every call after a failure, then throws the first error', async () => {
        const finished: number[] = [];
        const err = new Error('boom 1');
        await assert.rejects(
            inParallel([1, 2, 3], 3, async (i) => {
                await tick();
                if (i === 1) throw err;
                if (i === 2) throw new Error('boom 2');
                await tick();
                finished.push(i);
            }),
            (e: unknown) => e === err,
        );
        assert.deepEqual(finished, [3], 'the slow call finished before the rejection');
    });

    it('does nothing for no items and treats a limit below one as one', async () => {
        let calls = 0;
        await inParallel([], 4, () => Promise.resolve(void calls++));
        assert.equal(calls, 0);
        const g = gate();
        const done = inParallel([1, 2], 0, g.fn);
        await tick();
        assert.deepEqual(g.started, [1]);
        g.pending.get(1)!();
        await tick();
        g.pending.get(2)!();
        await done;
    });
});
