/**
 * The offline `plan` command: renders the objects the operator would generate for some profiles, as YAML, so a
 * GitOps pull request can show reviewers exactly what a profile change does. It runs the same pure planner and
 * conflict resolution as the operator. Namespaces come from a file, from the cluster (read-only), or, by default,
 * from the profiles' own `spec.namespaces.names` (labels then only hold the name, plus the tenant label of the
 * first profile naming it, as the platform would have set it for that tenant's namespace).
 */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';

import { API_VERSION, KIND, LABEL_PROFILE, LABEL_TENANT } from '../api/types.ts';
import { readManifests } from '../cli/manifests.ts';
import type { IsolationProfile } from '../api/types.ts';
import { neverGovernSet, plan, resolveNamespace } from '../plan/index.ts';
import type { NamespaceInfo, PlanSettings, ServiceAccountInfo } from '../plan/index.ts';
import { compareStrings } from '../plan/order.ts';

export interface PlanCommandOptions {
    files: string[];
    namespacesFile?: string;
    cluster: boolean;
    settings: PlanSettings;
}

interface Inventory {
    namespaces: NamespaceInfo[];
    serviceAccounts: Map<string, ServiceAccountInfo[]>;
}

interface K8sDoc {
    apiVersion?: string;
    kind?: string;
    metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
}

export function readProfiles(files: string[]): IsolationProfile[] {
    const profiles: IsolationProfile[] = [];
    for (const f of files) {
        for (const doc of readManifests(f)) {
            const d = doc as K8sDoc;
            if (d.apiVersion !== API_VERSION || d.kind !== KIND) continue;
            const p = doc as IsolationProfile;
            if (!p.metadata?.name) throw new Error(`${f}: an IsolationProfile has no metadata.name`);
            if (!p.spec?.namespaces)
                throw new Error(`${f}: profile ${p.metadata.name} has no spec.namespaces`);
            p.metadata.uid ??= '';
            p.metadata.creationTimestamp ??= '1970-01-01T00:00:00Z';
            profiles.push(p);
        }
    }
    if (profiles.length === 0) throw new Error(`no ${KIND} (${API_VERSION}) found in ${files.join(', ')}`);
    return profiles;
}

function inventoryFromDocs(docs: unknown[]): Inventory {
    const inv: Inventory = { namespaces: [], serviceAccounts: new Map() };
    for (const doc of docs) {
        const d = doc as K8sDoc;
        const name = d.metadata?.name;
        if (!name) continue;
        if (d.kind === 'Namespace') inv.namespaces.push({ name, labels: d.metadata?.labels ?? {} });
        if (d.kind === 'ServiceAccount' && d.metadata?.namespace) {
            const list = inv.serviceAccounts.get(d.metadata.namespace) ?? [];
            list.push({ name, labels: d.metadata.labels ?? {} });
            inv.serviceAccounts.set(d.metadata.namespace, list);
        }
    }
    return inv;
}

async function inventoryFromCluster(): Promise<Inventory> {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    const core = kc.makeApiClient(CoreV1Api);
    const [nsList, saList] = await Promise.all([
        core.listNamespace(),
        core.listServiceAccountForAllNamespaces(),
    ]);
    const docs: unknown[] = [
        ...nsList.items.map((n) => ({ kind: 'Namespace', metadata: n.metadata })),
        ...saList.items.map((s) => ({ kind: 'ServiceAccount', metadata: s.metadata })),
    ];
    return inventoryFromDocs(docs);
}

function inventoryFromProfiles(profiles: IsolationProfile[]): Inventory {
    const labels = new Map<string, Record<string, string>>();
    for (const p of profiles) {
        for (const name of p.spec.namespaces.names ?? []) {
            if (labels.has(name)) continue;
            labels.set(name, p.spec.tenant !== undefined ? { [LABEL_TENANT]: p.spec.tenant } : {});
        }
    }
    return {
        namespaces: [...labels.keys()].sort().map((name) => ({ name, labels: labels.get(name) ?? {} })),
        serviceAccounts: new Map(),
    };
}

/**
 * The one write the operator makes on a governed Namespace: its `isolation.dev/profile` label (server-side apply,
 * field manager `isolation-operator-namespace`). Shown as the applied document; nothing when the label is already
 * right, or when the profile is DryRun or suspended (the operator writes nothing for those).
 */
function namespaceLabelWrite(name: string, winner: IsolationProfile, current: string | undefined): string {
    const profile = winner.metadata.name;
    if (winner.spec.mode === 'DryRun' || winner.spec.suspend || current === profile) return '';
    const doc = {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name, labels: { [LABEL_PROFILE]: profile } },
    };
    return `---\n# namespace label write (server-side apply, field manager isolation-operator-namespace)\n${stringify(doc)}`;
}

/** Renders the plan for every namespace some profile governs; returns multi-document YAML. */
export function renderPlan(profiles: IsolationProfile[], inv: Inventory, settings: PlanSettings): string {
    const never = neverGovernSet(settings);
    const parts: string[] = [];
    for (const ns of [...inv.namespaces].sort((a, b) => compareStrings(a.name, b.name))) {
        const r = resolveNamespace(ns, profiles, never);
        if (r.skippedBy.length > 0) {
            parts.push(
                `# namespace ${ns.name}: never governed (operator setting), selected by ${r.skippedBy.map((p) => p.metadata.name).join(', ')}\n`,
            );
        }
        const current = ns.labels?.[LABEL_PROFILE];
        if (!r.winner) {
            if (current !== undefined)
                parts.push(
                    `# namespace ${ns.name}: no longer governed; the operator would remove its label ${LABEL_PROFILE}=${current}\n`,
                );
            continue;
        }
        const losers = r.losers.map((p) => p.metadata.name);
        const header = `# namespace ${ns.name}: governed by ${r.winner.metadata.name}${losers.length ? ` (conflict: also selected by ${losers.join(', ')})` : ''}${r.winner.spec.mode === 'DryRun' ? ' [DryRun: the operator would only report this]' : ''}\n`;
        const objects = plan({
            namespace: ns,
            profile: r.winner,
            serviceAccounts: inv.serviceAccounts.get(ns.name) ?? [],
            settings,
        });
        parts.push(
            header +
                namespaceLabelWrite(ns.name, r.winner, current) +
                objects.map((o) => `---\n${stringify(o)}`).join(''),
        );
    }
    return parts.join('');
}

export async function runPlanCommand(o: PlanCommandOptions): Promise<string> {
    const profiles = readProfiles(o.files);
    let inv: Inventory;
    if (o.namespacesFile) inv = inventoryFromDocs(readManifests(o.namespacesFile));
    else if (o.cluster) inv = await inventoryFromCluster();
    else inv = inventoryFromProfiles(profiles);
    return renderPlan(profiles, inv, o.settings);
}
