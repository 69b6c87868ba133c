import assert from 'node:assert/strict';

import {
    cidrContains,
    contains,
    createEvaluator,
    effectivePolicyTypes,
    formatPortSet,
    ipBlockContains,
    isEmpty,
} from '../../../src/netpol/index.ts';
import type { NetworkPolicyInput, Workload } from '../../../src/netpol/index.ts';

const W = (w: Workload) => ({ kind: 'workload' as const, workload: w });
const pod = (
    namespace: string,
    name: string,
    labels: Record<string, string>,
    extra: Partial<Workload> = {},
): Workload => ({
    namespace,
    name,
    labels,
    ...extra,
});
const np = (namespace: string, name: string, spec: NetworkPolicyInput['spec']): NetworkPolicyInput => ({
    metadata: { namespace, name },
    spec,
});
const namespaces = [{ name: 'x' }, { name: 'y', labels: { team: 'b' } }];

describe('netpol: evaluator details', () => {
    it('defaults policyTypes like the API server: egress [] does not add Egress, egress rules do', () => {
        assert.deepEqual(effectivePolicyTypes(np('x', 'a', { egress: [] })), ['Ingress']);
        assert.deepEqual(effectivePolicyTypes(np('x', 'a', { egress: [{}] })), ['Ingress', 'Egress']);
        assert.deepEqual(effectivePolicyTypes(np('x', 'a', { policyTypes: ['Egress'] })), ['Egress']);
    });

    it('an egress-only allow policy without policyTypes also isolates the pod for ingress', () => {
        const ev = createEvaluator({
            namespaces,
            policies: [
                np('x', 'dns', { podSelector: {}, egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] }),
            ],
        });
        const v = ev.evaluate(W(pod('y', 'c', {})), W(pod('x', 'a', {})));
        assert.ok(v.ingress?.isolated);
        assert.deepEqual(v.ingress?.isolatedBy, ['x/dns']);
        assert.ok(isEmpty(v.ports));
    });

    it('resolves a named port per destination pod, on the matching protocol only', () => {
        const policy = np('x', 'web', {
            podSelector: {},
            policyTypes: ['Ingress'],
            ingress: [{ ports: [{ port: 'http' }] }],
        });
        const ev = createEvaluator({ namespaces, policies: [policy] });
        const a = pod('x', 'a', {}, { ports: [{ name: 'http', containerPort: 8080 }] });
        const b = pod(
            'x',
            'b',
            {},
            {
                ports: [
                    { name: 'http', containerPort: 80 },
                    { name: 'http', containerPort: 53, protocol: 'UDP' },
                ],
            },
        );
        const client = W(pod('y', 'c', {}));
        assert.equal(formatPortSet(ev.evaluate(client, W(a)).ports), 'TCP 8080');
        assert.equal(formatPortSet(ev.evaluate(client, W(b)).ports), 'TCP 80');
        // Unknown container ports: the name stays symbolic.
        assert.equal(formatPortSet(ev.evaluate(client, W(pod('x', 'sa', {}))).ports), 'TCP port named http');
    });

    it('endPort is an inclusive range; SCTP and UDP are distinct from TCP', () => {
        const ev = createEvaluator({
            namespaces,
            policies: [
                np('x', 'r', {
                    podSelector: {},
                    policyTypes: ['Ingress'],
                    ingress: [
                        {
                            ports: [
                                { port: 8080, endPort: 8089 },
                                { protocol: 'SCTP', port: 9 },
                            ],
                        },
                    ],
                }),
            ],
        });
        const v = ev.evaluate(W(pod('y', 'c', {})), W(pod('x', 'a', {})));
        assert.ok(contains(v.ports, 'TCP', 8080) && contains(v.ports, 'TCP', 8089));
        assert.ok(
            !contains(v.ports, 'TCP', 8090) && !contains(v.ports, 'TCP', 9) && contains(v.ports, 'SCTP', 9),
        );
        assert.equal(formatPortSet(v.ports), 'TCP 8080-8089; SCTP 9');
    });

    it('reads the client-node model shape (_from) as well as wire JSON', () => {
        const ev = createEvaluator({
            namespaces,
            policies: [
                np('x', 'm', {
                    podSelector: {},
                    policyTypes: ['Ingress'],
                    ingress: [{ _from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }] }],
                }),
            ],
        });
        assert.ok(!isEmpty(ev.evaluate(W(pod('y', 'c', {})), W(pod('x', 'a', {}))).ports));
        assert.ok(isEmpty(ev.evaluate(W(pod('x', 'c', {})), W(pod('x', 'a', {}))).ports));
    });

    it('matches ipBlocks with except, across IPv4, IPv6 and IPv4-mapped addresses; external IPs are endpoints', () => {
        assert.ok(ipBlockContains({ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }, '10.2.3.4'));
        assert.ok(!ipBlockContains({ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }, '10.1.3.4'));
        assert.ok(cidrContains('2001:db8::/32', '2001:db8::1'));
        assert.ok(cidrContains('10.0.0.0/8', '::ffff:10.0.0.1'));
        assert.ok(!cidrContains('10.0.0.0/8', '2001:db8::1'));
        assert.ok(!cidrContains('not-a-cidr', '10.0.0.1'));
        const ev = createEvaluator({
            namespaces,
            policies: [
                np('x', 'e', {
                    podSelector: {},
                    policyTypes: ['Egress'],
                    egress: [
                        {
                            to: [{ ipBlock: { cidr: '169.254.20.10/32' } }],
                            ports: [{ protocol: 'UDP', port: 53 }],
                        },
                    ],
                }),
            ],
        });
        const v = ev.evaluate(W(pod('x', 'a', {})), { kind: 'ip', ip: '169.254.20.10' });
        assert.equal(formatPortSet(v.ports), 'UDP 53');
        assert.equal(v.ingress, undefined);
    });

    it('lists the address blocks outside the pod network a pod may reach, a rule without peers as any address', () => {
        const ev = createEvaluator({
            namespaces,
            policies: [
                np('x', 'ext', {
                    podSelector: { matchLabels: { app: 'api' } },
                    policyTypes: ['Egress'],
                    egress: [
                        {
                            to: [{ ipBlock: { cidr: '203.0.113.0/24', except: ['203.0.113.128/25'] } }],
                            ports: [{ port: 443 }],
                        },
                        { to: [{ podSelector: {} }] },
                        { ports: [{ protocol: 'UDP', port: 53 }, { port: 'http' }] },
                    ],
                }),
            ],
        });
        const x = ev.external(pod('x', 'a', { app: 'api' }), 'Egress');
        assert.ok(x.isolated);
        assert.deepEqual(
            x.blocks.map((b) => [b.cidr, b.except, formatPortSet(b.ports)]),
            [
                ['203.0.113.0/24', ['203.0.113.128/25'], 'TCP 443'],
                ['0.0.0.0/0', [], 'UDP 53'],
                ['::/0', [], 'UDP 53'],
            ],
        );
        assert.equal(ev.external(pod('x', 'b', {}), 'Egress').isolated, false);
    });

    it('never selects or matches hostNetwork pods; a pod may always reach itself', () => {
        const ev = createEvaluator({
            namespaces,
            policies: [np('x', 'deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })],
        });
        const host = pod('x', 'h', {}, { hostNetwork: true });
        assert.equal(ev.isolating(host, 'Ingress').length, 0);
        const a = pod('x', 'a', {});
        assert.ok(ev.evaluate(W(a), W(a)).loopback);
    });
});
