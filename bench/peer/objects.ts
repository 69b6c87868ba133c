/**
 * The side-by-side workload, as pure data: the same five objects per namespace for the operator and for HNC —
 * default-deny, two allow NetworkPolicies (same namespace, DNS) and two RoleBindings (Group subjects).
 *
 * Design choice: the objects come from the operator's own planner. The operator gets a profile that plans exactly
 * these five; HNC gets the same five planned for its parent namespace, stripped of the operator's labels, as source
 * objects to propagate. So both controllers write objects with the same names and the same specs, and the converge
 * clock of both waits for the same (kind, namespace, name) keys.
 */
import type { KubernetesObject } from '@kubernetes/client-node';

import { API_VERSION, KIND } from '../../src/api/types.ts';
import type { IsolationProfile } from '../../src/api/types.ts';
import { plan } from '../../src/plan/index.ts';
import type { DesiredObject } from '../../src/plan/index.ts';
import { MEMBER_LABEL, namespaceObject } from '../fixture.ts';

export const PEER_PROFILE_NAME = 'peer';
/** Objects per namespace both controllers must create. */
export const OBJECTS_PER_NAMESPACE = 5;

export function peerProfile(member: string): IsolationProfile {
    return {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name: PEER_PROFILE_NAME },
        spec: {
            namespaces: { selector: { matchLabels: { [MEMBER_LABEL]: member } } },
            network: {
                defaultDeny: { ingress: true, egress: true },
                allowSameNamespace: true,
                allowDNS: true,
            },
            access: [
                {
                    name: 'developers',
                    roleRef: { kind: 'ClusterRole', name: 'edit' },
                    subjects: [{ kind: 'Group', name: 'bench-devs' }],
                },
                {
                    name: 'viewers',
                    roleRef: { kind: 'ClusterRole', name: 'view' },
                    subjects: [{ kind: 'Group', name: 'bench-viewers' }],
                },
            ],
        },
    };
}

/**
 * The same profile before the trigger: the same namespaces, nothing generated (no default-deny, no allow rules, no
 * access). The operator governs and labels the members, as HNC's hierarchy is set and labelled before its trigger;
 * the trigger then declares the five objects (peerProfile's spec).
 */
export function membershipProfile(member: string): IsolationProfile {
    const full = peerProfile(member);
    return {
        ...full,
        spec: {
            namespaces: full.spec.namespaces,
            network: {
                defaultDeny: { ingress: false, egress: false },
                allowSameNamespace: false,
                allowDNS: false,
            },
        },
    };
}

/** The five objects the operator plans for a member namespace (its own planner, default settings). */
export function peerObjects(namespace: string, member: string): DesiredObject[] {
    const out = plan({
        namespace: { name: namespace, labels: namespaceObject(namespace, '', member).metadata!.labels! },
        profile: peerProfile(member),
        serviceAccounts: [],
    });
    if (out.length !== OBJECTS_PER_NAMESPACE)
        throw new Error(`the peer profile plans ${out.length} objects, expected ${OBJECTS_PER_NAMESPACE}`);
    return out;
}

/** The same five objects as plain sources in `parent` for HNC to propagate (no operator labels). */
export function hncSourceObjects(parent: string, member: string): KubernetesObject[] {
    return peerObjects(parent, member).map((o) => {
        const { labels: _labels, ...metadata } = o.metadata;
        return { ...o, metadata: { ...metadata, namespace: parent } };
    });
}
