/**
 * Properties of the pure planner on random profiles (fast-check; the generator is test/support/profile-arbitraries.ts,
 * which reaches every field of the CRD): deterministic, idempotent (what it planned, once applied, needs no further
 * action), every name a valid DNS-1123 subdomain and unique per kind, every object far under the API server's
 * request limit even at the CRD's maximum list sizes, and — checked with the NetworkPolicy evaluator
 * (src/netpol/evaluate.ts) against an oracle written from the profile spec alone — no generated policy allows
 * any source, destination or port the profile does not say.
 *
 * FUZZ_SEED / FUZZ_RUNS override the fixed seed and the number of runs; a failure prints the seed and the shrunk
 * counterexample (fast-check's report).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';

import type { IsolationProfile, IsolationProfileSpec, PortRule, Peer } from '../../../src/api/types.ts';
import {
    LABEL_PROFILE,
    LABEL_SERVICE_ACCOUNT,
    LABEL_TENANT,
    NAMESPACE_NAME_LABEL,
} from '../../../src/api/types.ts';
import { contains, createEvaluator, ipBlockContains, PROTOCOLS } from '../../../src/netpol/index.ts';
import type { L4Protocol, NetworkPolicyInput, Workload } from '../../../src/netpol/index.ts';
import type { DesiredObject, PlanInput } from '../../../src/plan/index.ts';
import { isValidDns1123Subdomain, matchesSelector, plan, planActions } from '../../../src/plan/index.ts';
import { DEFAULT_VOCABULARY, validSpec } from '../../support/profile-arbitraries.ts';
import type { Vocabulary } from '../../support/profile-arbitraries.ts';
import { profile, serverCopy } from './fixtures.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261205);
const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
const params = <T>(): fc.Parameters<T> => ({ seed: SEED, numRuns: RUNS });

const V: Vocabulary = DEFAULT_VOCABULARY;
const GOVERNED = V.namespaces[0]!;
const PROFILE = 'fz-p0';
/** etcd's default request limit (--max-request-bytes, 1.5 MiB): no object may come near it. */
const API_OBJECT_LIMIT = 1.5 * 1024 * 1024;

function profileOf(spec: IsolationProfileSpec): IsolationProfile {
    return profile(PROFILE, spec);
}

const serviceAccounts = fc.uniqueArray(
    fc.record({
        name: fc.constantFrom('app', 'reader', 'deployer', 'x'),
        labels: fc.constantFrom<Record<string, string>>({}, { 'isolation.dev/role': 'reader' }),
    }),
    { selector: (s) => s.name, maxLength: 4 },
);

const planInput: fc.Arbitrary<PlanInput> = fc
    .record({ spec: validSpec(V), sas: serviceAccounts, team: fc.constantFrom(...V.teams) })
    .map(({ spec, sas, team }) => ({
        namespace: {
            name: GOVERNED,
            labels: { [`isolation.dev/${V.teamKey}`]: team, [LABEL_PROFILE]: PROFILE },
        },
        profile: profileOf(spec),
        serviceAccounts: sas,
    }));

function shuffled<T>(xs: readonly T[]): T[] {
    return [...xs].reverse();
}

