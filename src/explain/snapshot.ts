/**
 * What `explain` answers from: one consistent snapshot of the cluster (profiles, namespaces, which profile governs
 * which namespace, every NetworkPolicy, RoleBinding, ServiceAccount and pod), built either from YAML documents
 * (offline, planned as the operator would) or from a live cluster (`live.ts`). The queries never know which.
 */
import type { IsolationProfile } from '../api/types.ts';
import { API_VERSION, KIND, LABEL_SERVICE_ACCOUNT } from '../api/types.ts';
import type { ContainerPort, NetworkPolicyInput, RoleBindingInput, Workload } from '../netpol/index.ts';
import type { NamespaceInfo, PlanSettings, ServiceAccountInfo } from '../plan/index.ts';
import { plannedCluster } from './planned.ts';
import { compareStrings } from '../plan/order.ts';

export interface Snapshot {
    profiles: IsolationProfile[];
    namespaces: NamespaceInfo[];
    /** Namespace -> governing profile. */
    governance: Map<string, string>;
    policies: NetworkPolicyInput[];
    roleBindings: RoleBindingInput[];
    serviceAccounts: { namespace: string; name: string }[];
    pods: Workload[];
}

interface Meta {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    creationTimestamp?: string;
    uid?: string;
}

interface PodLike {
    metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
    spec?: {
        serviceAccountName?: string;
        hostNetwork?: boolean;
        containers?: { ports?: { name?: string; containerPort: number; protocol?: string }[] }[];
    };
    status?: { podIP?: string };
}

/** A Pod object -> the evaluator's workload (container ports kept with their names and protocols). */
export function podToWorkload(pod: PodLike): Workload | null {
    const name = pod.metadata?.name;
    const namespace = pod.metadata?.namespace;
    if (!name || !namespace) return null;
    const ports: ContainerPort[] = (pod.spec?.containers ?? []).flatMap((c) =>
        (c.ports ?? []).map((p) => ({
            ...(p.name ? { name: p.name } : {}),
            containerPort: p.containerPort,
            protocol: p.protocol ?? 'TCP',
        })),
    );
    const w: Workload = {
        namespace,
        name,
        labels: pod.metadata?.labels ?? {},
        serviceAccount: pod.spec?.serviceAccountName || 'default',
        ports,
    };
    if (pod.status?.podIP) w.ip = pod.status.podIP;
    if (pod.spec?.hostNetwork) w.hostNetwork = true;
    // The admission policy sets the workload-identity label; files written by hand may omit it.
    w.labels = { [LABEL_SERVICE_ACCOUNT]: w.serviceAccount!, ...w.labels };
    return w;
}

/**
 * Offline snapshot from Kubernetes YAML documents: IsolationProfiles, Namespaces, ServiceAccounts, Pods,
 * NetworkPolicies and RoleBindings (anything else is ignored). Profiles are planned onto the namespaces with the
 * operator's planner; without Namespace documents, the namespaces are those the profiles name and the other
 * objects live in (labels then only hold the name).
 */
export function snapshotFromDocs(docs: readonly unknown[], settings: PlanSettings): Snapshot {
    const profiles: IsolationProfile[] = [];
    const namespaces = new Map<string, NamespaceInfo>();
    const serviceAccounts = new Map<string, ServiceAccountInfo[]>();
    const policies: NetworkPolicyInput[] = [];
    const roleBindings: RoleBindingInput[] = [];
    const pods: Workload[] = [];
    const mentioned = new Set<string>();
    for (const doc of docs) {
        const d = doc as { apiVersion?: string; kind?: string; metadata?: Meta };
        const name = d.metadata?.name;
        if (!name) continue;
        const ns = d.metadata?.namespace;
        if (ns) mentioned.add(ns);
        switch (d.kind) {
            case KIND:
                if (d.apiVersion === API_VERSION) {
                    const p = doc as IsolationProfile;
                    p.metadata.uid ??= '';
                    p.metadata.creationTimestamp ??= '1970-01-01T00:00:00Z';
                    profiles.push(p);
                    for (const n of p.spec?.namespaces?.names ?? []) mentioned.add(n);
                }
                break;
            case 'Namespace':
                namespaces.set(name, { name, labels: d.metadata?.labels ?? {} });
                break;
            case 'ServiceAccount':
                if (ns) {
                    const list = serviceAccounts.get(ns) ?? [];
                    list.push({ name, labels: d.metadata?.labels ?? {} });
                    serviceAccounts.set(ns, list);
                }
                break;
            case 'Pod': {
                const w = podToWorkload(doc as PodLike);
                if (w) pods.push(w);
                break;
            }
            case 'NetworkPolicy':
                policies.push(doc as NetworkPolicyInput);
                break;
            case 'RoleBinding':
                roleBindings.push(doc as RoleBindingInput);
                break;
        }
    }
    if (namespaces.size === 0) for (const n of mentioned) namespaces.set(n, { name: n, labels: {} });
    const planned = plannedCluster({
        profiles,
        namespaces: [...namespaces.values()].sort((a, b) => compareStrings(a.name, b.name)),
        serviceAccounts,
        settings,
        policies,
        roleBindings,
    });
    return {
        profiles,
        ...planned,
        serviceAccounts: [...serviceAccounts.entries()].flatMap(([namespace, list]) =>
            list.map((s) => ({ namespace, name: s.name })),
        ),
        pods,
    };
}
