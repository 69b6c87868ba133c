/**
 * Operator settings the planner depends on, with their documented defaults.
 *
 * The planner is pure: it never reads the environment or a config file. The controller resolves its settings
 * (flags, ConfigMap) once and hands the relevant part to the planner as a `PlanSettings` value. Missing values
 * fall back to `DEFAULT_PLAN_SETTINGS` through `resolvePlanSettings`, so tests and the offline `plan` command can
 * pass only what they care about.
 */

export interface PlanSettings {
    /** Namespace where the cluster DNS pods run (matched through `kubernetes.io/metadata.name`). */
    dnsNamespace: string;
    /** Labels of the cluster DNS pods; ANDed with `dnsNamespace` in ONE NetworkPolicy peer. */
    dnsPodLabels: Record<string, string>;
    /** Namespaces never governed whatever a profile says (a default-deny there would take the cluster down). */
    neverGovern: string[];
    /** The operator's own namespace: always added to the never-govern set. */
    operatorNamespace: string;
    /** DNS ports, each allowed on UDP and TCP (TCP for truncated answers). Default `[53]`. */
    dnsPorts?: number[];
    /**
     * Addresses of a node-local DNS cache (NodeLocal DNSCache listens on a link-local address such as 169.254.20.10
     * in the host network, which no pod selector can match), allowed as ipBlocks on the DNS ports. An address
     * without a prefix length is one host (/32 or /128). Default none.
     */
    nodeLocalDNS?: string[];
    /**
     * `add-egress`: for an `access` entry with `network`, ServiceAccount subjects that live in a namespace the same
     * profile governs also get the matching egress there (NetworkPolicy `isolation-alignment-<entry>`), so the
     * grant has a path both ways. `report` (default): only the AlignmentGap condition says so.
     */
    alignment?: 'report' | 'add-egress';
}

export const DEFAULT_PLAN_SETTINGS: Readonly<PlanSettings> = Object.freeze({
    dnsNamespace: 'kube-system',
    dnsPodLabels: Object.freeze({ 'k8s-app': 'kube-dns' }),
    neverGovern: Object.freeze(['kube-system', 'kube-public', 'kube-node-lease']) as string[],
    operatorNamespace: 'isolation-system',
    dnsPorts: Object.freeze([53]) as number[],
    nodeLocalDNS: Object.freeze([] as string[]) as string[],
    alignment: 'report',
});

/** Fills the settings the caller did not give with the defaults (returns a fresh object, never aliases input). */
export function resolvePlanSettings(partial: Partial<PlanSettings> = {}): PlanSettings {
    return {
        dnsNamespace: partial.dnsNamespace ?? DEFAULT_PLAN_SETTINGS.dnsNamespace,
        dnsPodLabels: { ...(partial.dnsPodLabels ?? DEFAULT_PLAN_SETTINGS.dnsPodLabels) },
        neverGovern: [...(partial.neverGovern ?? DEFAULT_PLAN_SETTINGS.neverGovern)],
        operatorNamespace: partial.operatorNamespace ?? DEFAULT_PLAN_SETTINGS.operatorNamespace,
        dnsPorts: [...(partial.dnsPorts ?? DEFAULT_PLAN_SETTINGS.dnsPorts ?? [53])],
        nodeLocalDNS: [...(partial.nodeLocalDNS ?? DEFAULT_PLAN_SETTINGS.nodeLocalDNS ?? [])],
        alignment: partial.alignment ?? DEFAULT_PLAN_SETTINGS.alignment ?? 'report',
    };
}
