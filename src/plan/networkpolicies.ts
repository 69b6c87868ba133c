/**
 * Desired NetworkPolicies for one governed namespace (DESIGN §2), with exact NetworkPolicy semantics.
 *
 * - `policyTypes` is always explicit (the server would otherwise default it, see the semantics note §2).
 * - A policy only lists a direction in `policyTypes` when it means to isolate or allow that direction. The baseline
 *   allows (`isolation-same-namespace`, `isolation-dns`) exist only for directions that `defaultDeny` isolates:
 *   adding Egress to them while egress default-deny is off would isolate every pod and cut its egress.
 * - An allow rule isolates the pods it selects in its direction (standard NetworkPolicy semantics). When that
 *   direction is NOT default-denied, the baseline allows of that direction (same-namespace, and DNS for egress) are
 *   folded into the rule's policy as extra rules, so turning `allowSameNamespace` / `allowDNS` on guarantees that no
 *   generated policy takes that traffic away. When it IS default-denied, the baseline policies already cover it.
 * - A peer with pod AND namespace criteria is ONE peer (AND); two peers would mean OR.
 * - A spec peer list that is non-empty never becomes an empty `from`/`to` (which would allow everything): a peer that
 *   cannot select anything becomes a peer that matches nothing (fail closed).
 */

import type { AccessEntry, LabelSelector, Peer, PortRule } from '../api/types.ts';
import { LABEL_PROFILE, LABEL_SERVICE_ACCOUNT, LABEL_TENANT, NAMESPACE_NAME_LABEL } from '../api/types.ts';
import type { EffectiveNetwork } from '../api/defaults.ts';
import { DEFAULT_PROTOCOL } from '../api/defaults.ts';
import type {
    NetworkPolicyEgressRule,
    NetworkPolicyIngressRule,
    NetworkPolicyObject,
    NetworkPolicyPeer,
    NetworkPolicyPort,
    NetworkPolicySpec,
    ObjectContext,
    PolicyType,
} from './objects.ts';
import { generatedMetadata, NETWORK_POLICY_API_VERSION } from './objects.ts';
import {
    accessObjectName,
    alignmentEgressName,
    egressPolicyName,
    ingressPolicyName,
    NAME_DEFAULT_DENY,
    NAME_DNS,
    NAME_SAME_NAMESPACE,
} from './names.ts';
import { normalizeSelector } from './selection.ts';
import type { PlanSettings } from './settings.ts';

/** A valid peer that selects nothing: every namespace carries `kubernetes.io/metadata.name`. */
export function matchNothingPeer(): NetworkPolicyPeer {
    return {
        namespaceSelector: { matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: 'DoesNotExist' }] },
    };
}

function namespaceNamed(name: string): LabelSelector {
    return { matchLabels: { [NAMESPACE_NAME_LABEL]: name } };
}

function withPods(peer: NetworkPolicyPeer, pods: LabelSelector | undefined): NetworkPolicyPeer {
    if (pods !== undefined) peer.podSelector = normalizeSelector(pods);
    return peer;
}

/**
 * The namespaceSelector of a `profile` peer: the profile label (only the operator writes it) AND the tenant label
 * (only the platform writes it) of `peer.tenant`, defaulting to the referencing profile's tenant; no tenant means
 * namespaces without a tenant label. A tenant that creates a profile under a name another team refers to (a
 * profile that does not exist yet, or was deleted) therefore gains nothing: its namespaces carry its own tenant.
 */
export function profilePeerSelector(profile: string, tenant: string | undefined): LabelSelector {
    if (tenant) return { matchLabels: { [LABEL_PROFILE]: profile, [LABEL_TENANT]: tenant } };
    return {
        matchLabels: { [LABEL_PROFILE]: profile },
        matchExpressions: [{ key: LABEL_TENANT, operator: 'DoesNotExist' }],
    };
}

/**
 * One spec peer -> NetworkPolicy peers (OR). Exactly one kind is set (CEL); should several be set anyway, each is
 * translated (their union, as if listed separately). `namespaces` with both `names` and `selector` is their union
 * too (two peers), matching how `spec.namespaces` combines them. A ServiceAccount without namespace means one in the
 * governed namespace. A peer with only `pods` means those pods of the governed namespace.
 */
