import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

import type { IsolationProfile } from '../../../src/api/types.ts';
import { plannedCluster } from '../../../src/explain/planned.ts';
import { computeAlignment, formatAlignmentGaps } from '../../../src/netpol/index.ts';
import type { RoleBindingInput } from '../../../src/netpol/index.ts';
import { Sharer } from '../../../src/controller/trim.ts';
import { DEFAULT_PLAN_SETTINGS } from '../../../src/plan/index.ts';
import type { NamespaceInfo, ServiceAccountInfo } from '../../../src/plan/index.ts';
import { profile } from '../plan/fixtures.ts';

function alignment(
    profiles: IsolationProfile[],
    namespaces: NamespaceInfo[],
    extra: { roleBindings?: RoleBindingInput[]; serviceAccounts?: Map<string, ServiceAccountInfo[]> } = {},
) {
    const cluster = plannedCluster({
        profiles,
        namespaces,
        serviceAccounts: extra.serviceAccounts ?? new Map(),
        settings: DEFAULT_PLAN_SETTINGS,
        roleBindings: extra.roleBindings ?? [],
    });
    return computeAlignment({ profiles, ...cluster });
}

const sa = (namespace: string, name: string) => ({ kind: 'ServiceAccount' as const, namespace, name });
const edit = { kind: 'ClusterRole' as const, name: 'edit' };

