/**
 * Churn: as many namespaces as the fixture has are created, a quarter of them deleted again, a quarter of the
 * fixture relabelled to another team, the profiles edited twice, and generated objects edited, deleted and
 * relabelled by hand — all at once, as a busy cluster does. Once the churn stops the same operator process must
 * converge to the plan: nothing missing, nothing leaked (no object left behind for a namespace that changed hands),
 * nothing mislabelled.
 */
import { testEnv } from '../integration/env.ts';
import { namespaceName, namespaceSpec, teamOf } from './fixture.ts';
import { recordResult } from './results.ts';
import { faultWorld } from './world.ts';

/** Churn namespaces are numbered from here, clear of the fixture's. */
const CHURN_BASE = 50_000;

describe('faults: churn of namespaces, profiles and generated objects', function () {
    it('converges once the churn stops, nothing missing, leaked or mislabelled', async function () {
        const w = await faultWorld();
        await w.waitConverged('precondition', Date.now());
        const pid = w.operator.pid;
        const n = w.count;
        const created = Array.from({ length: n }, (_, k) => namespaceSpec(CHURN_BASE + k));
        const deleted = created.filter((_, k) => k % 4 === 0).map((s) => s.name);
        // Relabel a quarter of the fixture (every fourth namespace moves to the next team).
        const relabelled = Array.from({ length: n }, (_, i) => i)
            .filter((i) => i % 4 === 1)
            .map((i) => namespaceSpec(i, teamOf(i + 1)));

        const churnStart = Date.now();
        await Promise.all([
            (async () => {
                await w.applyNamespaces(created);
                const res = await testEnv().kubectl(['delete', 'namespace', '--wait=false', ...deleted]);
                if (res.code !== 0) throw new Error(`delete namespaces: ${res.stderr}`);
            })(),
            (async () => {
                await w.applyNamespaces(relabelled);
                await w.applyProfiles(w.profileRevision + 1);
                await w.handEdits(Math.max(5, Math.floor(n / 10)));
                await w.applyProfiles(w.profileRevision + 1);
            })(),
        ]);
        const stopped = Date.now();
        const s = await w.waitConverged('after the churn stopped', stopped);
        await w.assertSameOperator(pid);
        recordResult({
            scenario: 'churn (namespaces created/deleted/relabelled, profile edits, hand edits)',
            reconvergeSeconds: s,
            from: 'the churn stopped',
            namespaces: n,
            details: {
                created: created.length,
                deleted: deleted.length,
                relabelled: relabelled.length,
                churnSeconds: Math.round((stopped - churnStart) / 100) / 10,
                firstDeleted: namespaceName(CHURN_BASE),
            },
        });
    });
});
