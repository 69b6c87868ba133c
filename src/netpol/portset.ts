/**
 * Allowed traffic as per-protocol port ranges: the value every NetworkPolicy question reduces to.
 *
 * A `PortSet` holds, for TCP, UDP and SCTP (the protocols NetworkPolicy defines), a sorted list of disjoint
 * inclusive ranges within 1-65535, so "all ports", a single port and an `endPort` range compare exactly. A named
 * container port that could not be resolved (the destination's container ports are unknown, e.g. a ServiceAccount
 * or namespace stand-in rather than a real pod) is kept symbolically in `named`; intersecting it with a set that
 * allows the whole protocol keeps it, with a partial set drops it (it cannot be decided, and the evaluator answers
 * only what it can prove). Values are immutable: every operation returns a new set.
 */
import { compareStrings } from '../plan/order.ts';

export const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
export type L4Protocol = (typeof PROTOCOLS)[number];

export const MIN_PORT = 1;
export const MAX_PORT = 65535;

/** Inclusive range [from, to]. */
export type PortRange = readonly [number, number];

export interface NamedPort {
    protocol: L4Protocol;
    name: string;
}

export interface PortSet {
    readonly ranges: Readonly<Record<L4Protocol, readonly PortRange[]>>;
    readonly named: readonly NamedPort[];
}

export function isProtocol(p: unknown): p is L4Protocol {
    return p === 'TCP' || p === 'UDP' || p === 'SCTP';
}

function normalize(ranges: readonly PortRange[]): PortRange[] {
    const sorted = ranges
        .map(([a, b]): PortRange => [Math.max(MIN_PORT, a), Math.min(MAX_PORT, b)])
        .filter(([a, b]) => a <= b)
        .sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    const out: [number, number][] = [];
    for (const [a, b] of sorted) {
        const last = out[out.length - 1];
        if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
        else out.push([a, b]);
    }
    return out;
}

function namedKey(n: NamedPort): string {
    return `${n.protocol}/${n.name}`;
}

function uniqueNamed(list: readonly NamedPort[]): NamedPort[] {
    const seen = new Map<string, NamedPort>();
    for (const n of list) seen.set(namedKey(n), n);
    return [...seen.values()].sort((a, b) => compareStrings(namedKey(a), namedKey(b)));
}

function make(
    ranges: Partial<Record<L4Protocol, readonly PortRange[]>>,
    named: readonly NamedPort[] = [],
): PortSet {
    return {
        ranges: {
            TCP: normalize(ranges.TCP ?? []),
            UDP: normalize(ranges.UDP ?? []),
            SCTP: normalize(ranges.SCTP ?? []),
        },
        named: uniqueNamed(named),
    };
}

export const EMPTY: PortSet = make({});
export const ALL: PortSet = make({
    TCP: [[MIN_PORT, MAX_PORT]],
    UDP: [[MIN_PORT, MAX_PORT]],
    SCTP: [[MIN_PORT, MAX_PORT]],
});

export function portRange(protocol: L4Protocol, from: number, to: number = from): PortSet {
    return make({ [protocol]: [[from, to]] });
}

export function allOf(protocol: L4Protocol): PortSet {
    return portRange(protocol, MIN_PORT, MAX_PORT);
}

export function namedPort(protocol: L4Protocol, name: string): PortSet {
    return make({}, [{ protocol, name }]);
}

export function union(...sets: PortSet[]): PortSet {
    const ranges: Record<L4Protocol, PortRange[]> = { TCP: [], UDP: [], SCTP: [] };
    const named: NamedPort[] = [];
    for (const s of sets) {
        for (const p of PROTOCOLS) ranges[p].push(...s.ranges[p]);
        named.push(...s.named);
    }
    const out = make(ranges, named);
    // A name is redundant once its whole protocol is allowed.
    return make(
        out.ranges,
        out.named.filter((n) => !coversProtocol(out, n.protocol)),
    );
}

function intersectRanges(a: readonly PortRange[], b: readonly PortRange[]): PortRange[] {
    const out: PortRange[] = [];
    let i = 0;
    let j = 0;
    while (i < a.length && j < b.length) {
        const [a0, a1] = a[i]!;
        const [b0, b1] = b[j]!;
        const lo = Math.max(a0, b0);
        const hi = Math.min(a1, b1);
        if (lo <= hi) out.push([lo, hi]);
        if (a1 < b1) i++;
        else j++;
    }
    return out;
}

export function coversProtocol(s: PortSet, protocol: L4Protocol): boolean {
    const r = s.ranges[protocol];
    return r.length === 1 && r[0]![0] === MIN_PORT && r[0]![1] === MAX_PORT;
}

export function intersect(a: PortSet, b: PortSet): PortSet {
    const ranges: Record<L4Protocol, PortRange[]> = { TCP: [], UDP: [], SCTP: [] };
    for (const p of PROTOCOLS) ranges[p] = intersectRanges(a.ranges[p], b.ranges[p]);
    const bNames = new Set(b.named.map(namedKey));
    const named = [
        ...a.named.filter((n) => bNames.has(namedKey(n)) || coversProtocol(b, n.protocol)),
        ...b.named.filter((n) => coversProtocol(a, n.protocol)),
    ];
    return make(ranges, named);
}

export function isEmpty(s: PortSet): boolean {
    return s.named.length === 0 && PROTOCOLS.every((p) => s.ranges[p].length === 0);
}

export function isAll(s: PortSet): boolean {
    return PROTOCOLS.every((p) => coversProtocol(s, p));
}

/** Whether `port` (a number, or a container port name kept symbolically) of `protocol` is in the set. */
export function contains(s: PortSet, protocol: L4Protocol, port: number | string): boolean {
    if (typeof port === 'string') {
        if (coversProtocol(s, protocol)) return true;
        return s.named.some((n) => n.protocol === protocol && n.name === port);
    }
    return s.ranges[protocol].some(([a, b]) => port >= a && port <= b);
}

export function equals(a: PortSet, b: PortSet): boolean {
    return JSON.stringify(a) === JSON.stringify(b);
}

/** Human form: `all`, `none`, or e.g. `TCP 80, 8080-8089; UDP all; TCP port named metrics`. */
export function formatPortSet(s: PortSet): string {
    if (isAll(s)) return 'all ports';
    if (isEmpty(s)) return 'nothing';
    const parts: string[] = [];
    for (const p of PROTOCOLS) {
        const r = s.ranges[p];
        if (r.length === 0) continue;
        parts.push(
            coversProtocol(s, p)
                ? `${p} all`
                : `${p} ${r.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(', ')}`,
        );
    }
    for (const n of s.named) parts.push(`${n.protocol} port named ${n.name}`);
    return parts.join('; ');
}

/** JSON form for `-o json|yaml`: `{TCP: ["80", "8080-8089"], named: ["TCP/metrics"]}`, empty lists left out. */
export function portSetToJSON(s: PortSet): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const p of PROTOCOLS) {
        const r = s.ranges[p];
        if (r.length > 0) out[p] = r.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`));
    }
    if (s.named.length > 0) out.named = s.named.map(namedKey);
    return out;
}