describe('netpol: alignment gaps', () => {
    it('reports an access grant to a ServiceAccount whose own namespace denies its egress', () => {
        const app = profile('app', {
            namespaces: { names: ['app'] },
            access: [
                {
                    name: 'deployer',
                    roleRef: edit,
                    subjects: [sa('ci', 'deployer')],
                    network: { ports: [{ port: 8080 }] },
                },
            ],
        });
        const ci = profile('ci', { namespaces: { names: ['ci'] } });
        const gaps = alignment([app, ci], [{ name: 'app' }, { name: 'ci' }]);
        assert.deepEqual(gaps.get('ci'), []);
        const [gap, ...rest] = gaps.get('app')!;
        assert.equal(rest.length, 0);
        assert.equal(gap!.kind, 'GrantWithoutPath');
        assert.equal(gap!.roleBinding, 'isolation-access-deployer');
        assert.equal(gap!.managed, true);
        assert.deepEqual(gap!.serviceAccount, { namespace: 'ci', name: 'deployer' });
        assert.equal(gap!.blockedBy, 'egress');
        assert.equal(gap!.sameProfile, false);
        assert.ok(gap!.blockingPolicies.includes('ci/isolation-default-deny'));
        assert.match(gap!.message, /ServiceAccount ci\/deployer.*its own namespace denies the egress/);
    });

    it('is aligned once the ServiceAccount namespace allows that egress', () => {
        const app = profile('app', {
            namespaces: { names: ['app'] },
            access: [
                {
                    name: 'deployer',
                    roleRef: edit,
                    subjects: [sa('ci', 'deployer')],
                    network: { ports: [{ port: 8080 }] },
                },
            ],
        });
        const ci = profile('ci', {
            namespaces: { names: ['ci'] },
            network: {
                egress: [
                    {
                        name: 'to-app',
                        pods: { matchLabels: { 'isolation.dev/service-account': 'deployer' } },
                        to: [{ profile: 'app' }],
                        ports: [{ port: 8080 }],
                    },
                ],
            },
        });
        const gaps = alignment([app, ci], [{ name: 'app' }, { name: 'ci' }]);
        assert.deepEqual(gaps.get('app'), []);
        assert.deepEqual(gaps.get('ci'), []);
    });

    it('reports an egress rule wider than what the peer accepts as one-sided', () => {
        const app = profile('app', {
            namespaces: { names: ['app'] },
            access: [
                {
                    name: 'deployer',
                    roleRef: edit,
                    subjects: [sa('ci', 'deployer')],
                    network: { ports: [{ port: 8080 }] },
                },
            ],
        });
        const ci = profile('ci', {
            namespaces: { names: ['ci'] },
            network: { egress: [{ name: 'to-app', to: [{ profile: 'app' }], ports: [{ port: 8080 }] }] },
        });
        const gaps = alignment([app, ci], [{ name: 'app' }, { name: 'ci' }]);
        assert.deepEqual(gaps.get('app'), []);
        assert.deepEqual(
            gaps.get('ci')!.map((g) => [g.kind, g.rule, g.peerProfile, g.blockedBy]),
            [['OneSidedAllow', 'egress/to-app', 'app', 'ingress']],
        );
    });

    it('formats a capped, stable one-line summary for a condition message', () => {
        const gap = (n: number) => ({
            kind: 'GrantWithoutPath' as const,
            profile: 'p',
            namespace: 'p',
            blockedBy: 'egress' as const,
            blockingPolicies: [],
            message: `gap ${n}`,
        });
        assert.equal(formatAlignmentGaps([]), '');
        assert.equal(formatAlignmentGaps([gap(1)]), '1 alignment gap: gap 1');
        assert.equal(
            formatAlignmentGaps([1, 2, 3].map(gap), 2),
            '3 alignment gaps: gap 1; gap 2; and 1 more',
        );
    });

    it('reports egress and ingress allowing no common port', () => {
        const app = profile('app', {
            namespaces: { names: ['app'] },
            access: [
                {
                    name: 'deployer',
                    roleRef: edit,
                    subjects: [sa('ci', 'deployer')],
                    network: { ports: [{ port: 8080 }] },
                },
            ],
        });
        const ci = profile('ci', {
            namespaces: { names: ['ci'] },
            network: { egress: [{ name: 'to-app', to: [{ profile: 'app' }], ports: [{ port: 9090 }] }] },
        });
        const [gap] = alignment([app, ci], [{ name: 'app' }, { name: 'ci' }]).get('app')!;
        assert.equal(gap!.blockedBy, 'ports');
    });

    it('reports ServiceAccounts bound in their own namespace when allowSameNamespace is false', () => {
        const p = profile('p', {
            namespaces: { names: ['p'] },
            network: { allowSameNamespace: false },
            serviceAccounts: [
                { name: 'readers', names: ['reader'], roleRef: { kind: 'ClusterRole', name: 'view' } },
            ],
        });
        const gaps = alignment([p], [{ name: 'p' }], {
            serviceAccounts: new Map([['p', [{ name: 'reader' }]]]),
        }).get('p')!;
        assert.equal(gaps.length, 1);
        assert.equal(gaps[0]!.roleBinding, 'isolation-sa-readers');
        assert.equal(gaps[0]!.blockedBy, 'both');
        assert.equal(gaps[0]!.sameProfile, true);
    });

    it('checks RoleBindings made by hand too', () => {
        const p = profile('p', { namespaces: { names: ['p'] } });
        const other = profile('other', { namespaces: { names: ['other'] } });
        const handMade: RoleBindingInput = {
            metadata: { name: 'by-hand', namespace: 'p' },
            subjects: [sa('other', 'bot'), { kind: 'User', name: 'alice' }],
        };
        const gaps = alignment([p, other], [{ name: 'p' }, { name: 'other' }], {
            roleBindings: [handMade],
        }).get('p')!;
        assert.equal(gaps.length, 1);
        assert.equal(gaps[0]!.roleBinding, 'by-hand');
        assert.equal(gaps[0]!.managed, false);
        assert.equal(gaps[0]!.blockedBy, 'both');
    });

    it('reports a one-sided allow: A allows ingress from B, B denies the matching egress', () => {
        const a = profile('a', {
            namespaces: { names: ['a1', 'a2'] },
            network: {
                ingress: [
                    {
                        name: 'from-b',
                        pods: { matchLabels: { app: 'api' } },
                        from: [{ profile: 'b' }],
                        ports: [{ port: 8080 }],
                    },
                ],
            },
        });
        const b = profile('b', { namespaces: { names: ['b1'] } });
        const gaps = alignment([a, b], [{ name: 'a1' }, { name: 'a2' }, { name: 'b1' }]);
        assert.deepEqual(gaps.get('b'), []);
        const [gap, ...rest] = gaps.get('a')!;
        assert.equal(rest.length, 0);
        assert.equal(gap!.kind, 'OneSidedAllow');
        assert.equal(gap!.rule, 'ingress/from-b');
        assert.equal(gap!.peerProfile, 'b');
        assert.equal(gap!.namespace, 'a1');
        assert.equal(gap!.peerNamespace, 'b1');
        assert.equal(gap!.pairs, 2);
        assert.equal(gap!.blockedBy, 'egress');
        assert.ok(gap!.blockingPolicies.includes('b1/isolation-default-deny'));
    });

    it('reports a one-sided egress: A allows egress to B, B denies the ingress', () => {
        const a = profile('a', {
            namespaces: { names: ['a1'] },
            network: { egress: [{ name: 'to-b', to: [{ profile: 'b' }], ports: [{ port: 5432 }] }] },
        });
        const b = profile('b', {
            namespaces: { names: ['b1'] },
            network: { defaultDeny: { egress: false } },
        });
        const [gap] = alignment([a, b], [{ name: 'a1' }, { name: 'b1' }]).get('a')!;
        assert.equal(gap!.rule, 'egress/to-b');
        assert.equal(gap!.blockedBy, 'ingress');
    });

    it('finds the samples aligned: every cross-profile allow is declared on both sides', () => {
        const dir = new URL('../../../config/samples/', import.meta.url);
        const profiles = readdirSync(dir)
            .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
            .flatMap((f) =>
                parseAllDocuments(readFileSync(new URL(f, dir), 'utf8')).map(
                    (d) => d.toJS() as IsolationProfile,
                ),
            );
        const namespaces = parseAllDocuments(
            readFileSync(new URL('../../demo/namespaces.yaml', import.meta.url), 'utf8'),
        )
            .map(
                (d) =>
                    d.toJS() as { kind: string; metadata: { name: string; labels?: Record<string, string> } },
            )
            .filter((d) => d.kind === 'Namespace')
            .map((d) => ({ name: d.metadata.name, labels: d.metadata.labels ?? {} }));
        for (const p of profiles) p.metadata.creationTimestamp = '2025-01-01T00:00:00Z';
        const gaps = alignment(profiles, namespaces);
        // web -> api -> db and payments -> api are declared on both sides.
        assert.deepEqual(gaps.get('shop-web'), []);
        assert.deepEqual(gaps.get('shop-db'), []);
        assert.deepEqual(gaps.get('payments'), []);
        // shop-api allows ingress from shop-web and payments, both of which allow the egress: aligned.
        assert.deepEqual(
            gaps.get('shop-api')!.map((g) => g.kind),
            [],
        );
    });
});

