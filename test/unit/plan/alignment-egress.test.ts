/**
 * `alignment: add-egress`: the egress half of an access grant to ServiceAccounts living in a namespace of the same
 * profile, checked both as planned objects and with the evaluator (the AlignmentGap disappears).
 */
import assert from 'node:assert/strict';

import type { IsolationProfile } from '../../../src/api/types.ts';
import { plannedCluster } from '../../../src/explain/planned.ts';
import { computeAlignment } from '../../../src/netpol/index.ts';
import { DEFAULT_PLAN_SETTINGS, plan, resolvePlanSettings } from '../../../src/plan/index.ts';
import { profile } from './fixtures.ts';

const NS = 'payments-prod';
const access = {
    access: [
        {
            name: 'jobs',
            roleRef: { kind: 'ClusterRole' as const, name: 'edit' },
            subjects: [
                { kind: 'ServiceAccount' as const, namespace: NS, name: 'runner' },
                { kind: 'ServiceAccount' as const, namespace: 'ci', name: 'deployer' },
            ],
            network: { pods: { matchLabels: { app: 'api' } }, ports: [{ port: 8080 }] },
        },
    ],
};
const p: IsolationProfile = profile('payments', {
    tenant: 'payments',
    namespaces: { names: [NS] },
    network: { allowSameNamespace: false },
    ...access,
});
const ns = { name: NS, labels: { 'isolation.dev/tenant': 'payments' } };

describe('plan: alignment add-egress', () => {
    it('adds isolation-alignment-<entry> for ServiceAccounts of this namespace only, towards the profile pods', () => {
        const objects = plan({
            namespace: ns,
            profile: p,
            serviceAccounts: [],
            settings: resolvePlanSettings({ alignment: 'add-egress' }),
        });
        const np = objects.find((o) => o.metadata.name === 'isolation-alignment-jobs');
        assert.ok(np && np.kind === 'NetworkPolicy');
        assert.deepEqual(np.spec.podSelector, {
            matchExpressions: [{ key: 'isolation.dev/service-account', operator: 'In', values: ['runner'] }],
        });
        assert.deepEqual(np.spec.policyTypes, ['Egress']);
        assert.deepEqual(np.spec.egress, [
            {
                to: [
                    {
                        namespaceSelector: {
                            matchLabels: {
                                'isolation.dev/profile': 'payments',
                                'isolation.dev/tenant': 'payments',
                            },
                        },
                        podSelector: { matchLabels: { app: 'api' } },
                    },
                ],
                ports: [{ protocol: 'TCP', port: 8080 }],
            },
        ]);
    });

    it('adds nothing by default (report)', () => {
        const objects = plan({
            namespace: ns,
            profile: p,
            serviceAccounts: [],
            settings: DEFAULT_PLAN_SETTINGS,
        });
        assert.ok(!objects.some((o) => o.metadata.name.startsWith('isolation-alignment-')));
    });

    it('closes the GrantWithoutPath gap the evaluator finds without it', () => {
        const gaps = (alignment: 'report' | 'add-egress') => {
            const cluster = plannedCluster({
                profiles: [p],
                namespaces: [ns, { name: 'ci' }],
                serviceAccounts: new Map(),
                settings: resolvePlanSettings({ alignment }),
            });
            return (computeAlignment({ ...cluster, profiles: [p] }).get('payments') ?? []).filter(
                (g) => g.kind === 'GrantWithoutPath' && g.serviceAccount?.name === 'runner',
            );
        };
        assert.equal(gaps('report').length, 1, 'the runner cannot leave its namespace without the egress');
        assert.deepEqual(gaps('add-egress'), []);
    });
});