export function toNetworkPolicyPeers(
    peer: Peer,
    governedNamespace: string,
    profileTenant?: string,
): NetworkPolicyPeer[] {
    const out: NetworkPolicyPeer[] = [];
    if (peer.profile !== undefined) {
        const selector = profilePeerSelector(peer.profile, peer.tenant ?? profileTenant);
        out.push(withPods({ namespaceSelector: selector }, peer.pods));
    }
    if (peer.namespaces !== undefined) {
        const names = [...new Set(peer.namespaces.names ?? [])].sort();
        if (names.length > 0) {
            const namespaceSelector: LabelSelector = {
                matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: 'In', values: names }],
            };
            out.push(withPods({ namespaceSelector }, peer.pods));
        }
        if (peer.namespaces.selector !== undefined) {
            out.push(withPods({ namespaceSelector: normalizeSelector(peer.namespaces.selector) }, peer.pods));
        }
        if (names.length === 0 && peer.namespaces.selector === undefined) out.push(matchNothingPeer());
    }
    if (peer.serviceAccount !== undefined) {
        out.push({
            namespaceSelector: namespaceNamed(peer.serviceAccount.namespace || governedNamespace),
            podSelector: { matchLabels: { [LABEL_SERVICE_ACCOUNT]: peer.serviceAccount.name } },
        });
    }
    if (peer.cidr !== undefined) {
        const except = peer.except ?? [];
        out.push({
            ipBlock: except.length > 0 ? { cidr: peer.cidr, except: [...except] } : { cidr: peer.cidr },
        });
    }
    if (out.length === 0)
        out.push(
            peer.pods !== undefined ? { podSelector: normalizeSelector(peer.pods) } : matchNothingPeer(),
        );
    return out;
}

function toPeers(peers: Peer[] | undefined, ctx: ObjectContext): NetworkPolicyPeer[] | undefined {
    if (!peers || peers.length === 0) return undefined;
    return dedupe(peers.flatMap((p) => toNetworkPolicyPeers(p, ctx.namespace, ctx.tenant)));
}

/** Protocol defaults to TCP; an all-digit string port is a number (the API would reject it as a name). */
export function toNetworkPolicyPorts(ports: PortRule[] | undefined): NetworkPolicyPort[] | undefined {
    if (!ports || ports.length === 0) return undefined;
    return dedupe(
        ports.map((p) => {
            const out: NetworkPolicyPort = { protocol: p.protocol ?? DEFAULT_PROTOCOL };
            if (p.port !== undefined)
                out.port = typeof p.port === 'string' && /^\d+$/.test(p.port) ? Number(p.port) : p.port;
            if (p.endPort !== undefined) out.endPort = p.endPort;
            return out;
        }),
    );
}

function dedupe<T>(items: T[]): T[] {
    const seen = new Set<string>();
    return items.filter((item) => {
        const key = JSON.stringify(item);
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
    });
}

function ingressRule(
    from: NetworkPolicyPeer[] | undefined,
    ports: NetworkPolicyPort[] | undefined,
): NetworkPolicyIngressRule {
    const rule: NetworkPolicyIngressRule = {};
    if (from) rule.from = from;
    if (ports) rule.ports = ports;
    return rule;
}

function egressRule(
    to: NetworkPolicyPeer[] | undefined,
    ports: NetworkPolicyPort[] | undefined,
): NetworkPolicyEgressRule {
    const rule: NetworkPolicyEgressRule = {};
    if (to) rule.to = to;
    if (ports) rule.ports = ports;
    return rule;
}

/** A host address as a CIDR (`/32` or `/128`); a CIDR stays as it is. */
function hostCidr(address: string): string {
    if (address.includes('/')) return address;
    return address.includes(':') ? `${address}/128` : `${address}/32`;
}

/**
 * UDP and TCP on each DNS port (default 53; TCP for truncated answers) to ONE peer: DNS namespace AND DNS pod
 * labels; plus, when a node-local DNS cache is configured, its addresses as ipBlocks on the same ports. With the
 * default settings the rule is exactly `UDP 53, TCP 53` to the DNS pods.
 */
export function dnsEgressRule(
    settings: Pick<PlanSettings, 'dnsNamespace' | 'dnsPodLabels' | 'dnsPorts' | 'nodeLocalDNS'>,
): NetworkPolicyEgressRule {
    const ports = settings.dnsPorts && settings.dnsPorts.length > 0 ? settings.dnsPorts : [53];
    return {
        to: [
            {
                namespaceSelector: namespaceNamed(settings.dnsNamespace),
                podSelector: normalizeSelector({ matchLabels: settings.dnsPodLabels }),
            },
            ...(settings.nodeLocalDNS ?? []).map((a) => ({ ipBlock: { cidr: hostCidr(a) } })),
        ],
        ports: ports.flatMap((port): NetworkPolicyPort[] => [
            { protocol: 'UDP', port },
            { protocol: 'TCP', port },
        ]),
    };
}