describe('plan properties (random profiles)', function () {
    this.timeout(120_000);

    it('is deterministic: equal inputs, in any order, give byte-identical output', () => {
        fc.assert(
            fc.property(planInput, (input) => {
                const a = JSON.stringify(plan(input));
                const b = JSON.stringify(plan(structuredClone(input)));
                const c = JSON.stringify(
                    plan({ ...input, serviceAccounts: shuffled(input.serviceAccounts) }),
                );
                assert.equal(b, a);
                assert.equal(c, a);
            }),
            params(),
        );
    });

    it('is idempotent: once its objects exist as the API server returns them, nothing is left to do', () => {
        fc.assert(
            fc.property(planInput, (input) => {
                const desired = plan(input);
                const live = desired.map(serverCopy);
                const actions = planActions(desired, {
                    networkPolicies: live.filter((_, i) => desired[i]!.kind === 'NetworkPolicy'),
                    roleBindings: live.filter((_, i) => desired[i]!.kind === 'RoleBinding'),
                });
                assert.deepEqual(
                    [actions.create, actions.update, actions.replace, actions.delete].map((l) => l.length),
                    [0, 0, 0, 0],
                );
                // Planning again over its own output changes nothing either.
                assert.deepEqual(plan(input), desired);
            }),
            params(),
        );
    });

    it('gives every object a valid DNS-1123 name, unique per kind, with valid label values', () => {
        fc.assert(
            fc.property(planInput, (input) => {
                const seen = new Set<string>();
                for (const o of plan(input)) {
                    assert.ok(isValidDns1123Subdomain(o.metadata.name), `invalid name ${o.metadata.name}`);
                    const key = `${o.kind}/${o.metadata.name}`;
                    assert.ok(!seen.has(key), `duplicate ${key}`);
                    seen.add(key);
                    assert.equal(o.metadata.namespace, GOVERNED);
                    for (const v of Object.values(o.metadata.labels ?? {}))
                        assert.match(v, /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/);
                }
            }),
            params(),
        );
    });

    it('keeps every object under the API request limit, even with every CRD list at its maximum', () => {
        const largest = (o: DesiredObject[]) =>
            Math.max(0, ...o.map((x) => Buffer.byteLength(JSON.stringify(x))));
        fc.assert(
            fc.property(planInput, (input) => {
                assert.ok(largest(plan(input)) < API_OBJECT_LIMIT);
            }),
            params(),
        );
        const max = maximalSpec();
        const size = largest(
            plan({ namespace: { name: GOVERNED }, profile: profileOf(max), serviceAccounts: [] }),
        );
        assert.ok(size < API_OBJECT_LIMIT, `largest object ${size} bytes`);
    });

    it('allows no peer, pod or port more than its profile says (NetworkPolicy evaluator vs the spec)', () => {
        fc.assert(
            fc.property(planInput, fc.array(workload, { minLength: 1, maxLength: 6 }), (input, pods) => {
                const spec = input.profile!.spec;
                const policies: NetworkPolicyInput[] = plan(input)
                    .filter((o) => o.kind === 'NetworkPolicy')
                    .map((o) => o as unknown as NetworkPolicyInput);
                const namespaces = clusterNamespaces(input);
                const ev = createEvaluator({ namespaces, policies });
                const nsLabels = new Map(namespaces.map((n) => [n.name, n.labels]));
                const probes = portProbes(spec);
                const inGoverned = pods.filter((p) => p.namespace === GOVERNED);
                const ips = ['10.1.2.3', '192.168.0.1', '2001:db8:1::5', '8.8.8.8'];
                for (const dst of inGoverned) {
                    const sources = [
                        ...pods
                            .filter((p) => p !== dst)
                            .map((w) => ({ kind: 'workload' as const, workload: w })),
                        ...ips.map((ip) => ({ kind: 'ip' as const, ip })),
                    ];
                    for (const src of sources) {
                        const got = ev.ingress(dst, src).ports;
                        for (const [proto, port] of probes) {
                            if (!contains(got, proto, port)) continue;
                            assert.ok(
                                saysIngress(spec, dst, src, proto, port, nsLabels),
                                `ingress to ${dst.namespace}/${dst.name} from ${src.kind === 'ip' ? src.ip : `${src.workload.namespace}/${src.workload.name}`} on ${proto}/${port} is allowed, but the profile does not say so`,
                            );
                        }
                    }
                }
                for (const src of inGoverned) {
                    const dests = [
                        ...pods
                            .filter((p) => p !== src)
                            .map((w) => ({ kind: 'workload' as const, workload: w })),
                        { kind: 'workload' as const, workload: DNS_POD },
                        ...ips.map((ip) => ({ kind: 'ip' as const, ip })),
                    ];
                    for (const dst of dests) {
                        const got = ev.egress(src, dst).ports;
                        for (const [proto, port] of probes) {
                            if (!contains(got, proto, port)) continue;
                            assert.ok(
                                saysEgress(spec, src, dst, proto, port, nsLabels),
                                `egress from ${src.namespace}/${src.name} to ${dst.kind === 'ip' ? dst.ip : `${dst.workload.namespace}/${dst.workload.name}`} on ${proto}/${port} is allowed, but the profile does not say so`,
                            );
                        }
                    }
                }
            }),
            params(),
        );
    });
});

// ---------------------------------------------------------------------------------------------------------------
// The oracle: what a profile says, read from its spec and docs/api.md alone (never from the planner's output).

type Endpoint = { kind: 'workload'; workload: Workload } | { kind: 'ip'; ip: string };
type Labels = Map<string, Record<string, string> | undefined>;

const DNS_POD: Workload = { namespace: 'kube-system', name: 'coredns', labels: { 'k8s-app': 'kube-dns' } };

const podLabelValue = fc.constantFrom('a', 'b', 'web', 'api');
const workload: fc.Arbitrary<Workload> = fc
    .record({
        namespace: fc.constantFrom(...V.namespaces, 'other'),
        app: fc.option(podLabelValue, { nil: undefined }),
        tier: fc.option(podLabelValue, { nil: undefined }),
        sa: fc.option(fc.constantFrom('app', 'reader', 'deployer'), { nil: undefined }),
        id: fc.integer({ min: 0, max: 1e6 }),
    })
    .map(({ namespace, app, tier, sa, id }) => {
        const labels: Record<string, string> = {};
        if (app) labels.app = app;
        if (tier) labels.tier = tier;
        if (sa) labels[LABEL_SERVICE_ACCOUNT] = sa;
        return { namespace, name: `pod-${id}`, labels };
    });

