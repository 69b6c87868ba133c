/**
 * IsolationProfile API types (isolation.dev/v1alpha1).
 *
 * These interfaces mirror the CRD schema in `crds/isolation.dev_isolationprofiles.yaml`, which is the single
 * source of truth; `test/unit/api-schema.test.ts` checks that the two do not drift apart. Every optional field
 * stays optional here: the operator never writes defaults into `spec` (GitOps tools would see a diff), so
 * defaults are applied in code by `defaults.ts` on a copy.
 */

export const GROUP = 'isolation.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'IsolationProfile';
export const PLURAL = 'isolationprofiles';

/** Label and annotation keys the operator owns. */
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'isolation-operator';
export const LABEL_PROFILE = 'isolation.dev/profile';
export const LABEL_SERVICE_ACCOUNT = 'isolation.dev/service-account';
/** Namespace label naming the tenant a namespace belongs to; only the platform writes it (admission). */
export const LABEL_TENANT = 'isolation.dev/tenant';
/** Tenant profiles' priorities are clamped into [-TENANT_PRIORITY_MAX, TENANT_PRIORITY_MAX] (admission refuses more). */
export const TENANT_PRIORITY_MAX = 999;
export const FINALIZER = 'isolation.dev/cleanup';
export const FIELD_MANAGER = 'isolation-operator';
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export interface LabelSelectorRequirement {
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
}

export interface LabelSelector {
    matchLabels?: Record<string, string>;
    matchExpressions?: LabelSelectorRequirement[];
}

/**
 * Which namespaces a profile governs: those in `names` or matching `selector`, minus `exclude`. At least one of
 * `names`/`selector` is set (CEL); `selector` may not use the `isolation.dev/profile` key (CEL).
 */
export interface NamespaceSelection {
    names?: string[];
    selector?: LabelSelector;
    exclude?: string[];
}

/** The namespaces of a `namespaces` peer: at least one of `names`/`selector` (CEL). */
export interface PeerNamespaceSelection {
    names?: string[];
    selector?: LabelSelector;
}

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface PortRule {
    protocol?: Protocol;
    /** Numeric port (1-65535) or a named container port (IANA_SVC_NAME). Absent: every port of the protocol. */
    port?: number | string;
    /** Inclusive end of a range starting at a numeric `port`; `endPort >= port` (CEL). */
    endPort?: number;
}

export interface ServiceAccountRef {
    namespace: string;
    name: string;
}

/** Exactly one of profile, namespaces, serviceAccount, cidr is set (CEL enforces it). */
export interface Peer {
    profile?: string;
    /**
     * Only with `profile`: the tenant of the namespaces meant. Default: the referencing profile's `spec.tenant`;
     * `''` (the default of a cluster-wide profile): namespaces of no tenant. See docs/tenancy.md.
     */
    tenant?: string;
    namespaces?: PeerNamespaceSelection;
    /** Only together with `namespaces`: narrows the peer to these pods of those namespaces. */
    pods?: LabelSelector;
    serviceAccount?: ServiceAccountRef;
    /** IPv4 or IPv6 CIDR, meant for cluster-external addresses. */
    cidr?: string;
    /** Only together with `cidr`: same IP family, each strictly inside `cidr` (CEL). */
    except?: string[];
}

export interface IngressRule {
    name: string;
    pods?: LabelSelector;
    from?: Peer[];
    ports?: PortRule[];
}

export interface EgressRule {
    name: string;
    pods?: LabelSelector;
    to?: Peer[];
    ports?: PortRule[];
}

export interface DefaultDeny {
    ingress?: boolean;
    egress?: boolean;
}

export interface NetworkSpec {
    defaultDeny?: DefaultDeny;
    allowSameNamespace?: boolean;
    allowDNS?: boolean;
    ingress?: IngressRule[];
    egress?: EgressRule[];
}

export interface RoleRef {
    kind: 'ClusterRole' | 'Role';
    name: string;
}

export interface Subject {
    kind: 'User' | 'Group' | 'ServiceAccount';
    name: string;
    /** Required for ServiceAccount subjects. */
    namespace?: string;
}

/** Alignment of an access entry: its ServiceAccount subjects may also reach these governed pods on these ports. */
export interface AccessNetwork {
    ports?: PortRule[];
    pods?: LabelSelector;
}

export interface AccessEntry {
    name: string;
    roleRef: RoleRef;
    /** At least one. */
    subjects: Subject[];
    /** Alignment: the ServiceAccount subjects may also reach the governed pods on these ports (needs one, CEL). */
    network?: AccessNetwork;
}

/** Exactly one of `selector`/`names` is set (CEL). */
export interface ServiceAccountEntry {
    name: string;
    selector?: LabelSelector;
    names?: string[];
    roleRef: RoleRef;
}

export type Mode = 'Enforce' | 'DryRun';
export type DeletionPolicy = 'Delete' | 'Orphan';
export type DriftPolicy = 'Correct' | 'Report';

export interface IsolationProfileSpec {
    /** The tenant the profile belongs to; absent: a cluster-wide (platform) profile. See docs/tenancy.md. */
    tenant?: string;
    namespaces: NamespaceSelection;
    priority?: number;
    mode?: Mode;
    suspend?: boolean;
    deletionPolicy?: DeletionPolicy;
    driftPolicy?: DriftPolicy;
    network?: NetworkSpec;
    access?: AccessEntry[];
    serviceAccounts?: ServiceAccountEntry[];
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
    type: string;
    status: ConditionStatus;
    reason: string;
    message: string;
    lastTransitionTime: string;
    observedGeneration?: number;
}

export interface PlannedAction {
    action: 'create' | 'update' | 'delete';
    kind: 'NetworkPolicy' | 'RoleBinding';
    namespace: string;
    name: string;
}

export interface NamespaceCounts {
    selected: number;
    enforced: number;
    conflicted: number;
    failed: number;
}

export interface ObjectCounts {
    networkPolicies: number;
    roleBindings: number;
}

export interface ProfileConflict {
    namespace: string;
    governedBy: string;
}

export interface IsolationProfileStatus {
    observedGeneration?: number;
    /** The effective mode (`spec.mode` with its default applied); shown by the Mode printer column. */
    mode?: Mode;
    conditions?: Condition[];
    namespaces?: NamespaceCounts;
    objects?: ObjectCounts;
    /** Capped at MAX_STATUS_CONFLICTS (limits.ts). */
    conflicts?: ProfileConflict[];
    /** DryRun only; capped at MAX_STATUS_PLAN (limits.ts). */
    plan?: PlannedAction[];
}

export interface ObjectMeta {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
}

export interface IsolationProfile {
    apiVersion: typeof API_VERSION;
    kind: typeof KIND;
    metadata: ObjectMeta;
    spec: IsolationProfileSpec;
    status?: IsolationProfileStatus;
}
