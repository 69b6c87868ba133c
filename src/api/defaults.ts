/**
 * Defaults of the IsolationProfile API, applied in code on a copy of `spec`.
 *
 * The operator never writes defaults into `spec` (GitOps tools would see a permanent diff) and the CRD carries
 * none, so every consumer reads the spec through `withDefaults`, which returns a fully-resolved deep copy and never
 * mutates its input. Absent selectors keep their meaning: an absent `spec.namespaces.selector` selects nothing
 * (it is never turned into `{}`, which would select every namespace), while an absent rule `pods` means every
 * pod and is resolved to `{}`. Absent `from`/`to`/`ports` stay absent: in NetworkPolicy they mean "every source",
 * "every destination", "every port", and the planner copies that meaning through.
 */
import type {
    AccessEntry,
    DeletionPolicy,
    DriftPolicy,
    EgressRule,
    IngressRule,
    IsolationProfileSpec,
    LabelSelector,
    Mode,
    PortRule,
    Protocol,
    ServiceAccountEntry,
} from './types.ts';

/** `spec.priority`: the tie-breaker when several profiles select a namespace (highest wins). */
export const DEFAULT_PRIORITY = 0;

/** `spec.mode`: write the generated objects (the alternative, DryRun, only reports the plan). */
export const DEFAULT_MODE: Mode = 'Enforce';

/** `spec.suspend`: the profile is active. */
export const DEFAULT_SUSPEND = false;

/** `spec.deletionPolicy`: generated objects are removed with the profile. */
export const DEFAULT_DELETION_POLICY: DeletionPolicy = 'Delete';

/** `spec.driftPolicy`: edits to generated objects are reverted. */
export const DEFAULT_DRIFT_POLICY: DriftPolicy = 'Correct';

/** `spec.network.defaultDeny.ingress`: governed pods are isolated for ingress. */
export const DEFAULT_DENY_INGRESS = true;

/** `spec.network.defaultDeny.egress`: governed pods are isolated for egress. */
export const DEFAULT_DENY_EGRESS = true;

/** `spec.network.allowSameNamespace`: pods of one governed namespace may talk to each other. */
export const DEFAULT_ALLOW_SAME_NAMESPACE = true;

/** `spec.network.allowDNS`: governed pods may reach the cluster DNS on UDP and TCP 53. */
export const DEFAULT_ALLOW_DNS = true;

/** `ports[].protocol` everywhere a port appears (NetworkPolicy's own default). */
export const DEFAULT_PROTOCOL: Protocol = 'TCP';

/** A port entry with its protocol resolved. */
export interface ResolvedPortRule extends PortRule {
    protocol: Protocol;
}

/** An ingress rule with `pods` resolved (absent = `{}` = every pod) and every port's protocol resolved. */
export interface ResolvedIngressRule extends IngressRule {
    pods: LabelSelector;
    ports?: ResolvedPortRule[];
}

/** An egress rule with `pods` resolved (absent = `{}` = every pod) and every port's protocol resolved. */
export interface ResolvedEgressRule extends EgressRule {
    pods: LabelSelector;
    ports?: ResolvedPortRule[];
}

export interface ResolvedAccessNetwork {
    pods: LabelSelector;
    ports?: ResolvedPortRule[];
}

/** An access entry whose optional `network` (absent = no alignment policy) is resolved when present. */
export interface ResolvedAccessEntry extends AccessEntry {
    network?: ResolvedAccessNetwork;
}

export interface ResolvedNetworkSpec {
    defaultDeny: { ingress: boolean; egress: boolean };
    allowSameNamespace: boolean;
    allowDNS: boolean;
    ingress: ResolvedIngressRule[];
    egress: ResolvedEgressRule[];
}

export interface ResolvedNamespaceSelection {
    names: string[];
    /** Absent selects nothing by label (never `{}`). */
    selector?: LabelSelector;
    exclude: string[];
}

/** `IsolationProfileSpec` with every default applied; lists are present (possibly empty). */
export interface ResolvedSpec {
    namespaces: ResolvedNamespaceSelection;
    priority: number;
    mode: Mode;
    suspend: boolean;
    deletionPolicy: DeletionPolicy;
    driftPolicy: DriftPolicy;
    network: ResolvedNetworkSpec;
    access: ResolvedAccessEntry[];
    serviceAccounts: ServiceAccountEntry[];
}

function resolvePorts(ports: PortRule[]): ResolvedPortRule[] {
    return ports.map((p) => ({ ...p, protocol: p.protocol ?? DEFAULT_PROTOCOL }));
}

function resolveIngress(rule: IngressRule): ResolvedIngressRule {
    const { ports, ...rest } = rule;
    const resolved: ResolvedIngressRule = { ...rest, pods: rule.pods ?? {} };
    if (ports !== undefined) resolved.ports = resolvePorts(ports);
    return resolved;
}

function resolveEgress(rule: EgressRule): ResolvedEgressRule {
    const { ports, ...rest } = rule;
    const resolved: ResolvedEgressRule = { ...rest, pods: rule.pods ?? {} };
    if (ports !== undefined) resolved.ports = resolvePorts(ports);
    return resolved;
}

function resolveAccess(entry: AccessEntry): ResolvedAccessEntry {
    const { network, ...rest } = entry;
    if (network === undefined) return rest;
    const resolved: ResolvedAccessNetwork = { pods: network.pods ?? {} };
    if (network.ports !== undefined) resolved.ports = resolvePorts(network.ports);
    return { ...rest, network: resolved };
}

/** Returns a fully-defaulted deep copy of `spec`; the input is never mutated and shares nothing with the result. */
export function withDefaults(spec: IsolationProfileSpec): ResolvedSpec {
    const s = structuredClone(spec);
    const net = s.network ?? {};
    const namespaces: ResolvedNamespaceSelection = {
        names: s.namespaces?.names ?? [],
        exclude: s.namespaces?.exclude ?? [],
    };
    if (s.namespaces?.selector !== undefined) namespaces.selector = s.namespaces.selector;
    return {
        namespaces,
        priority: s.priority ?? DEFAULT_PRIORITY,
        mode: s.mode ?? DEFAULT_MODE,
        suspend: s.suspend ?? DEFAULT_SUSPEND,
        deletionPolicy: s.deletionPolicy ?? DEFAULT_DELETION_POLICY,
        driftPolicy: s.driftPolicy ?? DEFAULT_DRIFT_POLICY,
        network: {
            defaultDeny: {
                ingress: net.defaultDeny?.ingress ?? DEFAULT_DENY_INGRESS,
                egress: net.defaultDeny?.egress ?? DEFAULT_DENY_EGRESS,
            },
            allowSameNamespace: net.allowSameNamespace ?? DEFAULT_ALLOW_SAME_NAMESPACE,
            allowDNS: net.allowDNS ?? DEFAULT_ALLOW_DNS,
            ingress: (net.ingress ?? []).map(resolveIngress),
            egress: (net.egress ?? []).map(resolveEgress),
        },
        access: (s.access ?? []).map(resolveAccess),
        serviceAccounts: s.serviceAccounts ?? [],
    };
}
