/**
 * fast-check generators of IsolationProfile specs, shared by the planner properties (unit), the fuzz test through
 * the real API server (integration) and the memory soak (faults).
 *
 * Design choices:
 * - `validSpec` generates only what the CRD accepts (every bound, pattern and CEL rule of
 *   crds/isolation.dev_isolationprofiles.yaml), but reaches every field: all four peer kinds, named and numeric
 *   ports and ranges, IPv4 and IPv6 blocks with `except`, DryRun, suspend, both deletion and drift policies,
 *   roles the operator may and may not bind. A valid spec the API server rejects is a finding (in the schema or
 *   here), never noise.
 * - `faultySpec` is a valid spec with exactly one known fault, together with the field path the rejection must
 *   name, so the fuzz test checks "every rejection names its field" against the field that is actually wrong.
 * - Namespace and label vocabularies are small and passed in, so that random profiles overlap, conflict and refer
 *   to each other in a small cluster instead of selecting nothing.
 */
import fc from 'fast-check';

import type {
    AccessEntry,
    EgressRule,
    IngressRule,
    IsolationProfileSpec,
    LabelSelector,
    Peer,
    PortRule,
    ServiceAccountEntry,
    Subject,
} from '../../src/api/types.ts';

export interface Vocabulary {
    /** Namespace names profiles may name (they need not exist). */
    namespaces: readonly string[];
    /** Values of the namespace label `isolation.dev/<teamKey>` profiles select on. */
    teams: readonly string[];
    /** Profile names `profile` peers may refer to (they need not exist). */
    profiles: readonly string[];
    /** Label key (under isolation.dev/) the namespaces carry their team in. */
    teamKey: string;
}

/** Upper bounds of the generated lists (the CRD allows far more; small lists keep runs fast and overlapping). */
export interface Sizes {
    rules: number;
    /** Fewest ingress and egress rules each (default 0). */
    minRules?: number;
    peers: number;
    ports: number;
    access: number;
}

export const DEFAULT_SIZES: Sizes = { rules: 3, peers: 3, ports: 3, access: 2 };

export const DEFAULT_VOCABULARY: Vocabulary = {
    namespaces: ['fz-a', 'fz-b', 'fz-c', 'fz-d'],
    teams: ['red', 'blue', 'green'],
    profiles: ['fz-p0', 'fz-p1', 'fz-p2'],
    teamKey: 'fuzz-team',
};

const dnsLabel = fc.stringMatching(/^[a-z]([-a-z0-9]{0,10}[a-z0-9])?$/);
const labelValue = fc.stringMatching(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,8}[A-Za-z0-9])?$/);
const podLabelKey = fc.constantFrom('app', 'tier', 'example.com/role', 'isolation.dev/component');

/** A label selector on pods: matchLabels and/or matchExpressions of every operator. */
export const podSelector: fc.Arbitrary<LabelSelector> = fc.record(
    {
        matchLabels: fc.dictionary(podLabelKey, labelValue, { maxKeys: 2 }),
        matchExpressions: fc.array(
            fc.oneof(
                fc.record({
                    key: podLabelKey,
                    operator: fc.constantFrom('In' as const, 'NotIn' as const),
                    values: fc.uniqueArray(labelValue, { minLength: 1, maxLength: 3 }),
                }),
                fc.record({
                    key: podLabelKey,
                    operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const),
                }),
            ),
            { maxLength: 2 },
        ),
    },
    { requiredKeys: [] },
);

const namedPort = fc.constantFrom('http', 'metrics', 'grpc-api', 'dns-tcp');

/** A port entry: every protocol, numeric or named, single or a range, or the whole protocol. */
export function portRule(numericOnly = false): fc.Arbitrary<PortRule> {
    const single = fc.record(
        {
            protocol: fc.constantFrom('TCP' as const, 'UDP' as const, 'SCTP' as const),
            port: numericOnly
                ? fc.integer({ min: 1, max: 65535 })
                : fc.oneof(fc.integer({ min: 1, max: 65535 }), namedPort),
        },
        { requiredKeys: [] },
    );
    const range = fc
        .record({
            protocol: fc.constantFrom('TCP' as const, 'UDP' as const),
            port: fc.integer({ min: 1, max: 65000 }),
            width: fc.integer({ min: 0, max: 500 }),
        })
        .map(({ protocol, port, width }) => ({ protocol, port, endPort: port + width }));
    return fc.oneof({ weight: 3, arbitrary: single }, { weight: 1, arbitrary: range });
}

function ports(max: number): fc.Arbitrary<PortRule[]> {
    return fc.array(portRule(), { maxLength: max });
}

