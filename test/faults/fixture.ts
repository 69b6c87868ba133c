/**
 * The fault suite's workload as pure data: six IsolationProfiles over a few hundred namespaces, chosen so every
 * kind of generated object and every precedence rule is in play — base policies, an ingress and an egress rule, an
 * access RoleBinding, per-ServiceAccount RoleBindings, two profiles competing for the same namespaces by priority,
 * one selecting by name, and namespaces no profile selects.
 *
 * Design choice: a namespace's team label is a function of its index (`i % 7`), so a test can relabel or recreate
 * any slice and still know exactly which profile should govern it; the expectation itself is never written here but
 * computed by the operator's pure planner (converged.ts).
 */
import { API_VERSION, KIND } from '../../src/api/types.ts';
import type { IsolationProfile } from '../../src/api/types.ts';

export const TEAM_LABEL = 'isolation.dev/faults-team';
const RUN_LABEL = 'faults.isolation.dev/run';
const READER_LABEL = 'isolation.dev/faults-role';
export const TEAMS = ['t0', 't1', 't2', 't3', 't4', 't5', 't6'] as const;

/** Namespaces of the suite by default; FAULTS_NAMESPACES overrides. */
export function namespaceCount(): number {
    const n = Number(process.env.FAULTS_NAMESPACES ?? 200);
    if (!Number.isInteger(n) || n < 14)
        throw new Error(`FAULTS_NAMESPACES must be an integer >= 14, got ${n}`);
    return n;
}

export function namespaceName(i: number): string {
    return `faults-${String(i).padStart(5, '0')}`;
}

export function teamOf(i: number): string {
    return TEAMS[i % TEAMS.length] ?? 't6';
}

export interface NamespaceSpec {
    name: string;
    labels: Record<string, string>;
}

export function namespaceSpec(i: number, team = teamOf(i)): NamespaceSpec {
    return { name: namespaceName(i), labels: { [RUN_LABEL]: 'faults', [TEAM_LABEL]: team } };
}

/** Kubernetes List of Namespace objects (for one `kubectl apply`). */
export function namespaceList(specs: readonly NamespaceSpec[]): string {
    return JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: specs.map((s) => ({
            apiVersion: 'v1',
            kind: 'Namespace',
            metadata: { name: s.name, labels: s.labels },
        })),
    });
}

/** Every namespace of team t2 has a `reader` ServiceAccount (bound by faults-c) and an `app` one (not bound). */
export function serviceAccountList(indices: readonly number[]): string {
    const items = indices
        .filter((i) => teamOf(i) === 't2')
        .flatMap((i) => [
            {
                apiVersion: 'v1',
                kind: 'ServiceAccount',
                metadata: {
                    name: 'reader',
                    namespace: namespaceName(i),
                    labels: { [READER_LABEL]: 'reader' },
                },
            },
            {
                apiVersion: 'v1',
                kind: 'ServiceAccount',
                metadata: { name: 'app', namespace: namespaceName(i) },
            },
        ]);
    return JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
}

function profile(name: string, spec: IsolationProfile['spec']): IsolationProfile {
    return { apiVersion: API_VERSION, kind: KIND, metadata: { name }, spec };
}

const team = (...values: string[]) => ({
    selector: { matchExpressions: [{ key: TEAM_LABEL, operator: 'In' as const, values }] },
});

/**
 * The six profiles; `revision` changes one rule of each (a profile edit) so a test can move every governed
 * namespace to new content at once.
 */
export function profiles(revision = 0, byName: readonly string[] = []): IsolationProfile[] {
    const port = 8080 + revision;
    return [
        profile('faults-a', {
            namespaces: team('t0'),
            network: {
                ingress: [
                    {
                        name: 'from-ingress',
                        pods: { matchLabels: { app: 'api' } },
                        from: [
                            {
                                namespaces: { names: ['ingress-nginx'] },
                                pods: { matchLabels: { app: 'nginx' } },
                            },
                        ],
                        ports: [{ protocol: 'TCP', port }],
                    },
                ],
            },
        }),
        profile('faults-b', {
            namespaces: team('t1'),
            access: [
                {
                    name: 'developers',
                    roleRef: { kind: 'ClusterRole', name: revision % 2 === 0 ? 'edit' : 'view' },
                    subjects: [{ kind: 'Group', name: 'faults-devs' }],
                },
            ],
        }),
        profile('faults-c', {
            namespaces: team('t2'),
            serviceAccounts: [
                {
                    name: 'readers',
                    selector: { matchLabels: { [READER_LABEL]: 'reader' } },
                    roleRef: { kind: 'ClusterRole', name: 'view' },
                },
            ],
            network: { allowSameNamespace: revision % 2 === 0 },
        }),
        profile('faults-d', {
            namespaces: team('t3'),
            network: {
                egress: [
                    {
                        name: 'to-https',
                        to: [{ cidr: '10.0.0.0/8' }],
                        ports: [{ protocol: 'TCP', port: 443 + revision }],
                    },
                ],
            },
        }),
        // faults-e and faults-f both select t5: the higher priority (faults-f) governs, faults-e reports conflicts.
        profile('faults-e', {
            namespaces: team('t4', 't5'),
            priority: 10,
            network: { allowDNS: revision % 2 === 0 },
        }),
        profile('faults-f', {
            namespaces: { ...team('t5'), names: [...byName] },
            priority: 20,
            network: { ingress: [{ name: 'monitoring', from: [{ namespaces: { names: ['monitoring'] } }] }] },
        }),
    ];
}

/** Names of a few t6 (otherwise ungoverned) namespaces that faults-f selects by name. */
export function byNameSelection(count: number): string[] {
    const out: string[] = [];
    for (let i = 0; i < count && out.length < 3; i++) if (teamOf(i) === 't6') out.push(namespaceName(i));
    return out;
}
