/**
 * API errors injected between the operator and the API server by the fault proxy: 429 with Retry-After, persistent
 * 500 on one object, random 503s, slow responses and watch streams cut every second. The operator must honour
 * Retry-After (a throttled request is not sent again before the time the server named), back off instead of looping
 * hot, never drop work (every scenario ends converged to the plan) and never crash (same process throughout).
 * Everything is judged from the proxy's log of what it received and injected, not from the operator's own account.
 */
import assert from 'node:assert/strict';

import { testEnv } from '../integration/env.ts';
import { eventually, sleep } from '../support/eventually.ts';
import { readCluster } from './converged.ts';
import { namespaceSpec, teamOf } from './fixture.ts';
import type { ProxyLogEntry } from './proxy.ts';
import { recordResult } from './results.ts';
import { faultWorld, type FaultWorld } from './world.ts';

const RETRY_AFTER_SECONDS = 2;
const WINDOW_MS = Number(process.env.FAULTS_ERROR_WINDOW_MS ?? 15_000);
const RELISTS = 'isolation_operator_informer_relists_total';

const sameRequest = (a: ProxyLogEntry, b: ProxyLogEntry) => a.method === b.method && a.path === b.path;
const isLease = (e: ProxyLogEntry) => e.path.includes('/apis/coordination.k8s.io/');

/** Converged precondition; returns the operator's pid and the instant the scenario starts. */
async function begin(w: FaultWorld): Promise<{ pid: number; t0: number }> {
    await w.waitConverged('precondition', Date.now());
    return { pid: w.operator.pid, t0: Date.now() };
}

/** Relabels a few fixture namespaces to the next team (work for the namespace controller). */
async function relabelSome(w: FaultWorld, shift: number): Promise<void> {
    await w.applyNamespaces(Array.from({ length: 14 }, (_, i) => namespaceSpec(i, teamOf(i + shift))));
}

