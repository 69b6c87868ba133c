import assert from 'node:assert/strict';
import {
    compareProfiles,
    computeGovernance,
    DEFAULT_PLAN_SETTINGS,
    isDeleting,
    neverGovernSet,
    priorityOf,
    resolveNamespace,
} from '../../../src/plan/index.ts';
import { profile } from './fixtures.ts';

const never = neverGovernSet(DEFAULT_PLAN_SETTINGS);
const shared = { names: ['shared'] };

/** All permutations of a small array. */
function permutations<T>(items: T[]): T[][] {
    if (items.length <= 1) return [items];
    return items.flatMap((item, i) =>
        permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
    );
}

describe('plan/conflicts', () => {
    it('lets an enforcing profile win over a DryRun or suspended one whatever their priorities', () => {
        const enforcing = profile('enforcing', { namespaces: shared, priority: -5 });
        const dry = profile('dry', { namespaces: shared, priority: 100, mode: 'DryRun' });
        const paused = profile('paused', { namespaces: shared, priority: 100, suspend: true });
        for (const order of permutations([enforcing, dry, paused])) {
            assert.equal(
                resolveNamespace({ name: 'shared' }, order, never).winner?.metadata.name,
                'enforcing',
            );
        }
        // Among non-enforcing profiles, priority still decides.
        const r = resolveNamespace(
            { name: 'shared' },
            [dry, profile('low', { namespaces: shared, suspend: true })],
            never,
        );
        assert.equal(r.winner?.metadata.name, 'dry');
    });

    it('clamps a tenant profile priority into the tenant range so only the platform outranks every tenant', () => {
        const tenantNs = { name: 'shared', labels: { 'isolation.dev/tenant': 't' } };
        const tenant = profile(
            'tenant',
            { tenant: 't', namespaces: shared, priority: 1_000_000 },
            { creationTimestamp: '2020-01-01T00:00:00Z' },
        );
        const platform = profile(
            'platform',
            { namespaces: shared, priority: 1000 },
            { creationTimestamp: '2025-01-01T00:00:00Z' },
        );
        assert.equal(priorityOf(tenant), 999);
        assert.equal(resolveNamespace(tenantNs, [tenant, platform], never).winner?.metadata.name, 'platform');
    });

    it('never lets a tenant profile select a namespace of another tenant, or one without a tenant', () => {
        const p = profile('shop', { tenant: 'shop', namespaces: { names: ['a', 'b', 'c'] } });
        const a = { name: 'a', labels: { 'isolation.dev/tenant': 'shop' } };
        const b = { name: 'b', labels: { 'isolation.dev/tenant': 'payments' } };
        const c = { name: 'c' };
        assert.equal(resolveNamespace(a, [p], never).winner?.metadata.name, 'shop');
        assert.equal(resolveNamespace(b, [p], never).winner, null);
        assert.equal(resolveNamespace(c, [p], never).winner, null);
        const all = profile('all', { tenant: 'shop', namespaces: { selector: {} } });
        assert.deepEqual(computeGovernance([all], [a, b, c], never).byProfile.get('all')?.governed, ['a']);
    });

    it('prefers the highest priority', () => {
        const low = profile(
            'a-low',
            { namespaces: shared, priority: 1 },
            { creationTimestamp: '2020-01-01T00:00:00Z' },
        );
        const high = profile(
            'z-high',
            { namespaces: shared, priority: 5 },
            { creationTimestamp: '2025-01-01T00:00:00Z' },
        );
        const r = resolveNamespace({ name: 'shared' }, [low, high], never);
        assert.equal(r.winner?.metadata.name, 'z-high');
        assert.deepEqual(
            r.losers.map((p) => p.metadata.name),
            ['a-low'],
        );
    });

    it('treats an absent priority as 0 and a negative one as lower', () => {
        const neg = profile('a', { namespaces: shared, priority: -1 });
        const none = profile('b', { namespaces: shared });
        assert.equal(resolveNamespace({ name: 'shared' }, [neg, none], never).winner?.metadata.name, 'b');
    });

    it('breaks a priority tie by the oldest creationTimestamp', () => {
        const older = profile('z', { namespaces: shared }, { creationTimestamp: '2024-01-01T00:00:00Z' });
        const newer = profile('a', { namespaces: shared }, { creationTimestamp: '2024-06-01T00:00:00Z' });
        assert.equal(resolveNamespace({ name: 'shared' }, [newer, older], never).winner?.metadata.name, 'z');
    });

    it('accepts Date timestamps (typed models) and ranks a missing timestamp as youngest', () => {
        const asDate = profile(
            'z',
            { namespaces: shared },
            {
                creationTimestamp: new Date('2024-01-01T00:00:00Z') as unknown as string,
            },
        );
        const missing = profile('a', { namespaces: shared }, { creationTimestamp: undefined });
        assert.ok(compareProfiles(asDate, missing) < 0);
    });

    it('breaks a full tie by name in code-unit order', () => {
        const ts = { creationTimestamp: '2024-01-01T00:00:00Z' };
        const upper = profile('B', { namespaces: shared }, ts);
        const lower = profile('a', { namespaces: shared }, ts);
        assert.equal(resolveNamespace({ name: 'shared' }, [lower, upper], never).winner?.metadata.name, 'B');
    });

    it('gives the same winner and loser order for every input order', () => {
        const ts = '2024-01-01T00:00:00Z';
        const ps = [
            profile('c', { namespaces: shared, priority: 1 }, { creationTimestamp: ts }),
            profile('a', { namespaces: shared, priority: 1 }, { creationTimestamp: ts }),
            profile('b', { namespaces: shared, priority: 1 }, { creationTimestamp: '2023-01-01T00:00:00Z' }),
            profile('d', { namespaces: shared, priority: 2 }, { creationTimestamp: '2026-01-01T00:00:00Z' }),
        ];
        const results = permutations(ps).map((perm) => {
            const r = resolveNamespace({ name: 'shared' }, perm, never);
            return [r.winner?.metadata.name, ...r.losers.map((p) => p.metadata.name)].join(',');
        });
        assert.deepEqual(new Set(results), new Set(['d,b,a,c']));
    });

    it('ignores profiles that do not select the namespace', () => {
        const other = profile('x', { namespaces: { names: ['elsewhere'] }, priority: 100 });
        const mine = profile('y', { namespaces: shared });
        const r = resolveNamespace({ name: 'shared' }, [other, mine], never);
        assert.equal(r.winner?.metadata.name, 'y');
        assert.deepEqual(r.losers, []);
    });

    it('never lets a deleting profile win, and reports it as leaving, not as a loser', () => {
        const deleting = profile(
            'a',
            { namespaces: shared, priority: 10 },
            { deletionTimestamp: '2025-03-01T00:00:00Z' },
        );
        const next = profile('b', { namespaces: shared });
        assert.equal(isDeleting(deleting), true);
        const r = resolveNamespace({ name: 'shared' }, [deleting, next], never);
        assert.equal(r.winner?.metadata.name, 'b');
        assert.deepEqual(r.losers, []);
        assert.deepEqual(
            r.leaving.map((p) => p.metadata.name),
            ['a'],
        );
        const alone = resolveNamespace({ name: 'shared' }, [deleting], never);
        assert.equal(alone.winner, null);
    });

    it('governs no never-govern namespace and records who selected it', () => {
        const p = profile('p', { namespaces: { names: ['kube-system'] } });
        const r = resolveNamespace({ name: 'kube-system' }, [p], never);
        assert.equal(r.winner, null);
        assert.deepEqual(
            r.skippedBy.map((x) => x.metadata.name),
            ['p'],
        );
    });

    describe('computeGovernance', () => {
        const ps = [
            profile('platform', { namespaces: { selector: {} }, priority: 10 }),
            profile('payments', { namespaces: { names: ['pay', 'tools', 'kube-system'] } }),
            profile(
                'gone',
                { namespaces: { names: ['pay', 'orphan'] } },
                { deletionTimestamp: '2025-05-05T00:00:00Z' },
            ),
        ];
        const namespaces = [{ name: 'tools' }, { name: 'pay' }, { name: 'kube-system' }, { name: 'orphan' }];

        it('maps each governed namespace to its one governor', () => {
            const g = computeGovernance(ps, namespaces, never);
            assert.deepEqual(Object.fromEntries(g.governedBy), {
                orphan: 'platform',
                pay: 'platform',
                tools: 'platform',
            });
        });

        it('lists per-profile selection, governance, conflicts and skipped namespaces, sorted', () => {
            const g = computeGovernance(ps, namespaces, never);
            assert.deepEqual(g.byProfile.get('payments'), {
                selected: ['pay', 'tools'],
                governed: [],
                conflicts: [
                    { namespace: 'pay', governedBy: 'platform' },
                    { namespace: 'tools', governedBy: 'platform' },
                ],
                skipped: ['kube-system'],
            });
            assert.deepEqual(g.byProfile.get('platform')?.governed, ['orphan', 'pay', 'tools']);
            assert.deepEqual(g.byProfile.get('platform')?.skipped, ['kube-system']);
            assert.deepEqual(g.byProfile.get('gone'), {
                selected: ['orphan', 'pay'],
                governed: [],
                conflicts: [],
                skipped: [],
            });
        });

        it('does not depend on the order of profiles or namespaces', () => {
            const a = computeGovernance(ps, namespaces, never);
            const b = computeGovernance([...ps].reverse(), [...namespaces].reverse(), never);
            assert.deepEqual([...a.governedBy].sort(), [...b.governedBy].sort());
            for (const name of ['platform', 'payments', 'gone']) {
                assert.deepEqual(a.byProfile.get(name), b.byProfile.get(name));
            }
        });

        it('agrees with resolveNamespace for every namespace', () => {
            const g = computeGovernance(ps, namespaces, never);
            for (const ns of namespaces) {
                assert.equal(
                    g.governedBy.get(ns.name),
                    resolveNamespace(ns, ps, never).winner?.metadata.name,
                );
            }
        });
    });
});
