import assert from 'node:assert/strict';
import fc from 'fast-check';

import type { IsolationProfile } from '../../../src/api/types.ts';
import type { NamespaceInfo, ProfileGovernance } from '../../../src/plan/index.ts';
import {
    DEFAULT_PLAN_SETTINGS,
    GovernanceIndex,
    neverGovernSet,
    resolveNamespace,
} from '../../../src/plan/index.ts';
import { profile } from './fixtures.ts';

const never = neverGovernSet(DEFAULT_PLAN_SETTINGS);
const access = { name: (n: NamespaceInfo) => n.name, labels: (n: NamespaceInfo) => n.labels };

/** The answer from scratch, one `resolveNamespace` per namespace: the oracle the index must agree with. */
function fromScratch(
    profiles: IsolationProfile[],
    namespaces: NamespaceInfo[],
): Map<string, ProfileGovernance> {
    const out = new Map<string, ProfileGovernance>();
    for (const p of profiles)
        out.set(p.metadata.name, { selected: [], governed: [], conflicts: [], skipped: [] });
    const sorted = [...namespaces].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const ns of sorted) {
        const r = resolveNamespace(ns, profiles, never);
        const winner = r.winner?.metadata.name;
        for (const p of r.skippedBy) out.get(p.metadata.name)!.skipped.push(ns.name);
        for (const p of [...(r.winner ? [r.winner] : []), ...r.losers, ...r.leaving])
            out.get(p.metadata.name)!.selected.push(ns.name);
        if (winner) out.get(winner)!.governed.push(ns.name);
        for (const p of r.losers)
            out.get(p.metadata.name)!.conflicts.push({ namespace: ns.name, governedBy: winner! });
    }
    for (const v of out.values()) v.selected.sort();
    return out;
}

function assertAgrees(
    index: GovernanceIndex<NamespaceInfo>,
    profiles: IsolationProfile[],
    namespaces: NamespaceInfo[],
): void {
    const want = fromScratch(profiles, namespaces);
    for (const p of profiles) assert.deepEqual(index.forProfile(p.metadata.name), want.get(p.metadata.name));
    const governedBy = index.snapshot().governedBy;
    for (const ns of namespaces) {
        assert.equal(governedBy.get(ns.name), resolveNamespace(ns, profiles, never).winner?.metadata.name);
    }
}

const team = (name: string, spec: Partial<IsolationProfile['spec']>, meta = {}) => profile(name, spec, meta);

