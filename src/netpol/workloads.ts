/**
 * Which workloads to ask about when the question names a namespace or a ServiceAccount rather than a pod.
 *
 * With the real pods at hand (a live cluster), those are the answer: the pods of the namespace, the pods running as
 * the ServiceAccount. Without them (YAML files, or nothing deployed yet) the evaluator works on stand-ins: a pod
 * with no labels, plus one pod per distinct label set that a policy of the namespace selects by `matchLabels`
 * (so "the api pods" that an allow rule names are represented); a ServiceAccount becomes the same pods of its
 * namespace, each also carrying the workload-identity label `isolation.dev/service-account=<name>`. Stand-ins have
 * unknown container ports, so named ports stay symbolic. The choice errs towards finding a path: alignment reports
 * a gap only when none of the stand-ins has a path.
 */
import type { LabelSelector } from '../api/types.ts';
import { LABEL_SERVICE_ACCOUNT } from '../api/types.ts';
import { matchesSelector } from '../plan/selection.ts';
import { podsIn, policiesIn } from './by-namespace.ts';
import type { NetworkPolicyInput, Workload } from './types.ts';
import { compareStrings } from '../plan/order.ts';

/** Labels a selector certainly requires (matchLabels, and the first value of each `In`). */
export function labelsFor(selector: LabelSelector | null | undefined): Record<string, string> {
    const out: Record<string, string> = { ...(selector?.matchLabels ?? {}) };
    for (const e of selector?.matchExpressions ?? []) {
        if (e.operator === 'In' && e.values && e.values.length > 0) out[e.key] = e.values[0]!;
        if (e.operator === 'Exists') out[e.key] = 'true';
    }
    return out;
}

function labelKey(labels: Record<string, string>): string {
    return Object.entries(labels)
        .sort(([a], [b]) => compareStrings(a, b))
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
}

const NO_PODS: readonly Workload[] = [];

/** The real pods of `namespace`, or stand-ins built from the pod selectors of its policies. */
export function namespaceWorkloads(
    namespace: string,
    policies: readonly NetworkPolicyInput[],
    pods: readonly Workload[] | undefined,
): Workload[] {
    const real = podsIn(pods ?? NO_PODS, namespace).filter((p) => !p.hostNetwork);
    if (real.length > 0) return real;
    const seen = new Map<string, Workload>();
    seen.set('', { namespace, name: '*', labels: {} });
    for (const p of policiesIn(policies, namespace)) {
        const labels = labelsFor(p.spec?.podSelector);
        const key = labelKey(labels);
        if (!seen.has(key)) seen.set(key, { namespace, name: `*{${key}}`, labels });
    }
    return [...seen.values()];
}

/** Workloads of `namespace` that `selector` selects; a stand-in carrying its labels when none does. */
export function selectedWorkloads(
    namespace: string,
    selector: LabelSelector | undefined,
    policies: readonly NetworkPolicyInput[],
    pods: readonly Workload[] | undefined,
): Workload[] {
    const sel = selector ?? {};
    const found = namespaceWorkloads(namespace, policies, pods).filter((w) => matchesSelector(sel, w.labels));
    if (found.length > 0) return found;
    const labels = labelsFor(sel);
    return [{ namespace, name: `*{${labelKey(labels)}}`, labels }];
}

/**
 * The pods running as a ServiceAccount, or stand-ins carrying the workload-identity label: one with only that label,
 * and, when the namespace's policies are given, one per label set they select (a rule for `app=deployer` pods may
 * be the one that lets the ServiceAccount's pods out).
 */
export function serviceAccountWorkloads(
    namespace: string,
    name: string,
    pods: readonly Workload[] | undefined,
    policies: readonly NetworkPolicyInput[] = [],
): Workload[] {
    const real = podsIn(pods ?? NO_PODS, namespace).filter(
        (p) => !p.hostNetwork && (p.serviceAccount ?? 'default') === name,
    );
    if (real.length > 0) return real;
    return namespaceWorkloads(namespace, policies, undefined).map((w) => ({
        namespace,
        name: w.name === '*' ? `sa:${name}` : `sa:${name}${w.name.slice(1)}`,
        labels: { ...w.labels, [LABEL_SERVICE_ACCOUNT]: name },
        serviceAccount: name,
    }));
}
