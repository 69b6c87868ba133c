/**
 * Which namespaces a profile selects, with Kubernetes label-selector semantics.
 *
 * Matching follows metav1.LabelSelector exactly: matchLabels and matchExpressions are ANDed, an empty selector
 * matches everything, `NotIn` and `DoesNotExist` also match objects lacking the key, and the immutable
 * `kubernetes.io/metadata.name` label is injected into every namespace the way the API server does, so a selector on
 * it behaves here as it does in a NetworkPolicy. Anything malformed (an unknown operator, `In` without values) matches
 * nothing: the planner fails closed. The never-govern set is separate from selection so callers can tell "not
 * selected" from "selected but skipped" (the latter becomes a status condition).
 */

import type { IsolationProfile, LabelSelector, LabelSelectorRequirement } from '../api/types.ts';
import { LABEL_TENANT, NAMESPACE_NAME_LABEL } from '../api/types.ts';
import type { PlanSettings } from './settings.ts';
import { compareStrings } from './order.ts';

/** What the planner needs to know about a Namespace. */
export interface NamespaceInfo {
    name: string;
    labels?: Record<string, string>;
}

/**
 * The namespace's labels as the API server presents them: with `kubernetes.io/metadata.name` = its name. A
 * namespace read from the API server already has that label, and its own labels are returned as they are (read
 * only): the status pass matches every namespace against every profile, and copying each label set cost 10,000
 * objects per pass at 10,000 namespaces.
 */
export function namespaceLabels(namespace: NamespaceInfo): Readonly<Record<string, string>> {
    const labels = namespace.labels;
    if (labels !== undefined && labels[NAMESPACE_NAME_LABEL] === namespace.name) return labels;
    return { ...(labels ?? {}), [NAMESPACE_NAME_LABEL]: namespace.name };
}

function matchesRequirement(req: LabelSelectorRequirement, labels: Record<string, string>): boolean {
    const has = Object.prototype.hasOwnProperty.call(labels, req.key);
    const values = req.values ?? [];
    switch (req.operator) {
        case 'In':
            return has && values.includes(labels[req.key] as string);
        case 'NotIn':
            return !has || !values.includes(labels[req.key] as string);
        case 'Exists':
            return has;
        case 'DoesNotExist':
            return !has;
        default:
            return false;
    }
}

/** metav1 label-selector matching. An empty selector `{}` matches every label set. */
export function matchesSelector(selector: LabelSelector, labels: Record<string, string>): boolean {
    for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
        if (labels[key] !== value) return false;
    }
    for (const req of selector.matchExpressions ?? []) {
        if (!matchesRequirement(req, labels)) return false;
    }
    return true;
}

/**
 * A selector in the canonical shape the API server returns: empty `matchLabels` / `matchExpressions` / `values`
 * dropped, everything else kept in order. Used for generated objects and for comparing live ones.
 */
export function normalizeSelector(selector: LabelSelector | undefined): LabelSelector {
    const out: LabelSelector = {};
    const labels = selector?.matchLabels;
    if (labels && Object.keys(labels).length > 0) {
        out.matchLabels = Object.fromEntries(Object.entries(labels).sort(([a], [b]) => compareStrings(a, b)));
    }
    const exprs = selector?.matchExpressions;
    if (exprs && exprs.length > 0) {
        out.matchExpressions = exprs.map((e) => {
            const req: LabelSelectorRequirement = { key: e.key, operator: e.operator };
            if (e.values && e.values.length > 0) req.values = [...e.values];
            return req;
        });
    }
    return out;
}

/**
 * Tenancy: a profile with `spec.tenant` may only govern namespaces labelled `isolation.dev/tenant=<tenant>` (a
 * label only the platform writes). This is the operator's own check, made whatever admission allowed, so a
 * missing admission policy or a race never hands a namespace to another tenant; names of namespaces that do not
 * exist yet grant nothing either. A cluster-wide profile (no tenant) is limited by admission only.
 */
export function inTenant(profile: Pick<IsolationProfile, 'spec'>, namespace: NamespaceInfo): boolean {
    const tenant = profile.spec?.tenant;
    return tenant === undefined || namespace.labels?.[LABEL_TENANT] === tenant;
}

/**
 * Spec-level selection: (name in `names` OR labels match `selector`) AND name not in `exclude` AND the namespace
 * belongs to the profile's tenant (`inTenant`). An absent `selector` selects nothing by labels (as a nil
 * LabelSelector does); an empty one `{}` selects every namespace (of the tenant). Does NOT apply the never-govern
 * set: see `isNeverGoverned` and `selectionState`.
 */
export function selects(profile: Pick<IsolationProfile, 'spec'>, namespace: NamespaceInfo): boolean {
    const sel = profile.spec?.namespaces;
    if (!sel) return false;
    if (sel.exclude?.includes(namespace.name)) return false;
    if (!inTenant(profile, namespace)) return false;
    if (sel.names?.includes(namespace.name)) return true;
    return sel.selector !== undefined && matchesSelector(sel.selector, namespaceLabels(namespace));
}

/** The effective never-govern set: the configured names plus the operator's own namespace. */
export function neverGovernSet(
    settings: Pick<PlanSettings, 'neverGovern' | 'operatorNamespace'>,
): Set<string> {
    const set = new Set(settings.neverGovern);
    if (settings.operatorNamespace) set.add(settings.operatorNamespace);
    return set;
}

export function isNeverGoverned(
    namespaceName: string,
    settings: Pick<PlanSettings, 'neverGovern' | 'operatorNamespace'>,
): boolean {
    return neverGovernSet(settings).has(namespaceName);
}

/**
 * - `selected`: the profile selects the namespace and may govern it (subject to conflicts);
 * - `skipped`: the profile selects it but it is in the never-govern set (the profile gets a condition);
 * - `none`: the profile does not select it.
 */
export type SelectionState = 'selected' | 'skipped' | 'none';

export function selectionState(
    profile: Pick<IsolationProfile, 'spec'>,
    namespace: NamespaceInfo,
    neverGovern: ReadonlySet<string>,
): SelectionState {
    if (!selects(profile, namespace)) return 'none';
    return neverGovern.has(namespace.name) ? 'skipped' : 'selected';
}
