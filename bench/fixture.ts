/**
 * The benchmark's workload, as pure data: the one IsolationProfile applied in the converge phase, the namespaces
 * and ServiceAccounts it governs, and the objects the operator should create for them.
 *
 * Design choice: the expected objects come from the operator's own pure planner (`plan()` in src/plan), so the
 * baseline client writes byte-for-byte what the operator writes and the converge phase knows exactly which
 * objects to wait for. The profile yields six objects per namespace: three base NetworkPolicies (default-deny,
 * same-namespace, DNS), one ingress rule, one access RoleBinding (a Group subject, so no access NetworkPolicy)
 * and one serviceAccounts RoleBinding that binds the namespace's SA labelled `isolation.dev/role=reader`.
 */
import type { V1Namespace, V1ServiceAccount } from '@kubernetes/client-node';

import { API_VERSION, KIND } from '../src/api/types.ts';
import type { IsolationProfile } from '../src/api/types.ts';
import { plan } from '../src/plan/index.ts';
import type { DesiredObject } from '../src/plan/index.ts';

/** Label that makes a namespace a member of the bench profile (an isolation.dev/ key: the profile is cluster-wide). */
export const MEMBER_LABEL = 'isolation.dev/bench-member';
/** Label on every namespace the bench creates (all phases), for listing and cleanup. */
export const BENCH_LABEL = 'isolation-bench/run';
export const PROFILE_NAME = 'bench';
export const BASELINE_PROFILE_NAME = 'bench-baseline';
export const READER_LABEL = 'isolation.dev/role';

export function benchProfile(name: string, memberValue: string, uid?: string): IsolationProfile {
    return {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name, ...(uid ? { uid } : {}) },
        spec: {
            namespaces: { selector: { matchLabels: { [MEMBER_LABEL]: memberValue } } },
            network: {
                defaultDeny: { ingress: true, egress: true },
                allowSameNamespace: true,
                allowDNS: true,
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
                        ports: [{ protocol: 'TCP', port: 8080 }],
                    },
                ],
            },
            access: [
                {
                    name: 'developers',
                    roleRef: { kind: 'ClusterRole', name: 'edit' },
                    subjects: [{ kind: 'Group', name: 'bench-devs' }],
                },
            ],
            serviceAccounts: [
                {
                    name: 'readers',
                    selector: { matchLabels: { [READER_LABEL]: 'reader' } },
                    roleRef: { kind: 'ClusterRole', name: 'view' },
                },
            ],
        },
    };
}

/** Namespace names of one phase: `<prefix>-00042` (zero-padded so they sort). */
export function namespaceNames(prefix: string, count: number): string[] {
    const width = Math.max(5, String(count).length);
    return Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(width, '0')}`);
}

export function namespaceObject(name: string, run: string, member?: string): V1Namespace {
    const labels: Record<string, string> = { [BENCH_LABEL]: run };
    if (member) labels[MEMBER_LABEL] = member;
    return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

/** Two ServiceAccounts per namespace; the second is a reader the profile's `serviceAccounts` entry binds. */
export function serviceAccountObjects(namespace: string): V1ServiceAccount[] {
    return [
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'app', namespace } },
        {
            apiVersion: 'v1',
            kind: 'ServiceAccount',
            metadata: { name: 'reader', namespace, labels: { [READER_LABEL]: 'reader' } },
        },
    ];
}

/** What the operator creates in `namespace` when `profile` governs it (its own planner, default settings). */
export function desiredFor(namespace: string, member: string, profile: IsolationProfile): DesiredObject[] {
    return plan({
        namespace: { name: namespace, labels: namespaceObject(namespace, '', member).metadata!.labels! },
        profile,
        serviceAccounts: serviceAccountObjects(namespace).map((sa) => ({
            name: sa.metadata!.name!,
            labels: sa.metadata!.labels ?? {},
        })),
    });
}

/** `Kind/namespace/name`: the identity of a generated object in arrival trackers. */
export function objectKey(kind: string, namespace: string, name: string): string {
    return `${kind}/${namespace}/${name}`;
}