describe('faults: API errors injected between the operator and the API server', function () {
    it('429 with Retry-After: a throttled request is sent again no sooner than Retry-After, and all converges', async function () {
        const w = await faultWorld();
        const { pid, t0 } = await begin(w);
        const remove = w.proxy.addRule({
            name: 'throttle-writes',
            methods: ['PATCH', 'POST', 'PUT', 'DELETE'],
            // The objects the operator generates and labels (its Events are best-effort and never retried).
            path: /\/(networkpolicies|rolebindings|namespaces)(\/|$)/,
            watch: false,
            times: 6,
            action: { kind: 'status', status: 429, retryAfterSeconds: RETRY_AFTER_SECONDS },
        });
        await w.applyProfiles(w.profileRevision + 1);
        const s = await w.waitConverged('after throttled writes', t0);
        remove();
        const log = w.proxy.entriesSince(t0);
        const throttled = log.filter((e) => e.rule === 'throttle-writes');
        assert.equal(throttled.length, 6, 'six writes throttled');
        const early: string[] = [];
        const retriedAfterMs: number[] = [];
        for (const e of throttled) {
            const retry = log.find((x) => x.at > e.at && x !== e && sameRequest(x, e));
            assert.ok(retry, `${e.method} ${e.path} was sent again (no work dropped)`);
            const gap = retry.at - e.at;
            retriedAfterMs.push(gap);
            if (gap < RETRY_AFTER_SECONDS * 1000) early.push(`${e.method} ${e.path} after ${gap} ms`);
        }
        assert.deepEqual(early, [], `retries sooner than Retry-After (${RETRY_AFTER_SECONDS} s)`);
        await w.assertSameOperator(pid);
        recordResult({
            scenario: `429 with Retry-After ${RETRY_AFTER_SECONDS} s on 6 writes`,
            reconvergeSeconds: s,
            from: 'the profile edit (faults active throughout)',
            namespaces: w.count,
            details: { minRetryAfterMs: Math.min(...retriedAfterMs) },
        });
    });

    it('a persistent 500 on one object: the operator backs off (no hot loop), then converges once it clears', async function () {
        const w = await faultWorld();
        const { pid, t0 } = await begin(w);
        const snap = await readCluster(testEnv().kc());
        const target = snap.networkPolicies.find(
            (np) => np.metadata?.name === 'isolation-ingress-from-ingress',
        );
        assert.ok(target?.metadata?.namespace, 'a faults-a namespace with its ingress policy');
        const path = `/apis/networking.k8s.io/v1/namespaces/${target.metadata.namespace}/networkpolicies/isolation-ingress-from-ingress`;
        const remove = w.proxy.addRule({
            name: 'broken-object',
            methods: ['PUT', 'PATCH'],
            path: new RegExp(`^${path}$`),
            action: { kind: 'status', status: 500 },
        });
        await w.applyProfiles(w.profileRevision + 1); // changes that policy's port
        await eventually('three failed attempts', () =>
            w.proxy.entriesSince(t0).filter((e) => e.rule === 'broken-object').length >= 3 ? true : undefined,
        120_000); // prettier-ignore
        const first = w.proxy.entriesSince(t0).find((e) => e.rule === 'broken-object')!;
        const windowEnd = first.at + WINDOW_MS;
        await sleep(Math.max(0, windowEnd - Date.now()));
        const attempts = w.proxy.log.filter((e) => e.rule === 'broken-object' && e.at <= windowEnd).length;
        remove();
        const cleared = Date.now();
        const s = await w.waitConverged('after the 500s stopped', cleared);
        // Exponential backoff from 5 ms doubles each failure: about log2(window / 5 ms) attempts in the window. A hot
        // loop would make hundreds. Other changes in the namespace may add a few immediate attempts.
        const bound = Math.ceil(Math.log2(WINDOW_MS / 5)) + 10;
        assert.ok(
            attempts >= 3 && attempts <= bound,
            `${attempts} attempts in ${WINDOW_MS} ms (bound ${bound})`,
        );
        const fixed = w.proxy
            .entriesSince(cleared)
            .find((e) => (e.method === 'PUT' || e.method === 'PATCH') && e.path === path);
        assert.ok(fixed && fixed.status < 300, 'the object was written once the errors stopped');
        await w.assertSameOperator(pid);
        recordResult({
            scenario: `persistent 500 on one object for ${WINDOW_MS / 1000} s`,
            reconvergeSeconds: s,
            from: 'the errors stopped',
            namespaces: w.count,
            details: { attemptsInWindow: attempts },
        });
    });

    it('random 503s, slow responses and cut watch streams: converges, same process, no relist', async function () {
        const w = await faultWorld();
        const { pid, t0 } = await begin(w);
        const relistsBefore = await w.metric(RELISTS);
        const removes = [
            w.proxy.addRule({
                name: 'cut-watches',
                watch: true,
                action: { kind: 'dropWatch', afterMs: 1000 },
            }),
            w.proxy.addRule({
                name: 'random-503',
                watch: false,
                probability: 0.2,
                action: { kind: 'status', status: 503 },
            }),
            w.proxy.addRule({
                name: 'slow',
                watch: false,
                probability: 0.3,
                action: { kind: 'delay', ms: 1500 },
            }),
        ];
        // Watch streams open now started before the rule: cut them so their replacements meet it.
        w.proxy.cutWatches();
        // Changes while the faults are active, spread over the window.
        await w.applyProfiles(w.profileRevision + 1);
        await sleep(WINDOW_MS / 3);
        await relabelSome(w, 2);
        await sleep(WINDOW_MS / 3);
        const edits = await w.handEdits(3);
        await sleep(WINDOW_MS / 3);
        for (const r of removes) r();
        const cleared = Date.now();
        const injected = w.proxy.entriesSince(t0).filter((e) => e.rule !== undefined && !isLease(e));
        const count = (rule: string) => injected.filter((e) => e.rule === rule).length;
        const s = await w.waitConverged('after the faults stopped', cleared);
        assert.ok(
            count('cut-watches') > 0 && count('random-503') > 0 && count('slow') > 0,
            'every fault was injected',
        );
        // A cut watch resumes from its last resourceVersion (the watch cache still has it): no LIST again.
        assert.equal(await w.metric(RELISTS), relistsBefore, 'informer relists');
        await w.assertSameOperator(pid);
        recordResult({
            scenario: `random 503 (20%), slow responses (30%, 1.5 s), watches cut every 1 s, for ${WINDOW_MS / 1000} s`,
            reconvergeSeconds: s,
            from: 'the faults stopped',
            namespaces: w.count,
            details: {
                watchesCut: count('cut-watches'),
                injected503: count('random-503'),
                delayed: count('slow'),
                handEdits: edits,
            },
        });
    });
});
