/**
 * Watch positions expire: with the API server's watch cache off (watches go to etcd), the operator's watches are
 * cut and refused at the proxy while the cluster changes (namespaces created and relabelled, a profile edited,
 * generated objects edited and deleted by hand) and etcd compacts its history past every position the operator
 * holds. When watches are allowed again the informers' resumed watches get 410 Gone; they must relist (counted as
 * `expired`) and the operator must converge to the plan: nothing that changed while it was blind may be missed.
 */
import assert from 'node:assert/strict';

import { testEnv } from '../integration/env.ts';
import { eventually } from '../support/eventually.ts';
import { namespaceSpec, teamOf } from './fixture.ts';
import { recordResult } from './results.ts';
import { faultWorld } from './world.ts';

const RELISTS = 'isolation_operator_informer_relists_total';

describe('faults: watch expiry (etcd compaction, watch cache off)', function () {
    after(async function () {
        this.timeout(300_000);
        // Back to the production configuration (watch cache on) for whatever runs next.
        await testEnv().controlPlane.restartApiServer(500);
    });

    it('informers relist after 410 Gone and the operator converges, nothing missed', async function () {
        const w = await faultWorld();
        const cp = testEnv().controlPlane;
        await w.waitConverged('precondition', Date.now());
        const pid = w.operator.pid;
        const restartedAt = Date.now();
        await cp.restartApiServer(500, ['--watch-cache=false']);
        await w.waitConverged('after the API server restarted without its watch cache', restartedAt);
        // Barrier: the operator watches again (through the proxy) since the restart.
        await eventually('the operator watching again', () =>
            w.proxy.entriesSince(restartedAt).filter((e) => e.watch && e.status === 200).length >= 4 ? true : undefined,
        60_000); // prettier-ignore
        const expiredBefore = await w.metric(RELISTS, { reason: 'expired' });

        const unblock = w.proxy.addRule({
            name: 'refuse-watches',
            watch: true,
            action: { kind: 'status', status: 503 },
        });
        const cut = w.proxy.cutWatches();
        assert.ok(cut >= 4, `watch streams cut: ${cut}`);

        // The cluster changes while the operator is blind.
        const extra = Array.from({ length: 7 }, (_, k) => namespaceSpec(w.count + 50 + k));
        await w.applyNamespaces(extra);
        const relabelled = Array.from({ length: 14 }, (_, i) => namespaceSpec(i, teamOf(i + 1)));
        await w.applyNamespaces(relabelled);
        await w.applyProfiles(w.profileRevision + 1);
        const edits = await w.handEdits(5);

        // Compact etcd past every position the operator knows.
        const revision = await cp.etcdRevision();
        await cp.compactEtcd(revision);
        const refused = w.proxy.log.filter((e) => e.rule === 'refuse-watches').length;
        unblock();
        const reopened = Date.now();

        // Bound: an own write the cache never confirmed is re-checked by the overlay sweep within two TTLs (2 min);
        // before that sweep existed, this took up to the 10-min resync (docs/reliability.md).
        const s = await w.waitConverged('after watches were allowed again', reopened, 180_000);
        const expired = await eventually('relists counted as expired', async () => {
            const n = await w.metric(RELISTS, { reason: 'expired' });
            return n > expiredBefore ? n - expiredBefore : undefined;
        });
        await w.assertSameOperator(pid);
        recordResult({
            scenario: 'watch expiry (etcd compaction, watch cache off)',
            reconvergeSeconds: s,
            from: 'watches were allowed again',
            namespaces: w.count,
            details: {
                watchStreamsCut: cut,
                watchesRefused: refused,
                expiredRelists: expired,
                handEdits: edits,
            },
        });
    });
});