function sameNamespaceIngress(): NetworkPolicyIngressRule {
    return { from: [{ podSelector: {} }] };
}

function sameNamespaceEgress(): NetworkPolicyEgressRule {
    return { to: [{ podSelector: {} }] };
}

/** Baseline ingress allows to fold into an ingress allow policy when ingress is not default-denied. */
function ingressBaseline(net: EffectiveNetwork): NetworkPolicyIngressRule[] {
    return !net.denyIngress && net.allowSameNamespace ? [sameNamespaceIngress()] : [];
}

/** Baseline egress allows to fold into an egress allow policy when egress is not default-denied. */
function egressBaseline(net: EffectiveNetwork, settings: PlanSettings): NetworkPolicyEgressRule[] {
    if (net.denyEgress) return [];
    const rules: NetworkPolicyEgressRule[] = [];
    if (net.allowSameNamespace) rules.push(sameNamespaceEgress());
    if (net.allowDNS) rules.push(dnsEgressRule(settings));
    return rules;
}

function policy(ctx: ObjectContext, name: string, spec: NetworkPolicySpec): NetworkPolicyObject {
    return {
        apiVersion: NETWORK_POLICY_API_VERSION,
        kind: 'NetworkPolicy',
        metadata: generatedMetadata(ctx, name),
        spec,
    };
}

function deniedTypes(net: EffectiveNetwork): PolicyType[] {
    const types: PolicyType[] = [];
    if (net.denyIngress) types.push('Ingress');
    if (net.denyEgress) types.push('Egress');
    return types;
}

/**
 * `isolation-default-deny`: all pods, the denied directions, and their rule lists stated as explicitly empty
 * (`ingress: []`, `egress: []`): server-side apply then owns those lists, so the policy denies whatever was
 * there before. Null when nothing is denied.
 */
export function defaultDenyPolicy(ctx: ObjectContext, net: EffectiveNetwork): NetworkPolicyObject | null {
    const policyTypes = deniedTypes(net);
    if (policyTypes.length === 0) return null;
    const spec: NetworkPolicySpec = { podSelector: {}, policyTypes };
    if (net.denyIngress) spec.ingress = [];
    if (net.denyEgress) spec.egress = [];
    return policy(ctx, NAME_DEFAULT_DENY, spec);
}

/**
 * `isolation-same-namespace`: pods of the namespace may reach each other. Opens exactly the default-denied
 * directions (ingress from podSelector {}, egress to podSelector {}); a direction that is not denied is already
 * open, and listing it would isolate it. Null when disabled or when nothing is denied.
 */
export function sameNamespacePolicy(ctx: ObjectContext, net: EffectiveNetwork): NetworkPolicyObject | null {
    if (!net.allowSameNamespace) return null;
    const policyTypes = deniedTypes(net);
    if (policyTypes.length === 0) return null;
    const spec: NetworkPolicySpec = { podSelector: {}, policyTypes };
    if (net.denyIngress) spec.ingress = [sameNamespaceIngress()];
    if (net.denyEgress) spec.egress = [sameNamespaceEgress()];
    return policy(ctx, NAME_SAME_NAMESPACE, spec);
}

/** `isolation-dns`: egress to the cluster DNS; only when egress is default-denied (see module comment). */
export function dnsPolicy(
    ctx: ObjectContext,
    net: EffectiveNetwork,
    settings: PlanSettings,
): NetworkPolicyObject | null {
    if (!net.allowDNS || !net.denyEgress) return null;
    return policy(ctx, NAME_DNS, {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [dnsEgressRule(settings)],
    });
}

/** `isolation-ingress-<rule>` for each ingress rule. */
export function ingressRulePolicies(ctx: ObjectContext, net: EffectiveNetwork): NetworkPolicyObject[] {
    return net.ingress.map((rule) =>
        policy(ctx, ingressPolicyName(rule.name), {
            podSelector: normalizeSelector(rule.pods),
            policyTypes: ['Ingress'],
            ingress: [
                ingressRule(toPeers(rule.from, ctx), toNetworkPolicyPorts(rule.ports)),
                ...ingressBaseline(net),
            ],
        }),
    );
}