describe('netpol: alignment at scale (classes of look-alike namespaces)', () => {
    const a = profile('a', {
        namespaces: { selector: { matchLabels: { team: 'a' } } },
        network: {
            ingress: [
                {
                    name: 'from-b',
                    pods: { matchLabels: { app: 'api' } },
                    from: [{ profile: 'b' }],
                    ports: [{ port: 8080 }],
                },
            ],
        },
        access: [
            { name: 'ci', roleRef: edit, subjects: [sa('ci', 'd')], network: { ports: [{ port: 8080 }] } },
            // Rights without any network grant: the ingress side denies it.
            { name: 'ops', roleRef: edit, subjects: [sa('ops', 'bot')] },
        ],
    });
    const b = profile('b', {
        namespaces: { selector: { matchLabels: { team: 'b' } } },
        network: {
            egress: [
                // Only the namespaces labelled tier=gold are allowed: the others are one-sided.
                {
                    name: 'to-gold',
                    to: [{ namespaces: { selector: { matchLabels: { tier: 'gold' } } } }],
                    ports: [{ port: 8080 }],
                },
                // a-3 is named: it must be its own class.
                { name: 'to-a3', to: [{ namespaces: { names: ['a-3'] } }], ports: [{ port: 8080 }] },
            ],
        },
    });
    const ci = profile('ci', { namespaces: { names: ['ci'] } });
    const namespaces: NamespaceInfo[] = [
        ...[0, 1, 2, 3, 4, 5].map((i) => ({
            name: `a-${i}`,
            labels: { team: 'a', ...(i % 2 === 0 ? { tier: 'gold' } : {}) },
        })),
        ...[0, 1, 2, 3].map((i) => ({ name: `b-${i}`, labels: { team: 'b' } })),
        { name: 'ci' },
        { name: 'ops' },
    ];

    it('gives the same gaps as evaluating every pair of namespaces', () => {
        const cluster = plannedCluster({
            profiles: [a, b, ci],
            namespaces,
            serviceAccounts: new Map(),
            settings: DEFAULT_PLAN_SETTINGS,
        });
        const fast = computeAlignment({ profiles: [a, b, ci], ...cluster });
        const slow = computeAlignment({ profiles: [a, b, ci], ...cluster, exhaustive: true });
        assert.deepEqual(fast, slow);
        const oneSided = fast.get('a')!.find((g) => g.kind === 'OneSidedAllow')!;
        // a-1 and a-5 (not gold, not named) x 4 namespaces of b.
        assert.equal(oneSided.pairs, 8);
        assert.deepEqual([oneSided.namespace, oneSided.peerNamespace], ['a-1', 'b-0']);
        // The ci grant has no path into any of the six namespaces; each gap names its own namespace's policies.
        const grants = fast.get('a')!.filter((g) => g.kind === 'GrantWithoutPath');
        const ciGrants = grants.filter((g) => g.serviceAccount?.namespace === 'ci');
        assert.equal(ciGrants.length, 6);
        assert.ok(
            ciGrants.every(
                (g) => g.blockedBy === 'egress' && g.blockingPolicies.includes('ci/isolation-default-deny'),
            ),
        );
        // The ingress side of each namespace is named after that namespace, not after the class representative.
        const ops = grants.filter((g) => g.serviceAccount?.namespace === 'ops');
        assert.equal(ops.length, 6);
        for (const g of ops) {
            assert.equal(g.blockedBy, 'ingress');
            assert.ok(
                g.blockingPolicies.includes(`${g.namespace}/isolation-default-deny`),
                g.blockingPolicies.join(),
            );
            assert.ok(g.blockingPolicies.every((p) => p.startsWith(`${g.namespace}/`)));
        }
    });

    it('evaluates a ServiceAccount bound in its own namespace once per class, naming each namespace its own policies', () => {
        // Four look-alike namespaces, each binding its own `worker` ServiceAccount, whose pods egress allows nothing
        // but DNS while ingress allows the same namespace: a gap in each (blocked by egress). One namespace is
        // named by a peer of another profile and so is its own class; one carries an extra label.
        const w = workersProfile();
        const peer = profile('peer', {
            namespaces: { names: ['peer'] },
            network: { egress: [{ name: 'to-w2', to: [{ namespaces: { names: ['w-2'] } }] }] },
        });
        const names = ['w-0', 'w-1', 'w-2', 'w-3'];
        const cluster = workersCluster([w, peer], names, [{ name: 'peer' }]);
        const fast = computeAlignment({ profiles: [w, peer], ...cluster });
        const slow = computeAlignment({ profiles: [w, peer], ...cluster, exhaustive: true });
        assert.deepEqual(fast, slow);
        const grants = fast.get('w')!.filter((g) => g.kind === 'GrantWithoutPath');
        assert.deepEqual(
            grants.map((g) => g.namespace),
            names,
        );
        for (const g of grants) {
            assert.deepEqual(g.serviceAccount, { namespace: g.namespace, name: 'worker' });
            assert.ok(g.blockingPolicies.length > 0);
            assert.ok(
                g.blockingPolicies.every((p) => p.startsWith(`${g.namespace}/`)),
                g.blockingPolicies.join(),
            );
        }
    });

    it('gives the exhaustive answer when policy specs are shared frozen objects (the cache), computed twice', () => {
        // The operator's caches hold one frozen spec object per distinct spec (Sharer); only then is a spec's
        // summary memoised. The same look-alike namespaces as above, with their specs shared that way.
        const w = workersProfile();
        const names = ['w-0', 'w-1', 'w-2', 'w-3', 'w-4'];
        const cluster = workersCluster([w], names);
        const sharer = new Sharer();
        const policies = cluster.policies.map((p) => ({ ...p, spec: sharer.share(p.spec) }));
        const specs = new Set(policies.map((p) => p.spec));
        assert.ok(specs.size < policies.length, 'specs are shared across namespaces');
        assert.ok([...specs].every((x) => Object.isFrozen(x)));
        const shared = { ...cluster, policies };
        const slow = computeAlignment({ profiles: [w], ...cluster, exhaustive: true });
        const first = computeAlignment({ profiles: [w], ...shared });
        const second = computeAlignment({ profiles: [w], ...shared }); // summaries from the memo
        assert.deepEqual(first, slow);
        assert.deepEqual(second, slow);
        assert.equal(slow.get('w')!.filter((g) => g.kind === 'GrantWithoutPath').length, names.length);
    });
});

