/**
 * Defaults of the IsolationProfile API: the one place they are written down (DESIGN §1, docs/api.md).
 *
 * The operator never writes defaults into `spec` (GitOps tools would see a permanent diff) and the CRD carries
 * none, so every reader resolves an optional field through the accessors here instead of its own `?? value`.
 * Absent selectors keep their meaning elsewhere (an absent `spec.namespaces.selector` selects nothing); only the
 * scalar defaults and the network switches are resolved here.
 */
import type {
    DeletionPolicy,
    DriftPolicy,
    EgressRule,
    IngressRule,
    IsolationProfileSpec,
    Mode,
    Protocol,
} from './types.ts';

/** `spec.priority`: the tie-breaker when several profiles select a namespace (highest wins). */
export const DEFAULT_PRIORITY = 0;

/** `spec.mode`: write the generated objects (the alternative, DryRun, only reports the plan). */
export const DEFAULT_MODE: Mode = 'Enforce';

/** `spec.deletionPolicy`: generated objects are removed with the profile. */
export const DEFAULT_DELETION_POLICY: DeletionPolicy = 'Delete';

/** `spec.driftPolicy`: edits to generated objects are reverted. */
export const DEFAULT_DRIFT_POLICY: DriftPolicy = 'Correct';

/** `ports[].protocol` everywhere a port appears (NetworkPolicy's own default). */
export const DEFAULT_PROTOCOL: Protocol = 'TCP';

/** Partial specs are accepted: selection code sees profiles whose spec may be missing entirely. */
type SpecLike = Partial<IsolationProfileSpec> | undefined;

export const modeOf = (spec: SpecLike): Mode => spec?.mode ?? DEFAULT_MODE;
/** `spec.suspend` (default false): only an explicit `true` suspends. */
export const isSuspended = (spec: SpecLike): boolean => spec?.suspend === true;
export const deletionPolicyOf = (spec: SpecLike): DeletionPolicy =>
    spec?.deletionPolicy ?? DEFAULT_DELETION_POLICY;
export const driftPolicyOf = (spec: SpecLike): DriftPolicy => spec?.driftPolicy ?? DEFAULT_DRIFT_POLICY;

/** `spec.network` with its defaults: default-deny both ways, same-namespace and DNS allowed, no extra rules. */
export interface EffectiveNetwork {
    denyIngress: boolean;
    denyEgress: boolean;
    allowSameNamespace: boolean;
    allowDNS: boolean;
    ingress: IngressRule[];
    egress: EgressRule[];
}

export function effectiveNetwork(spec: SpecLike): EffectiveNetwork {
    const n = spec?.network ?? {};
    return {
        denyIngress: n.defaultDeny?.ingress ?? true,
        denyEgress: n.defaultDeny?.egress ?? true,
        allowSameNamespace: n.allowSameNamespace ?? true,
        allowDNS: n.allowDNS ?? true,
        ingress: n.ingress ?? [],
        egress: n.egress ?? [],
    };
}