const ipv4Block: fc.Arbitrary<{ cidr: string; except?: string[] }> = fc
    .record({
        a: fc.integer({ min: 1, max: 223 }),
        b: fc.integer({ min: 0, max: 255 }),
        prefix: fc.constantFrom(8, 16),
        withExcept: fc.boolean(),
        c: fc.integer({ min: 0, max: 255 }),
    })
    .map(({ a, b, prefix, withExcept, c }) => {
        const cidr = prefix === 8 ? `${a}.0.0.0/8` : `${a}.${b}.0.0/16`;
        const except = prefix === 8 ? `${a}.${b}.0.0/16` : `${a}.${b}.${c}.0/24`;
        return withExcept ? { cidr, except: [except] } : { cidr };
    });

const ipv6Block = fc
    .record({ h: fc.integer({ min: 1, max: 0xffff }), withExcept: fc.boolean() })
    .map(({ h, withExcept }) => {
        const hex = h.toString(16);
        const cidr = `2001:db8:${hex}::/48`;
        return withExcept ? { cidr, except: [`2001:db8:${hex}:1::/64`] } : { cidr };
    });

/** One peer of each kind (the CEL rule: exactly one of profile, namespaces, serviceAccount, cidr). */
export function peer(v: Vocabulary): fc.Arbitrary<Peer> {
    const profilePeer = fc.record({ profile: fc.constantFrom(...v.profiles) });
    const namespacesPeer = fc.record(
        {
            namespaces: fc.oneof(
                fc.record({
                    names: fc.uniqueArray(fc.constantFrom(...v.namespaces), { minLength: 1, maxLength: 2 }),
                }),
                fc.record({
                    selector: fc.record({
                        matchLabels: fc
                            .constantFrom(...v.teams)
                            .map((t) => ({ [`isolation.dev/${v.teamKey}`]: t })),
                    }),
                }),
            ),
            pods: podSelector,
        },
        { requiredKeys: ['namespaces'] },
    );
    const saPeer = fc.record({
        serviceAccount: fc.record({ namespace: fc.constantFrom(...v.namespaces), name: dnsLabel }),
    });
    const cidrPeer = fc.oneof({ weight: 3, arbitrary: ipv4Block }, { weight: 1, arbitrary: ipv6Block });
    return fc.oneof(profilePeer, namespacesPeer, saPeer, cidrPeer);
}

function ruleName(prefix: string): fc.Arbitrary<string> {
    return fc.integer({ min: 0, max: 99 }).map((i) => `${prefix}${i}`);
}

function ingressRule(v: Vocabulary, z: Sizes): fc.Arbitrary<IngressRule> {
    return fc.record(
        {
            name: ruleName('in'),
            pods: podSelector,
            from: fc.array(peer(v), { maxLength: z.peers }),
            ports: ports(z.ports),
        },
        { requiredKeys: ['name'] },
    );
}

function egressRule(v: Vocabulary, z: Sizes): fc.Arbitrary<EgressRule> {
    return fc
        .record(
            {
                name: ruleName('out'),
                pods: podSelector,
                to: fc.array(peer(v), { maxLength: z.peers }),
                ports: ports(z.ports),
            },
            { requiredKeys: ['name'] },
        )
        .map((r) => {
            // CEL: a named port never matches a cidr destination, so all-cidr rules take numeric ports only.
            const allCidr = r.to !== undefined && r.to.length > 0 && r.to.every((p) => p.cidr !== undefined);
            if (allCidr && r.ports) r.ports = r.ports.filter((p) => typeof p.port !== 'string');
            return r;
        });
}

/** Roles: the operator may bind view/edit/admin (config/rbac); anything else is refused and reported. */
const roleRef = fc.oneof(
    {
        weight: 6,
        arbitrary: fc.record({
            kind: fc.constant('ClusterRole' as const),
            name: fc.constantFrom('view', 'edit', 'admin'),
        }),
    },
    {
        weight: 1,
        arbitrary: fc.record({
            kind: fc.constant('ClusterRole' as const),
            name: fc.constant('cluster-admin'),
        }),
    },
    {
        weight: 1,
        arbitrary: fc.record({ kind: fc.constant('Role' as const), name: fc.constant('fuzz-local') }),
    },
);

function subject(v: Vocabulary): fc.Arbitrary<Subject> {
    return fc.oneof(
        fc.record({
            kind: fc.constantFrom('User' as const, 'Group' as const),
            name: fc.constantFrom('alice@example.com', 'devs', 'system:authenticated'),
        }),
        fc.record({
            kind: fc.constant('ServiceAccount' as const),
            namespace: fc.constantFrom(...v.namespaces),
            name: dnsLabel,
        }),
    );
}

function accessEntry(v: Vocabulary, z: Sizes): fc.Arbitrary<AccessEntry> {
    return fc
        .record(
            {
                name: ruleName('acc'),
                roleRef,
                subjects: fc.array(subject(v), { minLength: 1, maxLength: 3 }),
                network: fc.record({ ports: ports(z.ports), pods: podSelector }, { requiredKeys: [] }),
            },
            { requiredKeys: ['name', 'roleRef', 'subjects'] },
        )
        .map((e) => {
            // CEL: network needs a ServiceAccount subject.
            if (e.network && !e.subjects.some((s) => s.kind === 'ServiceAccount')) delete e.network;
            return e;
        });
}