/** A profile binding each governed namespace's `worker` ServiceAccount, with egress allowing only DNS. */
function workersProfile(): IsolationProfile {
    return profile('w', {
        namespaces: { selector: { matchLabels: { team: 'w' } } },
        network: { allowSameNamespace: false },
        serviceAccounts: [{ name: 'workers', selector: { matchLabels: { role: 'worker' } }, roleRef: edit }],
    });
}

/** Look-alike `team: w` namespaces (the last one carries an extra label), each with a `worker` ServiceAccount. */
function workersCluster(profiles: IsolationProfile[], names: string[], others: NamespaceInfo[] = []) {
    return plannedCluster({
        profiles,
        namespaces: [
            ...names.map((name, i) => ({
                name,
                labels: { team: 'w', ...(i === names.length - 1 ? { extra: 'x' } : {}) },
            })),
            ...others,
        ],
        serviceAccounts: new Map(
            names.map((ns): [string, ServiceAccountInfo[]] => [
                ns,
                [{ name: 'worker', labels: { role: 'worker' } }],
            ]),
        ),
        settings: DEFAULT_PLAN_SETTINGS,
    });
}

describe('netpol: alignment stand-ins', () => {
    it('finds the path of a ServiceAccount whose pods an egress rule selects by another label', () => {
        const app = profile('app', {
            namespaces: { names: ['app'] },
            access: [
                {
                    name: 'd',
                    roleRef: edit,
                    subjects: [sa('ci', 'deployer')],
                    network: { ports: [{ port: 8080 }] },
                },
            ],
        });
        const ci = profile('ci', {
            namespaces: { names: ['ci'] },
            network: {
                egress: [
                    {
                        name: 'deployers-to-app',
                        pods: { matchLabels: { app: 'deployer' } },
                        to: [{ profile: 'app' }],
                        ports: [{ port: 8080 }],
                    },
                ],
            },
        });
        const gaps = alignment([app, ci], [{ name: 'app' }, { name: 'ci' }]);
        assert.deepEqual(gaps.get('app'), []);
    });
});
