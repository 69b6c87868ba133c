import assert from 'node:assert/strict';
import type { IsolationProfileSpec, NetworkSpec } from '../../../src/api/types.ts';
import type { DesiredObject, NetworkPolicyObject } from '../../../src/plan/index.ts';
import {
    matchNothingPeer,
    plan,
    toNetworkPolicyPeers,
    toNetworkPolicyPorts,
} from '../../../src/plan/index.ts';
import { profile } from './fixtures.ts';

const NS = 'payments-prod';

function planFor(spec: Partial<IsolationProfileSpec>, settings = {}): DesiredObject[] {
    return plan({
        namespace: { name: NS },
        profile: profile('payments', { namespaces: { names: [NS] }, ...spec }),
        serviceAccounts: [],
        settings,
    });
}

function policies(spec: Partial<IsolationProfileSpec>, settings = {}): Map<string, NetworkPolicyObject> {
    const out = new Map<string, NetworkPolicyObject>();
    for (const o of planFor(spec, settings)) if (o.kind === 'NetworkPolicy') out.set(o.metadata.name, o);
    return out;
}

function policy(spec: Partial<IsolationProfileSpec>, name: string, settings = {}): NetworkPolicyObject {
    const p = policies(spec, settings).get(name);
    assert.ok(p, `expected NetworkPolicy ${name}`);
    return p;
}

function net(network: NetworkSpec): Partial<IsolationProfileSpec> {
    return { network };
}

const DNS_RULE = {
    to: [
        {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
            podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
        },
    ],
    ports: [
        { protocol: 'UDP', port: 53 },
        { protocol: 'TCP', port: 53 },
    ],
};

