/**
 * `explain who-can-act <namespace>`: every subject that a RoleBinding of the namespace grants a role to (generated
 * or not), and for each ServiceAccount subject whether it also has a network path to the namespace's pods — the
 * authentication half and the network half side by side. ClusterRoleBindings (rights in every namespace) are out of
 * scope: they are not tied to one namespace's isolation.
 */
import { LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../api/types.ts';
import type { BlockedBy, EvaluatorOptions } from '../netpol/index.ts';
import { createEvaluator, formatPortSet, serviceAccountReach } from '../netpol/index.ts';
import type { Snapshot } from './snapshot.ts';
import { compareStrings } from '../plan/order.ts';

export interface ActorAnswer {
    roleBinding: string;
    managed: boolean;
    role: string;
    subject: { kind: string; name: string; namespace?: string };
    /** ServiceAccount subjects only. */
    network?: { path: boolean; ports: string; blockedBy?: BlockedBy; blockingPolicies: string[] };
}

export interface WhoCanActAnswer {
    namespace: string;
    governedBy?: string;
    actors: ActorAnswer[];
    /** ServiceAccount subjects without a network path. */
    withoutPath: number;
}

export function explainWhoCanAct(
    s: Snapshot,
    namespace: string,
    options: EvaluatorOptions = {},
): WhoCanActAnswer {
    const ev = createEvaluator({ namespaces: s.namespaces, policies: s.policies }, options);
    const actors: ActorAnswer[] = [];
    const bindings = s.roleBindings
        .filter((rb) => rb.metadata.namespace === namespace)
        .sort((a, b) => compareStrings(a.metadata.name, b.metadata.name));
    for (const rb of bindings) {
        for (const subj of rb.subjects ?? []) {
            const actor: ActorAnswer = {
                roleBinding: rb.metadata.name,
                managed: rb.metadata.labels?.[LABEL_MANAGED_BY] === MANAGED_BY_VALUE,
                role: rb.roleRef ? `${rb.roleRef.kind}/${rb.roleRef.name}` : '',
                subject: { kind: subj.kind, name: subj.name },
            };
            if (subj.kind === 'ServiceAccount') {
                const saNs = subj.namespace || namespace;
                actor.subject.namespace = saNs;
                const r = serviceAccountReach(ev, s.policies, s.pods, saNs, subj.name, namespace);
                actor.network = {
                    path: r.path,
                    ports: formatPortSet(r.ports),
                    blockingPolicies: r.blockingPolicies,
                };
                if (r.blockedBy) actor.network.blockedBy = r.blockedBy;
            }
            actors.push(actor);
        }
    }
    const answer: WhoCanActAnswer = {
        namespace,
        actors,
        withoutPath: actors.filter((a) => a.network && !a.network.path).length,
    };
    const gov = s.governance.get(namespace);
    if (gov) answer.governedBy = gov;
    return answer;
}