function serviceAccountEntry(): fc.Arbitrary<ServiceAccountEntry> {
    return fc.record({ name: ruleName('sa'), roleRef }).chain((base) =>
        fc.oneof(
            fc
                .record({ names: fc.uniqueArray(dnsLabel, { minLength: 1, maxLength: 3 }) })
                .map((x) => ({ ...base, ...x })),
            fc
                .record({
                    selector: fc.record({ matchLabels: fc.constant({ 'isolation.dev/role': 'reader' }) }),
                })
                .map((x) => ({ ...base, ...x })),
        ),
    );
}

function uniqueByName<T extends { name: string }>(
    arb: fc.Arbitrary<T>,
    maxLength: number,
    minLength = 0,
): fc.Arbitrary<T[]> {
    return fc.uniqueArray(arb, { minLength, maxLength, selector: (x) => x.name });
}

/** A spec the CRD accepts (cluster-wide: it selects only by isolation.dev/ labels or names). */
export function validSpec(
    v: Vocabulary = DEFAULT_VOCABULARY,
    z: Sizes = DEFAULT_SIZES,
): fc.Arbitrary<IsolationProfileSpec> {
    const selection = fc
        .record(
            {
                names: fc.uniqueArray(fc.constantFrom(...v.namespaces), { maxLength: 3 }),
                selector: fc.record({
                    matchLabels: fc
                        .constantFrom(...v.teams)
                        .map((t) => ({ [`isolation.dev/${v.teamKey}`]: t })),
                }),
                exclude: fc.uniqueArray(fc.constantFrom(...v.namespaces), { maxLength: 1 }),
            },
            { requiredKeys: [] },
        )
        .filter((s) => (s.names !== undefined && s.names.length > 0) || s.selector !== undefined);
    return fc.record(
        {
            namespaces: selection,
            priority: fc.integer({ min: -5, max: 5 }),
            mode: fc.constantFrom('Enforce' as const, 'DryRun' as const),
            suspend: fc.boolean(),
            deletionPolicy: fc.constantFrom('Delete' as const, 'Orphan' as const),
            driftPolicy: fc.constantFrom('Correct' as const, 'Report' as const),
            network: fc.record(
                {
                    defaultDeny: fc.record(
                        { ingress: fc.boolean(), egress: fc.boolean() },
                        { requiredKeys: [] },
                    ),
                    allowSameNamespace: fc.boolean(),
                    allowDNS: fc.boolean(),
                    ingress: uniqueByName(ingressRule(v, z), z.rules, z.minRules),
                    egress: uniqueByName(egressRule(v, z), z.rules, z.minRules),
                },
                { requiredKeys: [] },
            ),
            access: uniqueByName(accessEntry(v, z), z.access),
            serviceAccounts: uniqueByName(serviceAccountEntry(), 2),
        },
        { requiredKeys: ['namespaces'] },
    );
}

/** A spec with one fault and the field path (as the API server reports it) that the rejection must name. */
export interface FaultySpec {
    spec: unknown;
    fault: string;
    /** The path the API server's message must contain, e.g. `spec.network.ingress[0].ports[0].endPort`. */
    field: string;
}

type Fault = (spec: IsolationProfileSpec) => { spec: unknown; field: string };

const clone = (s: IsolationProfileSpec): Record<string, unknown> =>
    structuredClone(s) as unknown as Record<string, unknown>;

