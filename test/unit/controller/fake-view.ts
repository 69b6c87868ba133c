/**
 * A ClusterView double holding profiles and ClusterRoles only (no namespaces, no generated objects), for unit tests
 * of code that resolves references or summarises profiles. Counts `profiles()` calls so tests can see work done.
 */
import type { V1ClusterRole } from '@kubernetes/client-node';

import type { IsolationProfile } from '../../../src/api/types.ts';
import type { ClusterView } from '../../../src/controller/ports.ts';

export function fakeView(
    profiles: IsolationProfile[],
    roles: string[] = [],
): ClusterView & { reads: number } {
    const byName = new Map(profiles.map((x) => [x.metadata.name, x]));
    const v = {
        reads: 0,
        profiles: () => {
            v.reads++;
            return profiles;
        },
        profile: (n: string) => byName.get(n),
        namespaces: () => [],
        namespace: () => undefined,
        serviceAccounts: () => [],
        networkPolicies: () => [],
        roleBindings: () => [],
        generatedFor: () => [],
        clusterRole: (n: string): V1ClusterRole | undefined =>
            roles.includes(n) ? { metadata: { name: n } } : undefined,
        foreignObjects: () => [],
    };
    return v;
}
