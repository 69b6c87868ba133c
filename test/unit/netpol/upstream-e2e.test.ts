/**
 * The evaluator against the upstream Kubernetes e2e NetworkPolicy truth tables (transcribed in
 * test/unit/fixtures/netpol-upstream-e2e.yaml; the source is cited there).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

import { contains, createEvaluator } from '../../../src/netpol/index.ts';
import type { L4Protocol, NetworkPolicyInput, Workload } from '../../../src/netpol/index.ts';
import type { LabelSelector } from '../../../src/api/types.ts';

interface Check {
    port: number;
    protocol: L4Protocol;
    default: boolean;
    expect: [string, string, boolean][];
}
interface Step {
    policies: {
        namespace: string;
        name: string;
        spec: NetworkPolicyInput['spec'] & { podSelector: LabelSelector };
    }[];
    podLabels?: Record<string, Record<string, string>>;
    namespaceLabels?: Record<string, Record<string, string>>;
    checks: Check[];
}
interface Case {
    name: string;
    pods: string[];
    steps: Step[];
}

const data = parse(
    readFileSync(new URL('../fixtures/netpol-upstream-e2e.yaml', import.meta.url), 'utf8'),
) as { cases: Case[] };

const NS_INDEX: Record<string, number> = { x: 1, y: 2, z: 3 };
const POD_INDEX: Record<string, number> = { a: 1, b: 2, c: 3 };

function workload(id: string, labels?: Record<string, string>): Workload {
    const [ns, pod] = id.split('/') as [string, string];
    return {
        namespace: ns,
        name: pod,
        labels: labels ?? { pod },
        ip: `10.0.${NS_INDEX[ns]}.${POD_INDEX[pod]}`,
        ports: (['TCP', 'UDP', 'SCTP'] as const).flatMap((protocol) =>
            [80, 81].map((p) => ({
                name: `serve-${p}-${protocol.toLowerCase()}`,
                containerPort: p,
                protocol,
            })),
        ),
    };
}

function matches(pattern: string, id: string): boolean {
    const [pns, ppod] = pattern.split('/');
    const [ns, pod] = id.split('/');
    return (pns === '*' || pns === ns) && (ppod === '*' || ppod === pod);
}

/** Runs every check of a case; returns the differing cells as readable lines. */
function mismatches(c: Case, ipBlockMatchesPods = true): string[] {
    const out: string[] = [];
    c.steps.forEach((step, s) => {
        const pods = c.pods.map((id) => workload(id, step.podLabels?.[id]));
        const evaluator = createEvaluator(
            {
                namespaces: ['x', 'y', 'z'].map((name) => ({
                    name,
                    labels: step.namespaceLabels?.[name] ?? {},
                })),
                policies: step.policies.map((p) => ({
                    metadata: { name: p.name, namespace: p.namespace },
                    spec: p.spec,
                })),
            },
            { ipBlockMatchesPods },
        );
        for (const check of step.checks) {
            for (const from of pods) {
                for (const to of pods) {
                    const f = `${from.namespace}/${from.name}`;
                    const t = `${to.namespace}/${to.name}`;
                    if (f === t) continue; // loopback ignored, as upstream
                    let expected = check.default;
                    for (const [pf, pt, v] of check.expect)
                        if (matches(pf, f) && matches(pt, t)) expected = v;
                    const verdict = evaluator.evaluate(
                        { kind: 'workload', workload: from },
                        { kind: 'workload', workload: to },
                    );
                    const actual = contains(verdict.ports, check.protocol, check.port);
                    if (actual !== expected)
                        out.push(
                            `step ${s + 1} ${check.protocol}/${check.port} ${f} -> ${t}: expected ${expected}, got ${actual}`,
                        );
                }
            }
        }
    });
    return out;
}

describe('netpol: upstream e2e truth tables', () => {
    it('transcribes every upstream spec family (TCP, UDP and SCTP)', () => {
        assert.ok(data.cases.length >= 45, `${data.cases.length} cases`);
        const protocols = new Set(
            data.cases.flatMap((c) => c.steps.flatMap((s) => s.checks.map((k) => k.protocol))),
        );
        assert.deepEqual([...protocols].sort(), ['SCTP', 'TCP', 'UDP']);
    });

    for (const c of data.cases) {
        it(c.name, () => {
            assert.deepEqual(mismatches(c), []);
        });
    }

    it('with ipBlockMatchesPods=false, the CIDR specs deny what upstream allows through a pod IP', () => {
        const cidr = data.cases.find((c) => c.name === 'should allow egress access to server in CIDR block')!;
        assert.deepEqual(mismatches(cidr, false), ['step 1 TCP/80 x/a -> y/b: expected true, got false']);
    });
});
