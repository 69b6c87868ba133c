import assert from 'node:assert/strict';

import type { IsolationProfile } from '../../../src/api/types.ts';
import { AlignmentReport } from '../../../src/controller/alignment.ts';
import { fakeView } from './fake-view.ts';

const p: IsolationProfile = {
    apiVersion: 'isolation.dev/v1alpha1',
    kind: 'IsolationProfile',
    metadata: { name: 'p' },
    spec: { namespaces: { names: ['a'] } },
};

describe('AlignmentReport', () => {
    it('computes once for every profile, again only after a change, and never more often than its interval', () => {
        let now = 0;
        const v = fakeView([p]);
        const counts: Record<string, number>[] = [];
        const r = new AlignmentReport({
            view: v,
            now: () => now,
            minIntervalMs: 2000,
            onComputed: (c) => counts.push(c),
        });
        assert.deepEqual(r.gapsFor('p'), { gaps: [] });
        assert.deepEqual(r.gapsFor('other'), { gaps: [] });
        assert.equal(counts.length, 1, 'one computation answers every profile');
        assert.deepEqual(counts[0], { GrantWithoutPath: 0, OneSidedAllow: 0 });
        now = 500;
        r.touch();
        assert.deepEqual(
            r.gapsFor('p'),
            { gaps: [], retryInMs: 1500 },
            'too soon: the old answer and when to ask',
        );
        assert.equal(counts.length, 1);
        now = 2000;
        assert.deepEqual(r.gapsFor('p'), { gaps: [] });
        assert.equal(counts.length, 2, 'recomputed once due');
        now = 10_000;
        r.gapsFor('p');
        assert.equal(counts.length, 2, 'nothing changed: nothing recomputed');
    });

    it('pauses at least dutyFactor times as long as the last computation took', () => {
        let now = 0;
        const v = fakeView([p]);
        // Each read of the namespaces during a computation costs 300 ms of the injected clock.
        const view = {
            ...v,
            namespaces: () => {
                now += 300;
                return v.namespaces();
            },
        };
        let computed = 0;
        const r = new AlignmentReport({
            view,
            now: () => now,
            minIntervalMs: 2000,
            dutyFactor: 10,
            onComputed: () => computed++,
        });
        r.gapsFor('p');
        assert.equal(computed, 1);
        assert.equal(now, 300, 'the computation took 300 ms');
        r.touch();
        now = 2300;
        assert.deepEqual(
            r.gapsFor('p'),
            { gaps: [], retryInMs: 1000 },
            'the interval alone would allow it; 10 x 300 ms does not yet',
        );
        assert.equal(computed, 1);
        now = 3300;
        r.gapsFor('p');
        assert.equal(computed, 2, 'due after 10 x its duration');
    });
    it('defers a due computation while namespace work is waiting, for at most maxDeferMs', () => {
        let now = 0;
        let backlog = false;
        let computed = 0;
        const r = new AlignmentReport({
            view: fakeView([p]),
            now: () => now,
            minIntervalMs: 2000,
            maxDeferMs: 60_000,
            backlog: () => backlog,
            onComputed: () => computed++,
        });
        r.gapsFor('p');
        assert.equal(computed, 1);
        backlog = true;
        now = 10_000;
        r.touch();
        now = 20_000;
        r.touch();
        assert.deepEqual(r.gapsFor('p'), { gaps: [], retryInMs: 2000 }, 'due, but put off');
        now = 69_000;
        assert.deepEqual(r.gapsFor('p'), { gaps: [], retryInMs: 1000 }, 'asks again when the deferral ends');
        assert.equal(computed, 1);
        now = 70_000;
        r.gapsFor('p');
        assert.equal(computed, 2, '60 s after the first unchecked change it runs, backlog or not');
        now = 80_000;
        r.touch();
        backlog = false;
        now = 82_000;
        r.gapsFor('p');
        assert.equal(computed, 3, 'no backlog: runs when due');
    });
});