describe('plan/governance: GovernanceIndex', () => {
    const platform = team('platform', {
        namespaces: { selector: { matchLabels: { env: 'prod' } } },
        priority: 10,
    });
    const payments = team('payments', { namespaces: { names: ['pay', 'tools', 'kube-system'] } });

    it('resolves only the namespaces whose object changed, and nothing when nothing did', () => {
        const index = new GovernanceIndex(never, access);
        const pay = { name: 'pay', labels: { env: 'prod' } };
        const tools = { name: 'tools' };
        const other = { name: 'other', labels: { env: 'prod' } };
        index.update([platform, payments], [pay, tools, other]);
        assert.equal(index.resolutions, 3);
        const first = index.forProfile('payments');

        index.update([platform, payments], [pay, tools, other]);
        assert.equal(index.resolutions, 3, 'the same objects again: no work');
        assert.equal(index.forProfile('payments'), first, 'an unchanged answer is the cached one');

        const relabelled = { name: 'tools', labels: { env: 'prod' } };
        index.update([platform, payments], [pay, relabelled, other]);
        assert.equal(index.resolutions, 4, 'one namespace replaced: one resolution');
        assertAgrees(index, [platform, payments], [pay, relabelled, other]);
        assert.deepEqual(index.forProfile('payments')?.conflicts, [
            { namespace: 'pay', governedBy: 'platform' },
            { namespace: 'tools', governedBy: 'platform' },
        ]);
    });

    it('forgets a namespace that is gone, even when another arrives in the same update', () => {
        const index = new GovernanceIndex(never, access);
        const pay = { name: 'pay', labels: { env: 'prod' } };
        index.update([platform, payments], [pay, { name: 'tools' }]);
        const fresh = { name: 'fresh', labels: { env: 'prod' } };
        index.update([platform, payments], [pay, fresh]);
        assertAgrees(index, [platform, payments], [pay, fresh]);
        assert.deepEqual(index.forProfile('payments')?.governed, []);
        assert.deepEqual(index.forProfile('platform')?.governed, ['fresh', 'pay']);
    });

    it('resolves everything again when any profile object is new, so a spec change is never missed', () => {
        const index = new GovernanceIndex(never, access);
        const namespaces = [{ name: 'pay', labels: { env: 'prod' } }, { name: 'tools' }];
        index.update([platform, payments], namespaces);
        const lowered = team('platform', {
            namespaces: { selector: { matchLabels: { env: 'prod' } } },
            priority: -1,
        });
        index.update([lowered, payments], namespaces);
        assert.equal(index.resolutions, 4);
        assert.deepEqual(index.forProfile('payments')?.governed, ['pay', 'tools']);
        assert.deepEqual(index.forProfile('platform')?.conflicts, [
            { namespace: 'pay', governedBy: 'payments' },
        ]);
        const gone = team('payments', payments.spec, { deletionTimestamp: '2025-05-05T00:00:00Z' });
        index.update([lowered, gone], namespaces);
        assertAgrees(index, [lowered, gone], namespaces);
        assert.deepEqual(
            index.forProfile('payments')?.selected,
            ['pay', 'tools'],
            'a deleting profile still selects',
        );
        assert.deepEqual(index.forProfile('payments')?.governed, []);
    });

    it('does not resolve again for a status write (same generation), but does for a spec change', () => {
        const index = new GovernanceIndex(never, access);
        const namespaces = [{ name: 'pay', labels: { env: 'prod' } }, { name: 'tools' }];
        const v1 = team('payments', payments.spec, { generation: 1 });
        index.update([platform, v1], namespaces);
        assert.equal(index.resolutions, 2);
        const withStatus = { ...v1, status: { observedGeneration: 1 } };
        index.update([platform, withStatus], namespaces);
        assert.equal(index.resolutions, 2, 'a new object with the same generation: no work');
        const narrowed = team('payments', { namespaces: { names: ['tools'] } }, { generation: 2 });
        index.update([platform, narrowed], namespaces);
        assert.equal(index.resolutions, 4, 'a new generation: every namespace again');
        assertAgrees(index, [platform, narrowed], namespaces);
        assert.deepEqual(index.forProfile('payments')?.selected, ['tools']);
    });

    it('agrees with a from-scratch answer after any sequence of namespace and profile changes', () => {
        const envs = ['prod', 'dev', undefined] as const;
        const nsName = fc.constantFrom('a', 'b', 'c', 'd', 'kube-system');
        const change = fc.oneof(
            fc.record({ op: fc.constant('label' as const), ns: nsName, env: fc.constantFrom(...envs) }),
            fc.record({ op: fc.constant('delete' as const), ns: nsName }),
            fc.record({
                op: fc.constant('profile' as const),
                name: fc.constantFrom('p1', 'p2', 'p3'),
                env: fc.constantFrom(...envs),
                names: fc.subarray(['a', 'b', 'kube-system']),
                priority: fc.integer({ min: -2, max: 2 }),
                mode: fc.constantFrom('Enforce', 'DryRun'),
                deleting: fc.boolean(),
                present: fc.boolean(),
            }),
        );
        fc.assert(
            fc.property(fc.array(change, { maxLength: 30 }), (changes) => {
                const namespaces = new Map<string, NamespaceInfo>();
                const profiles = new Map<string, IsolationProfile>();
                const index = new GovernanceIndex(never, access);
                for (const c of changes) {
                    if (c.op === 'label') {
                        namespaces.set(c.ns, c.env ? { name: c.ns, labels: { env: c.env } } : { name: c.ns });
                    } else if (c.op === 'delete') {
                        namespaces.delete(c.ns);
                    } else if (!c.present) {
                        profiles.delete(c.name);
                    } else {
                        const selector = c.env ? { selector: { matchLabels: { env: c.env } } } : {};
                        const p = team(
                            c.name,
                            {
                                namespaces: { names: c.names, ...selector },
                                priority: c.priority,
                                mode: c.mode,
                            },
                            c.deleting ? { deletionTimestamp: '2025-05-05T00:00:00Z' } : {},
                        );
                        profiles.set(c.name, p);
                    }
                    const ps = [...profiles.values()];
                    const nss = [...namespaces.values()];
                    index.update(ps, nss);
                    assertAgrees(index, ps, nss);
                }
            }),
            { seed: 20261207, numRuns: 300 },
        );
    });
});
