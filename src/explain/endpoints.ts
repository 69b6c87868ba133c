/**
 * The endpoint syntax of `explain`, and what each endpoint stands for.
 *
 *   pod/<namespace>/<name>   a pod (also `<namespace>/<name>`)
 *   sa/<namespace>/<name>    the pods running as that ServiceAccount (stand-ins with its identity label if none)
 *   ns/<namespace>           the pods of the namespace (stand-ins per selected label set if none)
 *   ip/<address>             an address outside the pod network (IPv6 in brackets when a port follows)
 *
 * A target may carry `:<port>[/<protocol>]`: a number or a container port name; protocol TCP, UDP or SCTP
 * (default TCP). Explicit prefixes keep the syntax unambiguous for scripts.
 */
import type { Endpoint, L4Protocol, Workload } from '../netpol/index.ts';
import { isProtocol, isValidIp, namespaceWorkloads, serviceAccountWorkloads } from '../netpol/index.ts';
import type { Snapshot } from './snapshot.ts';

export type EndpointSpec =
    | { kind: 'pod'; namespace: string; name: string }
    | { kind: 'sa'; namespace: string; name: string }
    | { kind: 'ns'; namespace: string }
    | { kind: 'ip'; ip: string };

export interface PortSpec {
    port?: number | string;
    protocol?: L4Protocol;
}

export class UsageError extends Error {}

export function parseEndpoint(text: string): EndpointSpec {
    const parts = text.split('/');
    const [kind, ...rest] = parts;
    if (kind === 'ip') {
        const ip = rest.join('/').replace(/^\[(.*)\]$/, '$1');
        if (!isValidIp(ip)) throw new UsageError(`"${text}": not an IP address`);
        return { kind: 'ip', ip };
    }
    if (kind === 'ns' && rest.length === 1 && rest[0]) return { kind: 'ns', namespace: rest[0] };
    if ((kind === 'pod' || kind === 'sa') && rest.length === 2 && rest[0] && rest[1])
        return { kind, namespace: rest[0], name: rest[1] };
    if (parts.length === 2 && parts[0] && parts[1])
        return { kind: 'pod', namespace: parts[0], name: parts[1] };
    throw new UsageError(
        `"${text}": expected pod/<namespace>/<name>, sa/<namespace>/<name>, ns/<namespace> or ip/<address>`,
    );
}

/** Splits `<endpoint>[:<port>[/<protocol>]]`. */
export function parseTarget(text: string): { endpoint: EndpointSpec; port: PortSpec } {
    const m = /^(.*?)(?::([A-Za-z0-9-]+)(?:\/([A-Za-z]+))?)?$/.exec(text);
    // An unbracketed IPv6 address has colons of its own: only split when what follows looks like a port.
    let endpointText = text;
    const port: PortSpec = {};
    if (
        m &&
        m[2] !== undefined &&
        !(m[1]!.startsWith('ip/') && !m[1]!.includes('[') && m[1]!.includes(':'))
    ) {
        endpointText = m[1]!;
        port.port = /^\d+$/.test(m[2]) ? Number(m[2]) : m[2];
        if (typeof port.port === 'number' && (port.port < 1 || port.port > 65535))
            throw new UsageError(`"${text}": port must be 1-65535`);
        const proto = (m[3] ?? 'TCP').toUpperCase();
        if (!isProtocol(proto)) throw new UsageError(`"${text}": protocol must be TCP, UDP or SCTP`);
        port.protocol = proto;
    }
    return { endpoint: parseEndpoint(endpointText), port };
}

export function formatEndpoint(e: EndpointSpec): string {
    switch (e.kind) {
        case 'ip':
            return `ip/${e.ip}`;
        case 'ns':
            return `ns/${e.namespace}`;
        default:
            return `${e.kind}/${e.namespace}/${e.name}`;
    }
}

/** The evaluator endpoints an endpoint stands for. Throws UsageError for an unknown pod. */
export function resolveEndpoint(s: Snapshot, e: EndpointSpec): Endpoint[] {
    const wrap = (w: Workload): Endpoint => ({ kind: 'workload', workload: w });
    switch (e.kind) {
        case 'ip':
            return [{ kind: 'ip', ip: e.ip }];
        case 'pod': {
            const pod = s.pods.find((p) => p.namespace === e.namespace && p.name === e.name);
            if (!pod) throw new UsageError(`pod ${e.namespace}/${e.name} not found`);
            return [wrap(pod)];
        }
        case 'sa':
            return serviceAccountWorkloads(e.namespace, e.name, s.pods, s.policies).map(wrap);
        case 'ns':
            return namespaceWorkloads(e.namespace, s.policies, s.pods).map(wrap);
    }
}
