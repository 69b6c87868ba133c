/**
 * Properties of NetworkPolicy semantics that need no oracle, checked on random small clusters (fast-check).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { ALL, createEvaluator, equals, intersect, isEmpty } from '../../../src/netpol/index.ts';
import type { NetworkPolicyInput, PeerInput, RuleInput, Workload } from '../../../src/netpol/index.ts';
import type { LabelSelector } from '../../../src/api/types.ts';

const NAMESPACES = ['x', 'y', 'z'];

const labels = fc.record(
    { app: fc.constantFrom('web', 'api', 'db'), tier: fc.constantFrom('1', '2') },
    { requiredKeys: [] },
);

const selector: fc.Arbitrary<LabelSelector> = fc.oneof(
    fc.constant({}),
    labels.map((l) => ({ matchLabels: l })),
    fc.record({
        matchExpressions: fc.array(
            fc.oneof(
                fc.record({
                    key: fc.constantFrom('app', 'tier', 'team'),
                    operator: fc.constantFrom('In' as const, 'NotIn' as const),
                    values: fc.subarray(['web', 'api', 'db', '1', '2', 'a', 'b'], { minLength: 1 }),
                }),
                fc.record({
                    key: fc.constantFrom('app', 'tier', 'team'),
                    operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const),
                }),
            ),
            { maxLength: 2 },
        ),
    }),
);

const selectorPeer: fc.Arbitrary<PeerInput> = fc.oneof(
    fc.record({ podSelector: selector }),
    fc.record({ namespaceSelector: selector }),
    fc.record({ podSelector: selector, namespaceSelector: selector }),
);
const peer: fc.Arbitrary<PeerInput> = fc.oneof(
    selectorPeer,
    fc.record({
        ipBlock: fc.constantFrom({ cidr: '10.0.0.0/16' }, { cidr: '10.0.0.0/8', except: ['10.0.1.0/24'] }),
    }),
);

const port = fc.oneof(
    fc.record({ protocol: fc.constantFrom('TCP', 'UDP', 'SCTP') }),
    fc.record({ protocol: fc.constantFrom('TCP', 'UDP'), port: fc.integer({ min: 1, max: 100 }) }),
    fc
        .tuple(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 0, max: 50 }))
        .map(([p, d]) => ({ protocol: 'TCP', port: p, endPort: p + d })),
    fc.record({ protocol: fc.constant('TCP'), port: fc.constantFrom('http', 'metrics') }),
);

const rule: fc.Arbitrary<RuleInput> = fc.record(
    {
        from: fc.array(peer, { maxLength: 3 }),
        to: fc.array(peer, { maxLength: 3 }),
        ports: fc.array(port, { maxLength: 3 }),
    },
    { requiredKeys: [] },
);

const policy: fc.Arbitrary<NetworkPolicyInput> = fc
    .record({
        namespace: fc.constantFrom(...NAMESPACES),
        podSelector: selector,
        policyTypes: fc.option(fc.subarray(['Ingress', 'Egress']), { nil: undefined }),
        ingress: fc.option(fc.array(rule, { maxLength: 3 }), { nil: undefined }),
        egress: fc.option(fc.array(rule, { maxLength: 3 }), { nil: undefined }),
    })
    .map((r) => ({
        metadata: { name: 'p', namespace: r.namespace },
        spec: {
            podSelector: r.podSelector,
            policyTypes: r.policyTypes,
            ingress: r.ingress,
            egress: r.egress,
        },
    }));

const policies = fc
    .array(policy, { maxLength: 5 })
    .map((list) => list.map((p, i) => ({ ...p, metadata: { ...p.metadata, name: `p${i}` } })));

const workload = (name: string): fc.Arbitrary<Workload> =>
    fc.record({
        namespace: fc.constantFrom(...NAMESPACES),
        name: fc.constant(name),
        labels,
        ip: fc.constantFrom('10.0.1.5', '10.0.2.5', '192.168.0.1'),
        ports: fc.constant([
            { name: 'http', containerPort: 8080 },
            { name: 'metrics', containerPort: 9090 },
        ]),
    });

const nsLabels = fc.tuple(fc.constantFrom('a', 'b'), fc.constantFrom('a', 'b'), fc.constantFrom('a', 'b'));

function cluster(teams: [string, string, string], list: NetworkPolicyInput[]) {
    return {
        namespaces: NAMESPACES.map((name, i) => ({ name, labels: { team: teams[i]! } })),
        policies: list,
    };
}

const W = (w: Workload) => ({ kind: 'workload' as const, workload: w });

function reverse<T>(a: readonly T[] | null | undefined): T[] | undefined {
    return a ? [...a].reverse() : undefined;
}

describe('netpol: properties', () => {
    it('the order of policies, rules, peers and ports does not matter', () => {
        fc.assert(
            fc.property(nsLabels, policies, workload('s'), workload('d'), (teams, list, s, d) => {
                const shuffled = [...list].reverse().map((p) => ({
                    ...p,
                    spec: {
                        ...p.spec,
                        ingress: reverse(p.spec?.ingress)?.map((r) => ({
                            ...r,
                            from: reverse(r.from),
                            ports: reverse(r.ports),
                        })),
                        egress: reverse(p.spec?.egress)?.map((r) => ({
                            ...r,
                            to: reverse(r.to),
                            ports: reverse(r.ports),
                        })),
                    },
                }));
                const a = createEvaluator(cluster(teams, list)).evaluate(W(s), W(d));
                const b = createEvaluator(cluster(teams, shuffled)).evaluate(W(s), W(d));
                assert.ok(equals(a.ports, b.ports));
            }),
        );
    });

    it('a policy with ingress [{}] allows all ingress to the pods it selects', () => {
        fc.assert(
            fc.property(nsLabels, policies, workload('s'), workload('d'), (teams, list, s, d) => {
                const allowAll: NetworkPolicyInput = {
                    metadata: { name: 'allow-all', namespace: d.namespace },
                    spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{}] },
                };
                const ev = createEvaluator(cluster(teams, [...list, allowAll]));
                assert.ok(equals(ev.ingress(d, W(s)).ports, ALL));
            }),
        );
    });

    it('ingress [] (or absent, with Ingress in policyTypes) denies all ingress when nothing else selects the pod', () => {
        fc.assert(
            fc.property(nsLabels, workload('s'), workload('d'), fc.boolean(), (teams, s, d, absent) => {
                const spec = absent
                    ? { podSelector: {} }
                    : { podSelector: {}, policyTypes: ['Ingress'], ingress: [] };
                const ev = createEvaluator(
                    cluster(teams, [{ metadata: { name: 'deny', namespace: d.namespace }, spec }]),
                );
                assert.ok(isEmpty(ev.ingress(d, W(s)).ports));
            }),
        );
    });

    it('one peer with a pod and a namespace selector is their AND', () => {
        fc.assert(
            fc.property(
                nsLabels,
                selector,
                selector,
                workload('s'),
                workload('d'),
                (teams, pods, nss, s, d) => {
                    const allows = (from: PeerInput[]) =>
                        !isEmpty(
                            createEvaluator(
                                cluster(teams, [
                                    {
                                        metadata: { name: 'p', namespace: d.namespace },
                                        spec: {
                                            podSelector: {},
                                            policyTypes: ['Ingress'],
                                            ingress: [{ from }],
                                        },
                                    },
                                ]),
                            ).ingress(d, W(s)).ports,
                        );
                    const both = allows([{ podSelector: pods, namespaceSelector: nss }]);
                    const podsAnyNamespace = allows([{ podSelector: pods, namespaceSelector: {} }]);
                    const namespacesOnly = allows([{ namespaceSelector: nss }]);
                    assert.equal(both, podsAnyNamespace && namespacesOnly);
                },
            ),
        );
    });

    it('two peers are an OR', () => {
        fc.assert(
            fc.property(nsLabels, peer, peer, workload('s'), workload('d'), (teams, p1, p2, s, d) => {
                const allows = (from: PeerInput[]) =>
                    !isEmpty(
                        createEvaluator(
                            cluster(teams, [
                                {
                                    metadata: { name: 'p', namespace: d.namespace },
                                    spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from }] },
                                },
                            ]),
                        ).ingress(d, W(s)).ports,
                    );
                assert.equal(allows([p1, p2]), allows([p1]) || allows([p2]));
            }),
        );
    });

    it('splitting a peer with both selectors into two peers can only widen what is allowed', () => {
        fc.assert(
            fc.property(
                nsLabels,
                selector,
                selector,
                workload('s'),
                workload('d'),
                (teams, pods, nss, s, d) => {
                    const allowed = (from: PeerInput[]) =>
                        createEvaluator(
                            cluster(teams, [
                                {
                                    metadata: { name: 'p', namespace: d.namespace },
                                    spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from }] },
                                },
                            ]),
                        ).ingress(d, W(s)).ports;
                    const joint = allowed([{ podSelector: pods, namespaceSelector: nss }]);
                    const split = allowed([{ podSelector: pods }, { namespaceSelector: nss }]);
                    assert.ok(equals(intersect(joint, split), joint));
                },
            ),
        );
    });

    it('omitting policyTypes equals writing the defaulted value', () => {
        fc.assert(
            fc.property(nsLabels, policies, workload('s'), workload('d'), (teams, list, s, d) => {
                const explicit = list.map((p) => ({
                    ...p,
                    spec: {
                        ...p.spec,
                        policyTypes:
                            p.spec?.policyTypes && p.spec.policyTypes.length > 0
                                ? p.spec.policyTypes
                                : (p.spec?.egress?.length ?? 0) > 0
                                  ? ['Ingress', 'Egress']
                                  : ['Ingress'],
                    },
                }));
                const a = createEvaluator(cluster(teams, list)).evaluate(W(s), W(d));
                const b = createEvaluator(cluster(teams, explicit)).evaluate(W(s), W(d));
                assert.ok(equals(a.ports, b.ports));
            }),
        );
    });

    it('adding a policy to a pod already isolated in that direction never removes allowed traffic', () => {
        fc.assert(
            fc.property(
                nsLabels,
                policies,
                policy,
                workload('s'),
                workload('d'),
                (teams, list, extra, s, d) => {
                    const before = createEvaluator(cluster(teams, list)).ingress(d, W(s));
                    fc.pre(before.isolated);
                    const after = createEvaluator(
                        cluster(teams, [
                            ...list,
                            { ...extra, metadata: { name: 'extra', namespace: extra.metadata.namespace } },
                        ]),
                    ).ingress(d, W(s));
                    for (const m of before.allowedBy)
                        assert.ok(after.allowedBy.some((n) => n.policy === m.policy && n.rule === m.rule));
                },
            ),
        );
    });
});