/** The governed namespace plus the vocabulary's others, each labelled with a team and a governing profile. */
function clusterNamespaces(input: PlanInput): { name: string; labels: Record<string, string> }[] {
    const out = [{ name: GOVERNED, labels: { ...(input.namespace.labels ?? {}) } }];
    V.namespaces.slice(1).forEach((name, i) => {
        out.push({
            name,
            labels: {
                [`isolation.dev/${V.teamKey}`]: V.teams[i % V.teams.length]!,
                [LABEL_PROFILE]: V.profiles[i % V.profiles.length]!,
            },
        });
    });
    // Another tenant's namespace governed by a profile of the same name: a cluster-wide profile's peer must not reach it.
    out.push({ name: 'other', labels: { [LABEL_TENANT]: 'someone', [LABEL_PROFILE]: V.profiles[1]! } });
    out.push({ name: 'kube-system', labels: {} });
    return out.map((n) => ({ ...n, labels: { ...n.labels, [NAMESPACE_NAME_LABEL]: n.name } }));
}

/** Every port the spec mentions, its neighbours, DNS, and the names, on every protocol. */
function portProbes(spec: IsolationProfileSpec): [L4Protocol, number | string][] {
    const nums = new Set<number>([1, 53, 80, 8080, 65535]);
    const names = new Set<string>(['http', 'metrics', 'grpc-api', 'dns-tcp', 'unknown']);
    const visit = (ports: PortRule[] | undefined) => {
        for (const p of ports ?? []) {
            if (typeof p.port === 'string') names.add(p.port);
            else if (p.port !== undefined) {
                for (const n of [
                    p.port - 1,
                    p.port,
                    p.port + 1,
                    (p.endPort ?? p.port) + 1,
                    p.endPort ?? p.port,
                ])
                    if (n >= 1 && n <= 65535) nums.add(n);
            }
        }
    };
    for (const r of spec.network?.ingress ?? []) visit(r.ports);
    for (const r of spec.network?.egress ?? []) visit(r.ports);
    for (const a of spec.access ?? []) visit(a.network?.ports);
    const out: [L4Protocol, number | string][] = [];
    for (const proto of PROTOCOLS) {
        for (const n of nums) out.push([proto, n]);
        for (const n of names) out.push([proto, n]);
    }
    return out;
}

function selectorMatches(
    sel: Parameters<typeof matchesSelector>[0] | undefined,
    labels: Record<string, string>,
) {
    return matchesSelector(sel ?? {}, labels);
}

function portSays(
    ports: PortRule[] | undefined,
    proto: L4Protocol,
    port: number | string,
    toIp: boolean,
): boolean {
    if (!ports || ports.length === 0) return true;
    return ports.some((p) => {
        if ((p.protocol ?? 'TCP') !== proto) return false;
        if (p.port === undefined) return true;
        if (typeof p.port === 'string') return !toIp && p.port === port;
        return typeof port === 'number' && port >= p.port && port <= (p.endPort ?? p.port);
    });
}

/** Whether a spec peer names `e` (seen from a policy in the governed namespace). */
function peerSays(peer: Peer, e: Endpoint, nsLabels: Labels): boolean {
    if (e.kind === 'ip') {
        return (
            peer.cidr !== undefined && ipBlockContains({ cidr: peer.cidr, except: peer.except ?? [] }, e.ip)
        );
    }
    const w = e.workload;
    const labels = nsLabels.get(w.namespace) ?? { [NAMESPACE_NAME_LABEL]: w.namespace };
    if (peer.profile !== undefined) {
        // A cluster-wide profile's peer: namespaces governed by that profile and of no tenant.
        return labels[LABEL_PROFILE] === peer.profile && labels[LABEL_TENANT] === undefined;
    }
    if (peer.namespaces !== undefined) {
        const byName = (peer.namespaces.names ?? []).includes(w.namespace);
        const bySel =
            peer.namespaces.selector !== undefined && selectorMatches(peer.namespaces.selector, labels);
        return (byName || bySel) && selectorMatches(peer.pods, w.labels);
    }
    if (peer.serviceAccount !== undefined) {
        return (
            w.namespace === peer.serviceAccount.namespace &&
            w.labels[LABEL_SERVICE_ACCOUNT] === peer.serviceAccount.name
        );
    }
    return false; // cidr peers never match pods that have no IP
}

function peersSay(peers: Peer[] | undefined, e: Endpoint, nsLabels: Labels): boolean {
    return !peers || peers.length === 0 || peers.some((p) => peerSays(p, e, nsLabels));
}