describe('plan/networkpolicies', () => {
    describe('defaults (no network section)', () => {
        it('generates default-deny both ways, same-namespace and DNS', () => {
            assert.deepEqual(
                [...policies({}).keys()],
                ['isolation-default-deny', 'isolation-dns', 'isolation-same-namespace'],
            );
        });

        it('always sets policyTypes explicitly on every policy', () => {
            const all = policies(
                net({
                    ingress: [{ name: 'i', from: [{ cidr: '10.0.0.0/8' }] }],
                    egress: [{ name: 'e', to: [{ cidr: '10.0.0.0/8' }] }],
                }),
            );
            assert.equal(all.size, 5);
            for (const p of all.values()) assert.ok(p.spec.policyTypes.length > 0, p.metadata.name);
        });
    });

    describe('isolation-default-deny', () => {
        it('selects all pods with no rules and both directions', () => {
            assert.deepEqual(policy({}, 'isolation-default-deny').spec, {
                podSelector: {},
                policyTypes: ['Ingress', 'Egress'],
                ingress: [],
                egress: [],
            });
        });

        it('states the denied rule lists as explicitly empty, and only those', () => {
            const ingressOnly = policy(
                net({ defaultDeny: { ingress: true, egress: false } }),
                'isolation-default-deny',
            );
            assert.deepEqual(ingressOnly.spec.ingress, []);
            assert.equal(ingressOnly.spec.egress, undefined);
        });

        it('follows the defaultDeny directions', () => {
            const ingressOnly = net({ defaultDeny: { ingress: true, egress: false } });
            assert.deepEqual(policy(ingressOnly, 'isolation-default-deny').spec.policyTypes, ['Ingress']);
            const egressOnly = net({ defaultDeny: { ingress: false, egress: true } });
            assert.deepEqual(policy(egressOnly, 'isolation-default-deny').spec.policyTypes, ['Egress']);
        });

        it('defaults a missing direction to true', () => {
            assert.deepEqual(
                policy(net({ defaultDeny: { ingress: false } }), 'isolation-default-deny').spec.policyTypes,
                ['Egress'],
            );
        });

        it('is omitted when both directions are off', () => {
            const p = policies(net({ defaultDeny: { ingress: false, egress: false } }));
            assert.equal(p.has('isolation-default-deny'), false);
        });
    });

    describe('isolation-same-namespace', () => {
        it('allows ingress from and egress to every pod of the namespace', () => {
            assert.deepEqual(policy({}, 'isolation-same-namespace').spec, {
                podSelector: {},
                policyTypes: ['Ingress', 'Egress'],
                ingress: [{ from: [{ podSelector: {} }] }],
                egress: [{ to: [{ podSelector: {} }] }],
            });
        });

        it('lists only the default-denied directions (listing another would isolate it)', () => {
            const spec = policy(
                net({ defaultDeny: { ingress: true, egress: false } }),
                'isolation-same-namespace',
            ).spec;
            assert.deepEqual(spec, {
                podSelector: {},
                policyTypes: ['Ingress'],
                ingress: [{ from: [{ podSelector: {} }] }],
            });
        });

        it('is omitted when disabled or when nothing is denied', () => {
            assert.equal(policies(net({ allowSameNamespace: false })).has('isolation-same-namespace'), false);
            const open = net({ defaultDeny: { ingress: false, egress: false } });
            assert.equal(policies(open).has('isolation-same-namespace'), false);
        });
    });

    describe('isolation-dns', () => {
        it('allows UDP and TCP 53 to ONE peer: DNS namespace AND DNS pods', () => {
            const spec = policy({}, 'isolation-dns').spec;
            assert.deepEqual(spec, { podSelector: {}, policyTypes: ['Egress'], egress: [DNS_RULE] });
            assert.equal(spec.egress?.[0]?.to?.length, 1, 'one peer, not two (two would mean OR)');
        });

        it('uses the configured DNS namespace and pod labels', () => {
            const spec = policy({}, 'isolation-dns', {
                dnsNamespace: 'dns',
                dnsPodLabels: { app: 'coredns' },
            }).spec;
            assert.deepEqual(spec.egress?.[0]?.to, [
                {
                    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'dns' } },
                    podSelector: { matchLabels: { app: 'coredns' } },
                },
            ]);
        });

        it('is omitted when disabled, and when egress is not default-denied', () => {
            assert.equal(policies(net({ allowDNS: false })).has('isolation-dns'), false);
            assert.equal(policies(net({ defaultDeny: { egress: false } })).has('isolation-dns'), false);
        });
    });

    describe('ingress rules', () => {
        const fromWeb = net({
            ingress: [
                {
                    name: 'from-web',
                    pods: { matchLabels: { app: 'api' } },
                    from: [
                        { profile: 'web' },
                        {
                            namespaces: { names: ['ingress-nginx'] },
                            pods: { matchLabels: { app: 'controller' } },
                        },
                        { serviceAccount: { namespace: 'monitoring', name: 'prometheus' } },
                        { cidr: '10.20.0.0/16', except: ['10.20.1.0/24'] },
                    ],
                    ports: [{ protocol: 'TCP', port: 8080, endPort: 8089 }],
                },
            ],
        });

        it('translates the DESIGN example exactly', () => {
            assert.deepEqual(policy(fromWeb, 'isolation-ingress-from-web').spec, {
                podSelector: { matchLabels: { app: 'api' } },
                policyTypes: ['Ingress'],
                ingress: [
                    {
                        from: [
                            {
                                namespaceSelector: {
                                    matchLabels: { 'isolation.dev/profile': 'web' },
                                    matchExpressions: [
                                        { key: 'isolation.dev/tenant', operator: 'DoesNotExist' },
                                    ],
                                },
                            },
                            {
                                namespaceSelector: {
                                    matchExpressions: [
                                        {
                                            key: 'kubernetes.io/metadata.name',
                                            operator: 'In',
                                            values: ['ingress-nginx'],
                                        },
                                    ],
                                },
                                podSelector: { matchLabels: { app: 'controller' } },
                            },
                            {
                                namespaceSelector: {
                                    matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' },
                                },
                                podSelector: {
                                    matchLabels: { 'isolation.dev/service-account': 'prometheus' },
                                },
                            },
                            { ipBlock: { cidr: '10.20.0.0/16', except: ['10.20.1.0/24'] } },
                        ],
                        ports: [{ protocol: 'TCP', port: 8080, endPort: 8089 }],
                    },
                ],
            });
        });

        it('defaults the target pods to all pods', () => {
            const p = policy(
                net({ ingress: [{ name: 'r', from: [{ profile: 'x' }] }] }),
                'isolation-ingress-r',
            );
            assert.deepEqual(p.spec.podSelector, {});
        });

        it('omits from when the rule has no peers (all sources) and ports when it has none (all ports)', () => {
            const p = policy(net({ ingress: [{ name: 'r', ports: [{ port: 80 }] }] }), 'isolation-ingress-r');
            assert.deepEqual(p.spec.ingress, [{ ports: [{ protocol: 'TCP', port: 80 }] }]);
            const q = policy(
                net({ ingress: [{ name: 'r', from: [{ profile: 'x' }] }] }),
                'isolation-ingress-r',
            );
            assert.equal(q.spec.ingress?.[0]?.ports, undefined);
        });

        it('folds same-namespace ingress into the rule when ingress is not default-denied', () => {
            const p = policy(
                net({ defaultDeny: { ingress: false }, ingress: [{ name: 'r', from: [{ profile: 'x' }] }] }),
                'isolation-ingress-r',
            );
            assert.deepEqual(p.spec.ingress, [
                {
                    from: [
                        {
                            namespaceSelector: {
                                matchLabels: { 'isolation.dev/profile': 'x' },
                                matchExpressions: [{ key: 'isolation.dev/tenant', operator: 'DoesNotExist' }],
                            },
                        },
                    ],
                },
                { from: [{ podSelector: {} }] },
            ]);
            assert.deepEqual(p.spec.policyTypes, ['Ingress']);
        });

        it('adds nothing to the rule when ingress is default-denied or same-namespace is off', () => {
            const rules = [{ name: 'r', from: [{ profile: 'x' }] }];
            assert.equal(policy(net({ ingress: rules }), 'isolation-ingress-r').spec.ingress?.length, 1);
            const off = net({ defaultDeny: { ingress: false }, allowSameNamespace: false, ingress: rules });
            assert.equal(policy(off, 'isolation-ingress-r').spec.ingress?.length, 1);
        });
    });

    describe('egress rules', () => {
        it('translates the DESIGN example', () => {
            const p = policy(
                net({
                    egress: [
                        {
                            name: 'to-db',
                            to: [{ cidr: '10.30.0.0/16' }],
                            ports: [{ protocol: 'TCP', port: 5432 }],
                        },
                    ],
                }),
                'isolation-egress-to-db',
            );
            assert.deepEqual(p.spec, {
                podSelector: {},
                policyTypes: ['Egress'],
                egress: [
                    { to: [{ ipBlock: { cidr: '10.30.0.0/16' } }], ports: [{ protocol: 'TCP', port: 5432 }] },
                ],
            });
        });

        it('folds same-namespace and DNS egress into the rule when egress is not default-denied', () => {
            const p = policy(
                net({
                    defaultDeny: { egress: false },
                    egress: [
                        { name: 'out', pods: { matchLabels: { a: 'b' } }, to: [{ cidr: '1.2.3.0/24' }] },
                    ],
                }),
                'isolation-egress-out',
            );
            assert.deepEqual(p.spec.egress, [
                { to: [{ ipBlock: { cidr: '1.2.3.0/24' } }] },
                { to: [{ podSelector: {} }] },
                DNS_RULE,
            ]);
        });
    });

    describe('peers', () => {
        it('puts pods and namespaces in ONE peer (AND)', () => {
            const peers = toNetworkPolicyPeers(
                {
                    namespaces: { selector: { matchLabels: { env: 'prod' } } },
                    pods: { matchLabels: { app: 'x' } },
                },
                NS,
            );
            assert.deepEqual(peers, [
                {
                    namespaceSelector: { matchLabels: { env: 'prod' } },
                    podSelector: { matchLabels: { app: 'x' } },
                },
            ]);
        });

        it('maps namespace names to an In expression on the name label, sorted and deduplicated', () => {
            assert.deepEqual(toNetworkPolicyPeers({ namespaces: { names: ['b', 'a', 'b'] } }, NS), [
                {
                    namespaceSelector: {
                        matchExpressions: [
                            { key: 'kubernetes.io/metadata.name', operator: 'In', values: ['a', 'b'] },
                        ],
                    },
                },
            ]);
        });

        it('maps a profile peer to the profile namespace label, with pods in the same peer', () => {
            assert.deepEqual(
                toNetworkPolicyPeers({ profile: 'web', pods: { matchLabels: { app: 'fe' } } }, NS),
                [
                    {
                        namespaceSelector: {
                            matchLabels: { 'isolation.dev/profile': 'web' },
                            matchExpressions: [{ key: 'isolation.dev/tenant', operator: 'DoesNotExist' }],
                        },
                        podSelector: { matchLabels: { app: 'fe' } },
                    },
                ],
            );
        });

        it('scopes a profile peer to the referencing profile tenant by default, or to the tenant it names', () => {
            const own = toNetworkPolicyPeers({ profile: 'web' }, NS, 'shop');
            assert.deepEqual(own, [
                {
                    namespaceSelector: {
                        matchLabels: { 'isolation.dev/profile': 'web', 'isolation.dev/tenant': 'shop' },
                    },
                },
            ]);
            const other = toNetworkPolicyPeers({ profile: 'api', tenant: 'payments' }, NS, 'shop');
            assert.deepEqual(other, [
                {
                    namespaceSelector: {
                        matchLabels: { 'isolation.dev/profile': 'api', 'isolation.dev/tenant': 'payments' },
                    },
                },
            ]);
            // An empty tenant means namespaces of no tenant, even from a tenant profile.
            const none = toNetworkPolicyPeers({ profile: 'baseline', tenant: '' }, NS, 'shop');
            assert.deepEqual(none, [
                {
                    namespaceSelector: {
                        matchLabels: { 'isolation.dev/profile': 'baseline' },
                        matchExpressions: [{ key: 'isolation.dev/tenant', operator: 'DoesNotExist' }],
                    },
                },
            ]);
        });

        it('maps a ServiceAccount to its namespace AND the service-account pod label, defaulting the namespace', () => {
            assert.deepEqual(toNetworkPolicyPeers({ serviceAccount: { namespace: '', name: 'sa' } }, NS), [
                {
                    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': NS } },
                    podSelector: { matchLabels: { 'isolation.dev/service-account': 'sa' } },
                },
            ]);
        });

        it('maps cidr without except to a bare ipBlock', () => {
            assert.deepEqual(toNetworkPolicyPeers({ cidr: '0.0.0.0/0', except: [] }, NS), [
                { ipBlock: { cidr: '0.0.0.0/0' } },
            ]);
        });

        it('keeps the union semantics when names and selector are both given', () => {
            const peers = toNetworkPolicyPeers(
                { namespaces: { names: ['a'], selector: { matchLabels: { x: 'y' } } } },
                NS,
            );
            assert.equal(peers.length, 2);
        });

        it('fails closed: a peer that names nothing matches nothing instead of disappearing', () => {
            assert.deepEqual(toNetworkPolicyPeers({ namespaces: { names: [] } }, NS), [matchNothingPeer()]);
            assert.deepEqual(toNetworkPolicyPeers({}, NS), [matchNothingPeer()]);
            const p = policy(
                net({ ingress: [{ name: 'r', from: [{ namespaces: {} }] }] }),
                'isolation-ingress-r',
            );
            assert.deepEqual(
                p.spec.ingress?.[0]?.from,
                [matchNothingPeer()],
                'never an empty from (= allow all)',
            );
        });
    });

    describe('ports', () => {
        it('defaults protocol to TCP and keeps UDP/SCTP', () => {
            assert.deepEqual(
                toNetworkPolicyPorts([{ port: 80 }, { protocol: 'UDP', port: 53 }, { protocol: 'SCTP' }]),
                [{ protocol: 'TCP', port: 80 }, { protocol: 'UDP', port: 53 }, { protocol: 'SCTP' }],
            );
        });

        it('keeps named ports as strings and turns digit strings into numbers', () => {
            assert.deepEqual(toNetworkPolicyPorts([{ port: 'http' }, { port: '8080' }]), [
                { protocol: 'TCP', port: 'http' },
                { protocol: 'TCP', port: 8080 },
            ]);
        });

        it('keeps endPort ranges', () => {
            assert.deepEqual(toNetworkPolicyPorts([{ port: 30000, endPort: 32767 }]), [
                { protocol: 'TCP', port: 30000, endPort: 32767 },
            ]);
        });

        it('omits an empty port list (all ports)', () => {
            assert.equal(toNetworkPolicyPorts([]), undefined);
            assert.equal(toNetworkPolicyPorts(undefined), undefined);
        });
    });

    describe('isolation-access-<entry>', () => {
        const access = (
            network:
                { ports?: { port: number }[]; pods?: { matchLabels: Record<string, string> } } | undefined,
        ) => ({
            access: [
                {
                    name: 'developers',
                    roleRef: { kind: 'ClusterRole' as const, name: 'edit' },
                    subjects: [
                        { kind: 'Group' as const, name: 'devs' },
                        { kind: 'ServiceAccount' as const, namespace: 'ci', name: 'deployer' },
                        { kind: 'ServiceAccount' as const, namespace: 'ci', name: 'tester' },
                    ],
                    network,
                },
            ],
        });

        it('allows one peer per ServiceAccount subject on the given ports to the given pods', () => {
            const p = policy(
                access({ ports: [{ port: 8080 }], pods: { matchLabels: { app: 'api' } } }),
                'isolation-access-developers',
            );
            assert.deepEqual(p.spec, {
                podSelector: { matchLabels: { app: 'api' } },
                policyTypes: ['Ingress'],
                ingress: [
                    {
                        from: [
                            {
                                namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ci' } },
                                podSelector: { matchLabels: { 'isolation.dev/service-account': 'deployer' } },
                            },
                            {
                                namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ci' } },
                                podSelector: { matchLabels: { 'isolation.dev/service-account': 'tester' } },
                            },
                        ],
                        ports: [{ protocol: 'TCP', port: 8080 }],
                    },
                ],
            });
        });

        it('defaults to all pods and all ports', () => {
            const p = policy(access({}), 'isolation-access-developers');
            assert.deepEqual(p.spec.podSelector, {});
            assert.equal(p.spec.ingress?.[0]?.ports, undefined);
        });

        it('is omitted without network or without ServiceAccount subjects', () => {
            assert.equal(policies(access(undefined)).has('isolation-access-developers'), false);
            const usersOnly = {
                access: [
                    {
                        name: 'developers',
                        roleRef: { kind: 'ClusterRole' as const, name: 'edit' },
                        subjects: [{ kind: 'User' as const, name: 'alice' }],
                        network: {},
                    },
                ],
            };
            assert.equal(policies(usersOnly).has('isolation-access-developers'), false);
        });
    });
    describe('invariants over every combination of defaultDeny / allowSameNamespace / allowDNS', () => {
        const combos: [boolean, boolean, boolean, boolean][] = [];
        for (let i = 0; i < 16; i++) combos.push([!!(i & 1), !!(i & 2), !!(i & 4), !!(i & 8)]);
        const sameIn = JSON.stringify({ from: [{ podSelector: {} }] });
        const sameOut = JSON.stringify({ to: [{ podSelector: {} }] });
        const dns = JSON.stringify(DNS_RULE);

        for (const [denyIn, denyEg, same, allowDNS] of combos) {
            it(`deny ingress=${denyIn} egress=${denyEg}, same-namespace=${same}, dns=${allowDNS}`, () => {
                const all = policies({
                    network: {
                        defaultDeny: { ingress: denyIn, egress: denyEg },
                        allowSameNamespace: same,
                        allowDNS,
                        ingress: [
                            { name: 'i', pods: { matchLabels: { app: 'api' } }, from: [{ profile: 'x' }] },
                        ],
                        egress: [
                            { name: 'e', pods: { matchLabels: { app: 'api' } }, to: [{ profile: 'y' }] },
                        ],
                    },
                    access: [
                        {
                            name: 'a',
                            roleRef: { kind: 'ClusterRole', name: 'view' },
                            subjects: [{ kind: 'ServiceAccount', namespace: 'ci', name: 'bot' }],
                            network: { pods: { matchLabels: { app: 'api' } } },
                        },
                    ],
                });
                const denied = { Ingress: denyIn, Egress: denyEg };
                for (const p of all.values()) {
                    const allPods = Object.keys(p.spec.podSelector).length === 0;
                    for (const t of p.spec.policyTypes) {
                        // never isolate every pod in a direction the profile leaves open
                        if (allPods) assert.ok(denied[t], `${p.metadata.name} isolates all pods for ${t}`);
                        // a policy isolating an open direction keeps same-namespace traffic and DNS
                        if (!denied[t] && t === 'Ingress' && same) {
                            assert.ok(
                                p.spec.ingress?.some((r) => JSON.stringify(r) === sameIn),
                                p.metadata.name,
                            );
                        }
                        if (!denied[t] && t === 'Egress') {
                            const rules = (p.spec.egress ?? []).map((r) => JSON.stringify(r));
                            if (same) assert.ok(rules.includes(sameOut), p.metadata.name);
                            if (allowDNS) assert.ok(rules.includes(dns), p.metadata.name);
                        }
                    }
                }
                // a denied direction gets its baseline allows from the baseline policies
                const sameNs = all.get('isolation-same-namespace');
                assert.equal(sameNs !== undefined, same && (denyIn || denyEg));
                if (sameNs)
                    assert.deepEqual(sameNs.spec.policyTypes, [
                        ...(denyIn ? ['Ingress'] : []),
                        ...(denyEg ? ['Egress'] : []),
                    ]);
                assert.equal(all.has('isolation-dns'), allowDNS && denyEg);
                assert.equal(all.has('isolation-default-deny'), denyIn || denyEg);
                assert.ok(
                    all.has('isolation-ingress-i') &&
                        all.has('isolation-egress-e') &&
                        all.has('isolation-access-a'),
                );
            });
        }
    });
});
