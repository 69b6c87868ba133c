/**
 * The planner's own reading of optional spec fields (defaults applied in code, never written to spec).
 *
 * Deliberately independent of `src/api/defaults.ts`: the planner accepts a raw spec and applies these documented
 * defaults itself, so a spec that is already defaulted plans identically. Defaults (DESIGN §1):
 * `network.defaultDeny.ingress` / `.egress` true each, `allowSameNamespace` true, `allowDNS` true, port protocol TCP.
 * A profile without a `network` section therefore gets default-deny both ways plus same-namespace and DNS allows.
 */

import type { EgressRule, IngressRule, IsolationProfileSpec, Protocol } from '../api/types.ts';

export interface EffectiveNetwork {
    denyIngress: boolean;
    denyEgress: boolean;
    allowSameNamespace: boolean;
    allowDNS: boolean;
    ingress: IngressRule[];
    egress: EgressRule[];
}

export const DEFAULT_PROTOCOL: Protocol = 'TCP';

export function effectiveNetwork(spec: IsolationProfileSpec): EffectiveNetwork {
    const n = spec.network ?? {};
    return {
        denyIngress: n.defaultDeny?.ingress ?? true,
        denyEgress: n.defaultDeny?.egress ?? true,
        allowSameNamespace: n.allowSameNamespace ?? true,
        allowDNS: n.allowDNS ?? true,
        ingress: n.ingress ?? [],
        egress: n.egress ?? [],
    };
}