function saysIngress(
    spec: IsolationProfileSpec,
    dst: Workload,
    src: Endpoint,
    proto: L4Protocol,
    port: number | string,
    nsLabels: Labels,
): boolean {
    const n = spec.network ?? {};
    const accessEntries = (spec.access ?? []).filter(
        (a) => a.network && a.subjects.some((s) => s.kind === 'ServiceAccount'),
    );
    const isolated =
        (n.defaultDeny?.ingress ?? true) ||
        (n.ingress ?? []).some((r) => selectorMatches(r.pods, dst.labels)) ||
        accessEntries.some((a) => selectorMatches(a.network!.pods, dst.labels));
    if (!isolated) return true;
    if ((n.allowSameNamespace ?? true) && src.kind === 'workload' && src.workload.namespace === dst.namespace)
        return true;
    for (const r of n.ingress ?? []) {
        if (
            selectorMatches(r.pods, dst.labels) &&
            peersSay(r.from, src, nsLabels) &&
            portSays(r.ports, proto, port, false)
        )
            return true;
    }
    for (const a of accessEntries) {
        const fromSa =
            src.kind === 'workload' &&
            a.subjects.some(
                (s) =>
                    s.kind === 'ServiceAccount' &&
                    s.namespace === src.workload.namespace &&
                    src.workload.labels[LABEL_SERVICE_ACCOUNT] === s.name,
            );
        if (
            fromSa &&
            selectorMatches(a.network!.pods, dst.labels) &&
            portSays(a.network!.ports, proto, port, false)
        )
            return true;
    }
    return false;
}

function saysEgress(
    spec: IsolationProfileSpec,
    src: Workload,
    dst: Endpoint,
    proto: L4Protocol,
    port: number | string,
    nsLabels: Labels,
): boolean {
    const n = spec.network ?? {};
    const isolated =
        (n.defaultDeny?.egress ?? true) || (n.egress ?? []).some((r) => selectorMatches(r.pods, src.labels));
    if (!isolated) return true;
    if ((n.allowSameNamespace ?? true) && dst.kind === 'workload' && dst.workload.namespace === src.namespace)
        return true;
    if (
        (n.allowDNS ?? true) &&
        dst.kind === 'workload' &&
        dst.workload.namespace === 'kube-system' &&
        dst.workload.labels['k8s-app'] === 'kube-dns' &&
        (proto === 'UDP' || proto === 'TCP') &&
        port === 53
    )
        return true;
    for (const r of n.egress ?? []) {
        if (
            selectorMatches(r.pods, src.labels) &&
            peersSay(r.to, dst, nsLabels) &&
            portSays(r.ports, proto, port, dst.kind === 'ip')
        )
            return true;
    }
    return false;
}

// ---------------------------------------------------------------------------------------------------------------

/** A spec with every list of the CRD at its maximum and the longest strings it allows. */
function maximalSpec(): IsolationProfileSpec {
    const long = (p: string, i: number) => `${p}${i}`.padEnd(63, 'x');
    const selector = {
        matchLabels: Object.fromEntries(
            Array.from({ length: 16 }, (_, i) => [`example.com/${long('k', i)}`, long('v', i)]),
        ),
        matchExpressions: Array.from({ length: 16 }, (_, i) => ({
            key: `example.com/${long('e', i)}`,
            operator: 'In' as const,
            values: Array.from({ length: 64 }, (_, j) => long(`v${i}-`, j)),
        })),
    };
    const ports: PortRule[] = Array.from({ length: 32 }, (_, i) => ({
        protocol: 'TCP',
        port: 1000 + i,
        endPort: 2000 + i,
    }));
    const peers: Peer[] = Array.from({ length: 16 }, (_, i) =>
        i % 2 === 0
            ? {
                  namespaces: { names: Array.from({ length: 64 }, (_, j) => long(`n${i}-`, j)), selector },
                  pods: selector,
              }
            : { cidr: `10.${i}.0.0/16`, except: Array.from({ length: 32 }, (_, j) => `10.${i}.${j}.0/24`) },
    );
    const rules = (p: string) =>
        Array.from({ length: 64 }, (_, i) => ({
            name: long(p, i),
            pods: selector,
            from: peers,
            to: peers,
            ports,
        }));
    return {
        namespaces: { names: ['fz-a'] },
        network: {
            ingress: rules('in').map(({ to: _to, ...r }) => r),
            egress: rules('out').map(({ from: _from, ...r }) => r),
        },
        access: Array.from({ length: 32 }, (_, i) => ({
            name: long('acc', i),
            roleRef: { kind: 'ClusterRole' as const, name: 'view' },
            subjects: Array.from({ length: 64 }, (_, j) => ({
                kind: 'ServiceAccount' as const,
                namespace: long('ns', j),
                name: long(`sa${i}-`, j),
            })),
            network: { ports, pods: selector },
        })),
    };
}
