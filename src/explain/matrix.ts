/**
 * `explain matrix <namespace>`: the connectivity matrix of a namespace.
 *
 * Rows are sources, columns destinations; a cell is what the connection may use (egress AND ingress), as port
 * ranges per protocol, or a yes/no for one port when `--port` is given. The workloads are the namespace's pods (or
 * its stand-ins, see netpol/workloads.ts), and the matrix also shows what enters
 * and leaves the namespace: other namespaces are represented the same way (their pods, or stand-ins). Pairs between
 * two other namespaces are not computed. Finally, the address blocks outside the pod network each workload may reach
 * or be reached from (ipBlock peers, and rules without peers as "any address").
 */
import type { Endpoint } from '../netpol/index.ts';
import {
    createEvaluator,
    endpointRef,
    formatPortSet,
    namespaceWorkloads,
    portSetToJSON,
} from '../netpol/index.ts';
import type { EvaluatorOptions } from '../netpol/index.ts';
import { coversQuery } from './can.ts';
import type { PortSpec } from './endpoints.ts';
import type { Snapshot } from './snapshot.ts';

export interface MatrixCell {
    from: string;
    to: string;
    /** Human form of what the connection may use. */
    ports: string;
    /** The same as data: `{TCP: ["80", "8080-8089"]}`. */
    allowed: Record<string, string[]>;
    /** Only with a port query. */
    matches?: boolean;
}

/** Address blocks outside the pod network a workload of the namespace may reach or be reached from. */
export interface ExternalAnswer {
    workload: string;
    direction: 'Ingress' | 'Egress';
    /** false: every address is allowed in this direction. */
    isolated: boolean;
    blocks: { cidr: string; except: string[]; ports: string; policy: string }[];
}

export interface MatrixAnswer {
    namespace: string;
    port?: number | string;
    protocol?: string;
    /** Workloads of the namespace, then those of the other namespaces. */
    endpoints: string[];
    cells: MatrixCell[];
    external: ExternalAnswer[];
}

export function explainMatrix(
    s: Snapshot,
    namespace: string,
    q: PortSpec,
    options: EvaluatorOptions = {},
): MatrixAnswer {
    const ev = createEvaluator({ namespaces: s.namespaces, policies: s.policies }, options);
    const local: Endpoint[] = namespaceWorkloads(namespace, s.policies, s.pods).map((w) => ({
        kind: 'workload',
        workload: w,
    }));
    const others: Endpoint[] = s.namespaces
        .filter((n) => n.name !== namespace)
        .flatMap((n) => namespaceWorkloads(n.name, s.policies, s.pods))
        .map((w) => ({ kind: 'workload', workload: w }));
    const cells: MatrixCell[] = [];
    const cell = (src: Endpoint, dst: Endpoint) => {
        const v = ev.evaluate(src, dst);
        const c: MatrixCell = {
            from: endpointRef(src),
            to: endpointRef(dst),
            ports: formatPortSet(v.ports),
            allowed: portSetToJSON(v.ports),
        };
        if (q.port !== undefined || q.protocol) c.matches = coversQuery(v.ports, q, dst);
        cells.push(c);
    };
    for (const src of [...local, ...others]) {
        for (const dst of local) cell(src, dst);
    }
    for (const src of local) for (const dst of others) cell(src, dst);
    const external: ExternalAnswer[] = [];
    for (const e of local) {
        if (e.kind !== 'workload') continue;
        for (const direction of ['Ingress', 'Egress'] as const) {
            const x = ev.external(e.workload, direction);
            external.push({
                workload: endpointRef(e),
                direction,
                isolated: x.isolated,
                blocks: x.blocks.map((b) => ({
                    cidr: b.cidr,
                    except: b.except,
                    ports: formatPortSet(b.ports),
                    policy: b.policy,
                })),
            });
        }
    }
    const answer: MatrixAnswer = {
        namespace,
        endpoints: [...local, ...others].map(endpointRef),
        cells,
        external,
    };
    if (q.port !== undefined) answer.port = q.port;
    if (q.protocol) answer.protocol = q.protocol;
    return answer;
}
