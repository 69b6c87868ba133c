/**
 * Per-namespace indexes of the netpol inputs (policies, pods, namespace labels), built once per input array and
 * shared by everything that reads it: the evaluator, the stand-in workloads and the alignment check's namespace
 * classes.
 *
 * Design choice: the indexes are memoised weakly on the array they index (inputs are read-only by contract), so
 * one alignment computation builds each index once and drops it with its input. At 10,000 namespaces each index
 * is a 10,000-entry Map; three private copies per computation were a third of the check's allocations, and being
 * alive for the whole computation they outlived the young generation and raised the heap's high-water mark
 * (docs/benchmarks.md, "10,000 namespaces, the alignment check's shared indexes").
 */
import type { NamespaceInput, NetworkPolicyInput, Workload } from './types.ts';

const ITEM_INDEXES = new WeakMap<readonly object[], Map<string, readonly object[]>>();

function indexed<T extends object>(items: readonly T[], namespaceOf: (item: T) => string): Map<string, T[]> {
    let index = ITEM_INDEXES.get(items) as Map<string, T[]> | undefined;
    if (!index) {
        index = new Map<string, T[]>();
        for (const item of items) {
            const ns = namespaceOf(item);
            const list = index.get(ns);
            if (list) list.push(item);
            else index.set(ns, [item]);
        }
        ITEM_INDEXES.set(items, index);
    }
    return index;
}

const NONE: readonly never[] = [];

/** The policies of `policies` that live in `namespace`. */
export function policiesIn(
    policies: readonly NetworkPolicyInput[],
    namespace: string,
): readonly NetworkPolicyInput[] {
    return indexed(policies, (p) => p.metadata.namespace ?? '').get(namespace) ?? NONE;
}

/** The pods of `pods` that run in `namespace`. */
export function podsIn(pods: readonly Workload[], namespace: string): readonly Workload[] {
    return indexed(pods, (p) => p.namespace).get(namespace) ?? NONE;
}

const LABEL_INDEXES = new WeakMap<
    readonly NamespaceInput[],
    Map<string, Readonly<Record<string, string>> | undefined>
>();

/** Namespace name -> its labels as given (without the name label the API server adds). */
export function labelsByNamespace(
    namespaces: readonly NamespaceInput[],
): ReadonlyMap<string, Readonly<Record<string, string>> | undefined> {
    let index = LABEL_INDEXES.get(namespaces);
    if (!index) {
        index = new Map();
        for (const ns of namespaces) index.set(ns.name, ns.labels);
        LABEL_INDEXES.set(namespaces, index);
    }
    return index;
}
