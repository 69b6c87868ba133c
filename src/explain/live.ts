/**
 * A snapshot of a live cluster for `explain`, read-only: LISTs of namespaces, pods, ServiceAccounts,
 * NetworkPolicies, RoleBindings and IsolationProfiles, nothing else. NetworkPolicies are listed through the
 * generic custom-objects path so they arrive as wire JSON (see ADR 0006); governance is read from the
 * `isolation.dev/profile` namespace label the operator keeps, so the answer reflects what is in force, not a plan.
 * The needed rights are those of the `view` ClusterRole plus reading IsolationProfiles.
 */
// Named imports, not `await import('@kubernetes/client-node')`: the operator is one bundle, and a namespace
// import of the package kept every generated API client in it (2.7 of its 5 MB), whose source text V8 holds in
// the operator's heap for the life of the process. These three clients the operator uses anyway.
import { CoreV1Api, CustomObjectsApi, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';

import type { IsolationProfile } from '../api/types.ts';
import { GROUP, PLURAL, VERSION } from '../api/types.ts';
import type { NetworkPolicyInput, RoleBindingInput, Workload } from '../netpol/index.ts';
import { governanceFromLabels } from '../netpol/index.ts';
import type { Snapshot } from './snapshot.ts';
import { podToWorkload } from './snapshot.ts';

export async function snapshotFromCluster(kubeconfig: string): Promise<Snapshot> {
    const kc = new KubeConfig();
    if (kubeconfig) kc.loadFromFile(kubeconfig);
    else kc.loadFromDefault();
    const core = kc.makeApiClient(CoreV1Api);
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const [nsList, podList, saList, npList, rbList, profileList] = await Promise.all([
        core.listNamespace(),
        core.listPodForAllNamespaces(),
        core.listServiceAccountForAllNamespaces(),
        custom.listCustomObjectForAllNamespaces({
            group: 'networking.k8s.io',
            version: 'v1',
            resourcePlural: 'networkpolicies',
        }) as Promise<{ items: NetworkPolicyInput[] }>,
        rbac.listRoleBindingForAllNamespaces(),
        custom
            .listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })
            .catch(() => ({ items: [] })) as Promise<{ items: IsolationProfile[] }>,
    ]);
    const namespaces = nsList.items.map((n) => ({
        name: n.metadata?.name ?? '',
        labels: n.metadata?.labels ?? {},
    }));
    const pods = podList.items
        .filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed')
        .map((p) => podToWorkload(p))
        .filter((w): w is Workload => w !== null);
    const roleBindings: RoleBindingInput[] = rbList.items.map((rb) => ({
        metadata: {
            name: rb.metadata?.name ?? '',
            namespace: rb.metadata?.namespace ?? '',
            labels: rb.metadata?.labels ?? {},
        },
        roleRef: { kind: rb.roleRef.kind, name: rb.roleRef.name },
        subjects: (rb.subjects ?? []).map((s) => ({
            kind: s.kind,
            name: s.name,
            ...(s.namespace ? { namespace: s.namespace } : {}),
        })),
    }));
    return {
        profiles: profileList.items,
        namespaces,
        governance: governanceFromLabels(namespaces),
        policies: npList.items,
        roleBindings,
        serviceAccounts: saList.items.map((s) => ({
            namespace: s.metadata?.namespace ?? '',
            name: s.metadata?.name ?? '',
        })),
        pods,
    };
}