/** `isolation-egress-<rule>` for each egress rule. */
export function egressRulePolicies(
    ctx: ObjectContext,
    net: EffectiveNetwork,
    settings: PlanSettings,
): NetworkPolicyObject[] {
    return net.egress.map((rule) =>
        policy(ctx, egressPolicyName(rule.name), {
            podSelector: normalizeSelector(rule.pods),
            policyTypes: ['Egress'],
            egress: [
                egressRule(toPeers(rule.to, ctx), toNetworkPolicyPorts(rule.ports)),
                ...egressBaseline(net, settings),
            ],
        }),
    );
}

/**
 * `isolation-access-<entry>` for each access entry with `network`: ingress from the entry's ServiceAccount subjects
 * (one peer each: SA namespace AND service-account pod label) on the given ports to the given pods (default all).
 * Null-free: entries without `network` or without ServiceAccount subjects produce no policy.
 */
export function accessPolicies(
    ctx: ObjectContext,
    net: EffectiveNetwork,
    access: AccessEntry[],
): NetworkPolicyObject[] {
    const out: NetworkPolicyObject[] = [];
    for (const entry of access) {
        if (!entry.network) continue;
        const from = dedupe(
            (entry.subjects ?? [])
                .filter((s) => s.kind === 'ServiceAccount')
                .flatMap((s) =>
                    toNetworkPolicyPeers(
                        { serviceAccount: { namespace: s.namespace ?? '', name: s.name } },
                        ctx.namespace,
                    ),
                ),
        );
        if (from.length === 0) continue;
        out.push(
            policy(ctx, accessObjectName(entry.name), {
                podSelector: normalizeSelector(entry.network.pods),
                policyTypes: ['Ingress'],
                ingress: [
                    ingressRule(from, toNetworkPolicyPorts(entry.network.ports)),
                    ...ingressBaseline(net),
                ],
            }),
        );
    }
    return out;
}

/**
 * `isolation-alignment-<entry>` (setting `alignment: add-egress`): egress for the entry's ServiceAccount subjects
 * that live in this governed namespace, to the entry's pods in every namespace of this profile (the profile peer of
 * the profile itself), on the entry's ports — the other half of `isolation-access-<entry>`. Only where egress is
 * default-denied (otherwise it is open already) and never for ServiceAccounts of namespaces the profile does not
 * govern: their egress is their own profile's business.
 */
export function alignmentEgressPolicies(
    ctx: ObjectContext,
    net: EffectiveNetwork,
    access: AccessEntry[],
    settings: PlanSettings,
): NetworkPolicyObject[] {
    if (settings.alignment !== 'add-egress' || !net.denyEgress) return [];
    const out: NetworkPolicyObject[] = [];
    for (const entry of access) {
        if (!entry.network) continue;
        const names = [
            ...new Set(
                (entry.subjects ?? [])
                    .filter((s) => s.kind === 'ServiceAccount' && s.namespace === ctx.namespace)
                    .map((s) => s.name),
            ),
        ].sort();
        if (names.length === 0) continue;
        const to = [
            withPods(
                { namespaceSelector: profilePeerSelector(ctx.owner.name, ctx.tenant) },
                entry.network.pods,
            ),
        ];
        out.push(
            policy(ctx, alignmentEgressName(entry.name), {
                podSelector: {
                    matchExpressions: [{ key: LABEL_SERVICE_ACCOUNT, operator: 'In', values: names }],
                },
                policyTypes: ['Egress'],
                egress: [egressRule(to, toNetworkPolicyPorts(entry.network.ports))],
            }),
        );
    }
    return out;
}

/** All desired NetworkPolicies for one governed namespace (unsorted; `plan` sorts). */
export function networkPoliciesFor(
    ctx: ObjectContext,
    net: EffectiveNetwork,
    access: AccessEntry[],
    settings: PlanSettings,
): NetworkPolicyObject[] {
    const fixed = [defaultDenyPolicy(ctx, net), sameNamespacePolicy(ctx, net), dnsPolicy(ctx, net, settings)];
    return [
        ...fixed.filter((p): p is NetworkPolicyObject => p !== null),
        ...ingressRulePolicies(ctx, net),
        ...egressRulePolicies(ctx, net, settings),
        ...accessPolicies(ctx, net, access),
        ...alignmentEgressPolicies(ctx, net, access, settings),
    ];
}
