/**
 * What the NetworkPolicy evaluator reads: plain data, shaped like the Kubernetes objects it comes from.
 *
 * Policies are taken in wire form (`from`/`to`) as the API server returns them, and also in the shape of
 * @kubernetes/client-node's models (`_from`), so objects from YAML files, from a LIST and from the operator's
 * planner all evaluate the same. Nothing is defaulted on input: the evaluator applies the API server's defaults
 * (policyTypes, protocol TCP) itself, because a policy read from a file never went through the API server.
 */
import type { LabelSelector } from '../api/types.ts';

export type { LabelSelector } from '../api/types.ts';

export interface ContainerPort {
    name?: string;
    containerPort: number;
    /** Defaults to TCP. */
    protocol?: string;
}

/**
 * A workload endpoint: a real pod, or a stand-in for "a pod of this namespace / running as this ServiceAccount".
 * `ports` undefined means the container ports are unknown (named ports stay symbolic); `[]` means none.
 */
export interface Workload {
    namespace: string;
    name: string;
    labels: Record<string, string>;
    serviceAccount?: string;
    ip?: string;
    ports?: ContainerPort[];
    /** hostNetwork pods are treated as the node: never selected by a policy nor matched by a selector. */
    hostNetwork?: boolean;
}

export type Endpoint = { kind: 'workload'; workload: Workload } | { kind: 'ip'; ip: string };

export interface NamespaceInput {
    name: string;
    labels?: Record<string, string>;
}

export interface IPBlockInput {
    cidr: string;
    except?: readonly string[] | null;
}

export interface PeerInput {
    podSelector?: LabelSelector | null;
    namespaceSelector?: LabelSelector | null;
    ipBlock?: IPBlockInput | null;
}

export interface PortInput {
    protocol?: string | null;
    port?: number | string | null;
    endPort?: number | null;
}

export interface RuleInput {
    from?: PeerInput[] | null;
    /** @kubernetes/client-node model name of `from`. */
    _from?: PeerInput[] | null;
    to?: PeerInput[] | null;
    ports?: PortInput[] | null;
}

export interface NetworkPolicyInput {
    metadata: { name: string; namespace?: string };
    spec?: {
        podSelector?: LabelSelector | null;
        policyTypes?: string[] | null;
        ingress?: RuleInput[] | null;
        egress?: RuleInput[] | null;
    };
}

/** Everything the evaluator looks at. */
export interface ClusterNetwork {
    namespaces: readonly NamespaceInput[];
    policies: readonly NetworkPolicyInput[];
}

export interface EvaluatorOptions {
    /**
     * Whether ipBlock peers match pod IPs. Upstream e2e and most CNIs (Calico, kube-network-policies) say yes;
     * Cilium and Terway match ipBlocks only against cluster-external traffic. Default true.
     */
    ipBlockMatchesPods?: boolean;
}

export type Direction = 'Ingress' | 'Egress';