/** Faults, each breaking exactly one schema or CEL rule of the CRD. */
const FAULTS: Record<string, Fault> = {
    'namespaces without names or selector': (s) => {
        const c = clone(s);
        c.namespaces = { exclude: ['fz-a'] };
        return { spec: c, field: 'spec.namespaces' };
    },
    'selector on isolation.dev/profile': (s) => {
        const c = clone(s);
        c.namespaces = { selector: { matchLabels: { 'isolation.dev/profile': 'x' } } };
        return { spec: c, field: 'spec.namespaces.selector.matchLabels' };
    },
    'bad namespace name': (s) => {
        const c = clone(s);
        c.namespaces = { names: ['Not_A_Name'] };
        return { spec: c, field: 'spec.namespaces.names[0]' };
    },
    'priority out of range': (s) => {
        const c = clone(s);
        c.priority = 2_000_000;
        return { spec: c, field: 'spec.priority' };
    },
    'unknown mode': (s) => {
        const c = clone(s);
        c.mode = 'Sometimes';
        return { spec: c, field: 'spec.mode' };
    },
    'endPort below port': (s) => {
        const c = clone(s);
        c.network = { ingress: [{ name: 'r', ports: [{ port: 9000, endPort: 80 }] }] };
        return { spec: c, field: 'spec.network.ingress[0].ports[0].endPort' };
    },
    'endPort with a named port': (s) => {
        const c = clone(s);
        c.network = { egress: [{ name: 'r', ports: [{ port: 'http', endPort: 90 }] }] };
        return { spec: c, field: 'spec.network.egress[0].ports[0].endPort' };
    },
    'port out of range': (s) => {
        const c = clone(s);
        c.network = { ingress: [{ name: 'r', ports: [{ port: 70000 }] }] };
        return { spec: c, field: 'spec.network.ingress[0].ports[0].port' };
    },
    'peer with two kinds': (s) => {
        const c = clone(s);
        c.network = { ingress: [{ name: 'r', from: [{ profile: 'x', cidr: '10.0.0.0/8' }] }] };
        return { spec: c, field: 'spec.network.ingress[0].from[0]' };
    },
    'cidr with host bits': (s) => {
        const c = clone(s);
        c.network = { egress: [{ name: 'r', to: [{ cidr: '10.0.0.1/8' }] }] };
        return { spec: c, field: 'spec.network.egress[0].to[0].cidr' };
    },
    'except outside cidr': (s) => {
        const c = clone(s);
        c.network = { egress: [{ name: 'r', to: [{ cidr: '10.0.0.0/16', except: ['10.1.0.0/24'] }] }] };
        return { spec: c, field: 'spec.network.egress[0].to[0].except' };
    },
    'pods without namespaces': (s) => {
        const c = clone(s);
        c.network = { ingress: [{ name: 'r', from: [{ profile: 'x', pods: {} }] }] };
        return { spec: c, field: 'spec.network.ingress[0].from[0].pods' };
    },
    'duplicate rule names': (s) => {
        const c = clone(s);
        c.network = { ingress: [{ name: 'dup' }, { name: 'dup' }] };
        return { spec: c, field: 'spec.network.ingress' };
    },
    'named port to cidr only': (s) => {
        const c = clone(s);
        c.network = { egress: [{ name: 'r', to: [{ cidr: '10.0.0.0/8' }], ports: [{ port: 'http' }] }] };
        return { spec: c, field: 'spec.network.egress[0].ports' };
    },
    'access network without a ServiceAccount': (s) => {
        const c = clone(s);
        c.access = [
            {
                name: 'a',
                roleRef: { kind: 'ClusterRole', name: 'view' },
                subjects: [{ kind: 'Group', name: 'g' }],
                network: {},
            },
        ];
        return { spec: c, field: 'spec.access[0].network' };
    },
    'ServiceAccount subject without namespace': (s) => {
        const c = clone(s);
        c.access = [
            {
                name: 'a',
                roleRef: { kind: 'ClusterRole', name: 'view' },
                subjects: [{ kind: 'ServiceAccount', name: 'x' }],
            },
        ];
        return { spec: c, field: 'spec.access[0].subjects[0].namespace' };
    },
    'no subjects': (s) => {
        const c = clone(s);
        c.access = [{ name: 'a', roleRef: { kind: 'ClusterRole', name: 'view' }, subjects: [] }];
        return { spec: c, field: 'spec.access[0].subjects' };
    },
    'serviceAccounts entry with selector and names': (s) => {
        const c = clone(s);
        c.serviceAccounts = [
            {
                name: 's',
                roleRef: { kind: 'ClusterRole', name: 'view' },
                names: ['x'],
                selector: { matchLabels: { 'isolation.dev/role': 'r' } },
            },
        ];
        return { spec: c, field: 'spec.serviceAccounts[0]' };
    },
    'cluster-wide profile selecting a free label': (s) => {
        const c = clone(s);
        c.namespaces = { selector: { matchLabels: { team: 'x' } } };
        return { spec: c, field: 'spec.namespaces.selector' };
    },
    'unknown field': (s) => {
        const c = clone(s);
        c.netwerk = {};
        return { spec: c, field: 'spec.netwerk' };
    },
};

export const FAULT_NAMES = Object.keys(FAULTS);

/** Fault `name` applied to `base`. */
export function withFault(name: string, base: IsolationProfileSpec): FaultySpec {
    const f = FAULTS[name];
    if (!f) throw new Error(`unknown fault ${name}`);
    const r = f(base);
    return { spec: r.spec, fault: name, field: r.field };
}

export function faultySpec(v: Vocabulary = DEFAULT_VOCABULARY): fc.Arbitrary<FaultySpec> {
    return fc
        .record({ base: validSpec(v), fault: fc.constantFrom(...FAULT_NAMES) })
        .map(({ base, fault }) => {
            const r = FAULTS[fault]!(base);
            return { spec: r.spec, fault, field: r.field };
        });
}
