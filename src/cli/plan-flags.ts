/**
 * The planning flags shared by `run`, `plan` and `explain`, so an offline answer is computed with exactly the
 * settings of the installation it describes: never-govern list, operator namespace, where DNS runs, DNS ports and an
 * optional node-local DNS cache. Each flag also reads the environment variable `run` documents.
 */
import { Option } from 'commander';

import { parseLabels, parseList } from '../controller/settings.ts';
import { isValidCidr, isValidIp } from '../netpol/index.ts';
import type { PlanSettings } from '../plan/index.ts';
import { DEFAULT_PLAN_SETTINGS } from '../plan/index.ts';

export interface PlanFlagValues {
    dnsNamespace?: string;
    dnsPodLabels?: string;
    neverGovern?: string;
    operatorNamespace?: string;
    dnsPorts?: string;
    nodeLocalDns?: string;
    alignment?: string;
}

/** The commander options, with their environment variables and defaults. */
export function planSettingsOptions(): Option[] {
    const d = DEFAULT_PLAN_SETTINGS;
    const opt = (flags: string, description: string, env: string, def: string) =>
        new Option(flags, description).env(env).default(def);
    return [
        opt(
            '--dns-namespace <name>',
            'namespace of the cluster DNS pods',
            'ISOLATION_DNS_NAMESPACE',
            d.dnsNamespace,
        ),
        opt(
            '--dns-pod-labels <k=v,...>',
            'labels of the cluster DNS pods',
            'ISOLATION_DNS_POD_LABELS',
            Object.entries(d.dnsPodLabels)
                .map(([k, v]) => `${k}=${v}`)
                .join(','),
        ),
        opt(
            '--dns-ports <port,...>',
            'DNS ports, each allowed on UDP and TCP',
            'ISOLATION_DNS_PORTS',
            (d.dnsPorts ?? [53]).join(','),
        ),
        opt(
            '--node-local-dns <address,...>',
            'node-local DNS cache addresses allowed as ipBlocks (e.g. 169.254.20.10)',
            'ISOLATION_NODE_LOCAL_DNS',
            '',
        ),
        opt(
            '--alignment <report|add-egress>',
            'AlignmentGap handling: report only, or also add the egress of ServiceAccount grants inside the same profile',
            'ISOLATION_ALIGNMENT',
            d.alignment ?? 'report',
        ),
        opt(
            '--never-govern <ns,...>',
            'namespaces never governed',
            'ISOLATION_NEVER_GOVERN',
            d.neverGovern.join(','),
        ),
        opt(
            '--operator-namespace <name>',
            "the operator's own namespace (never governed)",
            'POD_NAMESPACE',
            d.operatorNamespace,
        ),
    ];
}

export function parsePorts(text: string): number[] {
    const ports = parseList(text).map((p) => Number(p));
    for (const p of ports)
        if (!Number.isInteger(p) || p < 1 || p > 65535)
            throw new Error(`invalid DNS port in "${text}" (1-65535)`);
    if (ports.length === 0) throw new Error('--dns-ports needs at least one port');
    return [...new Set(ports)];
}

export function parseAddresses(text: string): string[] {
    const list = parseList(text);
    for (const a of list)
        if (!(a.includes('/') ? isValidCidr(a) : isValidIp(a)))
            throw new Error(`invalid node-local DNS address "${a}" (an IP address or CIDR)`);
    return list;
}

export function parseAlignment(text: string | undefined): 'report' | 'add-egress' {
    if (text === undefined || text === '' || text === 'report') return 'report';
    if (text === 'add-egress') return 'add-egress';
    throw new Error(`invalid --alignment "${text}" (report or add-egress)`);
}

/** Flag values (strings) -> PlanSettings; anything unset keeps its default. */
export function planSettingsFromFlags(o: PlanFlagValues): PlanSettings {
    const d = DEFAULT_PLAN_SETTINGS;
    return {
        dnsNamespace: o.dnsNamespace || d.dnsNamespace,
        dnsPodLabels: o.dnsPodLabels !== undefined ? parseLabels(o.dnsPodLabels) : { ...d.dnsPodLabels },
        neverGovern: o.neverGovern !== undefined ? parseList(o.neverGovern) : [...d.neverGovern],
        operatorNamespace: o.operatorNamespace ?? d.operatorNamespace,
        dnsPorts: o.dnsPorts !== undefined ? parsePorts(o.dnsPorts) : [...(d.dnsPorts ?? [53])],
        nodeLocalDNS: o.nodeLocalDns !== undefined ? parseAddresses(o.nodeLocalDns) : [],
        alignment: parseAlignment(o.alignment),
    };
}
