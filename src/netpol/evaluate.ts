/**
 * Exact Kubernetes NetworkPolicy semantics over every NetworkPolicy of a cluster (not only the operator's).
 *
 * The design is the one in the API reference, applied literally so answers can be checked against the upstream e2e
 * truth tables:
 * - `policyTypes` absent or empty defaults as the API server does: Ingress always, Egress when `egress` is non-empty.
 * - A pod is isolated in a direction iff some policy of its namespace selects it with that direction; then only the
 *   union of the matching rules of those policies is allowed. Not isolated = everything allowed.
 * - A rule allows when its peers AND its ports match; absent or empty `from`/`to`/`ports` match everything; peers,
 *   ports, rules and policies are ORed. A peer with pod AND namespace selectors is one AND condition.
 * - Named ports resolve on the destination pod (ingress: the selected pod; egress: the peer), protocol included;
 *   `endPort` is an inclusive range; protocol defaults to TCP; only TCP, UDP and SCTP exist here.
 * - ipBlock = `cidr` minus `except`; whether it matches pod IPs is an option (CNIs disagree), default yes.
 * - A connection is allowed on a port iff the source's egress AND the destination's ingress allow it. Traffic of a
 *   pod to itself is always allowed (loopback is out of NetworkPolicy's scope).
 *
 * Results are `PortSet`s with the rules that contributed them, so callers can say which policies allow or block.
 */
import type { LabelSelector } from '../api/types.ts';
import { NAMESPACE_NAME_LABEL } from '../api/types.ts';
import { matchesSelector } from '../plan/selection.ts';
import { labelsByNamespace, policiesIn } from './by-namespace.ts';
import { ipBlockContains } from './ipblock.ts';
import type { PortSet } from './portset.ts';
import { ALL, allOf, EMPTY, intersect, isEmpty, isProtocol, namedPort, portRange, union } from './portset.ts';
import type {
    ClusterNetwork,
    Direction,
    Endpoint,
    EvaluatorOptions,
    NetworkPolicyInput,
    PeerInput,
    PortInput,
    RuleInput,
    Workload,
} from './types.ts';

/** One rule of one policy that allows (part of) the traffic asked about. */
export interface RuleMatch {
    /** `<namespace>/<name>` of the policy. */
    policy: string;
    /** Index of the rule in the policy's `ingress` or `egress` list. */
    rule: number;
    ports: PortSet;
}

/** One side of a connection: the source's egress or the destination's ingress. */
export interface DirectionVerdict {
    direction: Direction;
    /** The pod whose policies decide this side, `<namespace>/<name>`. */
    subject: string;
    /** Some policy selects the subject for this direction (else everything is allowed on this side). */
    isolated: boolean;
    /** The policies that isolate the subject in this direction, `<namespace>/<name>`. */
    isolatedBy: string[];
    /** The rules that allow the peer, with what each allows. */
    allowedBy: RuleMatch[];
    /** What this side allows (ALL when not isolated). */
    ports: PortSet;
}

/** One ipBlock (or an empty peer list: any address) a rule allows, with the ports. */
export interface IpBlockAllowance {
    policy: string;
    rule: number;
    /** `0.0.0.0/0` and `::/0` stand for a rule without peers (any address). */
    cidr: string;
    except: string[];
    ports: PortSet;
}

/** What a workload may exchange with addresses outside the pod network, in one direction. */
export interface ExternalVerdict {
    direction: Direction;
    subject: string;
    /** Not isolated: every address is allowed. */
    isolated: boolean;
    isolatedBy: string[];
    blocks: IpBlockAllowance[];
}

export interface Verdict {
    /** Source's egress; absent when the source is an IP outside the model. */
    egress?: DirectionVerdict;
    /** Destination's ingress; absent when the destination is an IP outside the model. */
    ingress?: DirectionVerdict;
    /** Pod to itself: always allowed, policies not consulted. */
    loopback: boolean;
    /** What the connection may use: egress ∩ ingress. */
    ports: PortSet;
}

export function policyRef(p: NetworkPolicyInput): string {
    return `${p.metadata.namespace ?? ''}/${p.metadata.name}`;
}

export function endpointRef(e: Endpoint): string {
    return e.kind === 'ip' ? e.ip : `${e.workload.namespace}/${e.workload.name}`;
}

