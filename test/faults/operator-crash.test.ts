/**
 * SIGKILL of the operator in the middle of a converge (a profile edit that rewrites objects in every governed
 * namespace, killed once part of it is written): a new process converges everything, nothing is left half-done or
 * leaked, and nothing the killed process wrote is lost or written wrongly.
 */
import assert from 'node:assert/strict';

import { recordResult } from './results.ts';
import { faultWorld } from './world.ts';

describe('faults: operator SIGKILLed mid-converge', function () {
    it('a new process converges to the plan, nothing missing, leaked or mislabelled, status right', async function () {
        const w = await faultWorld();
        await w.waitConverged('precondition', Date.now());
        const writesBefore = await w.metric('isolation_operator_writes_total');
        await w.applyProfiles(w.profileRevision + 1);
        // Positive barrier: the edit is being written (some writes landed), then the crash.
        const written = await w.waitWrites(writesBefore, 5);
        await w.operator.kill();
        const remaining = await w.check();
        assert.ok(
            remaining.missing.length + remaining.wrong.length + remaining.status.length > 0,
            'the kill came mid-converge (something was still to do)',
        );
        const restartedAt = Date.now();
        const op = await w.startOperator();
        w.replaceOperator(op);
        const s = await w.waitConverged('after the restart', restartedAt);
        await w.assertSameOperator(op.pid);
        recordResult({
            scenario: 'operator SIGKILL mid-converge',
            reconvergeSeconds: s,
            from: 'the new process started',
            namespaces: w.count,
            details: {
                writesBeforeKill: written - writesBefore,
                leftToDoAtKill: remaining.missing.length + remaining.wrong.length,
            },
        });
    });
});
