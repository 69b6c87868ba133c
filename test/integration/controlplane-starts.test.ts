/**
 * The local control plane starts every time. Each iteration builds a fresh PKI (CA, serving and admin certificates
 * signed in parallel, plus three users signed at once, as concurrent tests do), starts etcd and kube-apiserver,
 * waits until the API server serves `default`, and stops both by pid. Before random serial numbers, concurrent
 * signing shared one `ca.srl` and about one start in 17 failed ("unable to load number from ca.srl").
 *
 * Part of the integration suite (so `make test` and CI run it) rather than a separate target: it needs the same
 * binaries and nothing else, and a start-up regression should fail the one command developers run. The controller
 * manager is left out to keep each iteration short; it starts from the same code in every other test.
 */
import assert from 'node:assert/strict';

import { startControlPlane } from '../controlplane/controlplane.ts';

const STARTS = 20;

describe('local control plane start-up', function () {
    it(`starts and stops ${STARTS} times in a row, each with a fresh PKI`, async function () {
        this.timeout(STARTS * 120_000);
        const seconds: number[] = [];
        for (let i = 1; i <= STARTS; i++) {
            const t0 = Date.now();
            const cp = await startControlPlane({ controllerManager: false, handleSignals: false }).catch(
                (err: unknown) => {
                    throw new Error(`start ${i} of ${STARTS} failed: ${String(err)}`, { cause: err });
                },
            );
            try {
                const users = await Promise.all(
                    ['a', 'b', 'c'].map((u) => cp.addUser(`start-${u}`, ['system:authenticated'])),
                );
                assert.equal(users.length, 3);
                const res = await cp.kubectl(['get', '--raw', '/readyz']);
                assert.equal(res.code, 0, `start ${i}: ${res.stderr}`);
            } finally {
                await cp.stop();
            }
            seconds.push((Date.now() - t0) / 1000);
        }
        const sorted = [...seconds].sort((a, b) => a - b);
        console.error(
            `      ${STARTS} starts: median ${sorted[Math.floor(STARTS / 2)]?.toFixed(1)} s, ` +
                `max ${sorted.at(-1)?.toFixed(1)} s (start + users + stop)`,
        );
    });
});