/** `policyTypes` as the API server defaults it (Ingress; plus Egress when `egress` has rules). */
export function effectivePolicyTypes(p: NetworkPolicyInput): Direction[] {
    const types = p.spec?.policyTypes;
    if (types && types.length > 0)
        return types.filter((t): t is Direction => t === 'Ingress' || t === 'Egress');
    return (p.spec?.egress?.length ?? 0) > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

function selectorOrAll(s: LabelSelector | null | undefined): LabelSelector {
    return s ?? {};
}

export interface Evaluator {
    readonly options: Required<EvaluatorOptions>;
    /** Namespace labels with `kubernetes.io/metadata.name` injected (unknown namespaces: only that label). */
    namespaceLabels(namespace: string): Record<string, string>;
    /** The policies selecting `w` with `direction` in their (defaulted) policyTypes. */
    isolating(w: Workload, direction: Direction): NetworkPolicyInput[];
    /** The source's egress side towards `dst`. */
    egress(src: Workload, dst: Endpoint): DirectionVerdict;
    /** The destination's ingress side from `src`. */
    ingress(dst: Workload, src: Endpoint): DirectionVerdict;
    /** Both sides and their intersection. */
    evaluate(src: Endpoint, dst: Endpoint): Verdict;
    /** The address blocks outside the pod network that `w` may reach (Egress) or be reached from (Ingress). */
    external(w: Workload, direction: Direction): ExternalVerdict;
}

/** Builds an evaluator over a snapshot (namespaces and all NetworkPolicies). Pure: the inputs are only read. */
export function createEvaluator(cluster: ClusterNetwork, options: EvaluatorOptions = {}): Evaluator {
    const opts: Required<EvaluatorOptions> = { ipBlockMatchesPods: options.ipBlockMatchesPods ?? true };
    // A namespace's labels with its name label, built when first asked for: the alignment check evaluates one
    // representative per class of namespaces, so most of 10,000 namespaces never need theirs. The per-namespace
    // indexes are shared with the rest of the computation (by-namespace.ts).
    const given = labelsByNamespace(cluster.namespaces);
    const nsLabels = new Map<string, Record<string, string>>();

    const namespaceLabels = (namespace: string): Record<string, string> => {
        let labels = nsLabels.get(namespace);
        if (labels === undefined) {
            labels = { ...(given.get(namespace) ?? {}), [NAMESPACE_NAME_LABEL]: namespace };
            nsLabels.set(namespace, labels);
        }
        return labels;
    };

    function selects(p: NetworkPolicyInput, w: Workload): boolean {
        if (w.hostNetwork) return false;
        return (
            (p.metadata.namespace ?? '') === w.namespace &&
            matchesSelector(selectorOrAll(p.spec?.podSelector), w.labels)
        );
    }

    function isolating(w: Workload, direction: Direction): NetworkPolicyInput[] {
        return policiesIn(cluster.policies, w.namespace).filter(
            (p) => selects(p, w) && effectivePolicyTypes(p).includes(direction),
        );
    }

    function peerMatches(peer: PeerInput, policyNamespace: string, e: Endpoint): boolean {
        if (peer.ipBlock) {
            if (e.kind === 'ip') return ipBlockContains(peer.ipBlock, e.ip);
            if (!opts.ipBlockMatchesPods || e.workload.ip === undefined) return false;
            return ipBlockContains(peer.ipBlock, e.workload.ip);
        }
        const podSel = peer.podSelector ?? undefined;
        const nsSel = peer.namespaceSelector ?? undefined;
        if (podSel === undefined && nsSel === undefined) return false; // invalid peer: matches nothing
        if (e.kind === 'ip' || e.workload.hostNetwork) return false;
        const w = e.workload;
        const nsOk =
            nsSel === undefined
                ? w.namespace === policyNamespace
                : matchesSelector(nsSel, namespaceLabels(w.namespace));
        return nsOk && (podSel === undefined || matchesSelector(podSel, w.labels));
    }

    function peersMatch(
        peers: PeerInput[] | null | undefined,
        policyNamespace: string,
        e: Endpoint,
    ): boolean {
        if (!peers || peers.length === 0) return true;
        return peers.some((p) => peerMatches(p, policyNamespace, e));
    }

    function portEntry(p: PortInput, dst: Endpoint): PortSet {
        const protocol = p.protocol ?? 'TCP';
        if (!isProtocol(protocol)) return EMPTY;
        const port = p.port;
        if (port === undefined || port === null) return allOf(protocol);
        if (typeof port === 'number' || /^\d+$/.test(port)) {
            const n = Number(port);
            return portRange(protocol, n, p.endPort ?? n);
        }
        if (dst.kind === 'ip') return EMPTY; // a named port never matches an ipBlock destination
        const w = dst.workload;
        if (w.ports === undefined) return namedPort(protocol, port);
        return union(
            ...w.ports
                .filter((c) => c.name === port && (c.protocol ?? 'TCP') === protocol)
                .map((c) => portRange(protocol, c.containerPort)),
        );
    }

    function rulePorts(ports: PortInput[] | null | undefined, dst: Endpoint): PortSet {
        if (!ports || ports.length === 0) return ALL;
        return union(...ports.map((p) => portEntry(p, dst)));
    }

    function side(
        direction: Direction,
        subject: Workload,
        peer: Endpoint,
        dst: Endpoint,
        peersOf: (r: RuleInput) => PeerInput[] | null | undefined,
    ): DirectionVerdict {
        const policies = isolating(subject, direction);
        const verdict: DirectionVerdict = {
            direction,
            subject: `${subject.namespace}/${subject.name}`,
            isolated: policies.length > 0,
            isolatedBy: policies.map(policyRef),
            allowedBy: [],
            ports: policies.length > 0 ? EMPTY : ALL,
        };
        for (const p of policies) {
            const rules = (direction === 'Ingress' ? p.spec?.ingress : p.spec?.egress) ?? [];
            rules.forEach((rule, i) => {
                if (!peersMatch(peersOf(rule), p.metadata.namespace ?? '', peer)) return;
                const ports = rulePorts(rule.ports, dst);
                if (isEmpty(ports)) return;
                verdict.allowedBy.push({ policy: policyRef(p), rule: i, ports });
            });
        }
        if (verdict.isolated) verdict.ports = union(...verdict.allowedBy.map((m) => m.ports));
        return verdict;
    }

    const egress = (src: Workload, dst: Endpoint): DirectionVerdict =>
        side('Egress', src, dst, dst, (r) => r.to);
    const ingress = (dst: Workload, src: Endpoint): DirectionVerdict =>
        side('Ingress', dst, src, { kind: 'workload', workload: dst }, (r) => r.from ?? r._from);

    function evaluate(src: Endpoint, dst: Endpoint): Verdict {
        if (
            src.kind === 'workload' &&
            dst.kind === 'workload' &&
            src.workload.namespace === dst.workload.namespace &&
            src.workload.name === dst.workload.name
        ) {
            return { loopback: true, ports: ALL };
        }
        const out: Verdict = { loopback: false, ports: ALL };
        if (src.kind === 'workload') out.egress = egress(src.workload, dst);
        if (dst.kind === 'workload') out.ingress = ingress(dst.workload, src);
        out.ports = intersect(out.egress?.ports ?? ALL, out.ingress?.ports ?? ALL);
        return out;
    }

    function external(w: Workload, direction: Direction): ExternalVerdict {
        const policies = isolating(w, direction);
        const out: ExternalVerdict = {
            direction,
            subject: `${w.namespace}/${w.name}`,
            isolated: policies.length > 0,
            isolatedBy: policies.map(policyRef),
            blocks: [],
        };
        const self: Endpoint = { kind: 'workload', workload: w };
        for (const p of policies) {
            const rules = (direction === 'Ingress' ? p.spec?.ingress : p.spec?.egress) ?? [];
            rules.forEach((rule, i) => {
                // Egress ports are resolved on the address (a named port never matches), ingress ports on the pod.
                const ports = rulePorts(
                    rule.ports,
                    direction === 'Egress' ? { kind: 'ip', ip: '0.0.0.0' } : self,
                );
                if (isEmpty(ports)) return;
                const peers = (direction === 'Ingress' ? (rule.from ?? rule._from) : rule.to) ?? [];
                const add = (cidr: string, except: readonly string[]) =>
                    out.blocks.push({ policy: policyRef(p), rule: i, cidr, except: [...except], ports });
                if (peers.length === 0) {
                    add('0.0.0.0/0', []);
                    add('::/0', []);
                }
                for (const peer of peers) if (peer.ipBlock) add(peer.ipBlock.cidr, peer.ipBlock.except ?? []);
            });
        }
        return out;
    }

    return { options: opts, namespaceLabels, isolating, egress, ingress, evaluate, external };
}
