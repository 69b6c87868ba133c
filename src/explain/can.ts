/**
 * `explain can <source> reach <target>[:<port>[/<protocol>]]`: is a connection allowed, and by which policies.
 *
 * Each (source workload, target workload) pair is evaluated on both sides: the source's egress and the target's
 * ingress. For each side the answer names the policies that isolate it and every rule that matches the peer, with
 * what it allows and whether that covers the port asked about. The overall verdict is `allowed` when every pair is
 * allowed, `partly` when some are, `denied` when none is (a namespace or ServiceAccount may stand for several pods).
 */
import type { DirectionVerdict, Endpoint, L4Protocol, PortSet, Workload } from '../netpol/index.ts';
import {
    contains,
    createEvaluator,
    endpointRef,
    formatPortSet,
    isEmpty,
    PROTOCOLS,
} from '../netpol/index.ts';
import type { EvaluatorOptions } from '../netpol/index.ts';
import type { EndpointSpec, PortSpec } from './endpoints.ts';
import { formatEndpoint, resolveEndpoint } from './endpoints.ts';
import type { Snapshot } from './snapshot.ts';

export interface RuleAnswer {
    policy: string;
    rule: number;
    allows: string;
    /** Covers the port asked about (or anything, when no port was given). */
    matches: boolean;
}

export interface SideAnswer {
    direction: 'Egress' | 'Ingress';
    subject: string;
    isolated: boolean;
    isolatedBy: string[];
    rules: RuleAnswer[];
    allows: boolean;
}

export interface PairAnswer {
    from: string;
    to: string;
    allowed: boolean;
    loopback: boolean;
    /** Everything this pair may use. */
    ports: string;
    egress?: SideAnswer;
    ingress?: SideAnswer;
}

export type CanVerdict = 'allowed' | 'partly' | 'denied';

export interface CanAnswer {
    from: string;
    to: string;
    port?: number | string;
    protocol?: L4Protocol;
    verdict: CanVerdict;
    pairs: PairAnswer[];
}

/** Whether `ports` covers the query: a port (number or container port name), a protocol only, or anything. */
export function coversQuery(ports: PortSet, q: PortSpec, dst: Endpoint): boolean {
    const proto = q.protocol;
    if (q.port === undefined) {
        if (!proto) return !isEmpty(ports);
        return ports.ranges[proto].length > 0 || ports.named.some((n) => n.protocol === proto);
    }
    const protocols: readonly L4Protocol[] = proto ? [proto] : PROTOCOLS;
    return protocols.some((p) => {
        if (typeof q.port === 'number') return contains(ports, p, q.port);
        const w: Workload | undefined = dst.kind === 'workload' ? dst.workload : undefined;
        if (w?.ports === undefined) return contains(ports, p, q.port!);
        return w.ports.some(
            (c) => c.name === q.port && (c.protocol ?? 'TCP') === p && contains(ports, p, c.containerPort),
        );
    });
}

function side(v: DirectionVerdict | undefined, q: PortSpec, dst: Endpoint): SideAnswer | undefined {
    if (!v) return undefined;
    return {
        direction: v.direction,
        subject: v.subject,
        isolated: v.isolated,
        isolatedBy: v.isolatedBy,
        rules: v.allowedBy.map((m) => ({
            policy: m.policy,
            rule: m.rule,
            allows: formatPortSet(m.ports),
            matches: coversQuery(m.ports, q, dst),
        })),
        allows: coversQuery(v.ports, q, dst),
    };
}

export function explainCan(
    s: Snapshot,
    from: EndpointSpec,
    to: EndpointSpec,
    q: PortSpec,
    options: EvaluatorOptions = {},
): CanAnswer {
    const ev = createEvaluator({ namespaces: s.namespaces, policies: s.policies }, options);
    const pairs: PairAnswer[] = [];
    for (const src of resolveEndpoint(s, from)) {
        for (const dst of resolveEndpoint(s, to)) {
            const v = ev.evaluate(src, dst);
            const pair: PairAnswer = {
                from: endpointRef(src),
                to: endpointRef(dst),
                allowed: coversQuery(v.ports, q, dst),
                loopback: v.loopback,
                ports: formatPortSet(v.ports),
            };
            const e = side(v.egress, q, dst);
            const i = side(v.ingress, q, dst);
            if (e) pair.egress = e;
            if (i) pair.ingress = i;
            pairs.push(pair);
        }
    }
    const allowed = pairs.filter((p) => p.allowed).length;
    const answer: CanAnswer = {
        from: formatEndpoint(from),
        to: formatEndpoint(to),
        verdict: allowed === 0 ? 'denied' : allowed === pairs.length ? 'allowed' : 'partly',
        pairs,
    };
    if (q.port !== undefined) answer.port = q.port;
    if (q.protocol) answer.protocol = q.protocol;
    return answer;
}
