import assert from 'node:assert/strict';
import type { IsolationProfileSpec } from '../../../src/api/types.ts';
import type { RoleBindingObject, ServiceAccountInfo } from '../../../src/plan/index.ts';
import { matchingServiceAccounts, plan } from '../../../src/plan/index.ts';
import { profile } from './fixtures.ts';

const NS = 'team-a';

function bindings(
    spec: Partial<IsolationProfileSpec>,
    serviceAccounts: ServiceAccountInfo[] = [],
): Map<string, RoleBindingObject> {
    const out = new Map<string, RoleBindingObject>();
    const objects = plan({
        namespace: { name: NS },
        profile: profile('p', { namespaces: { names: [NS] }, ...spec }),
        serviceAccounts,
    });
    for (const o of objects) if (o.kind === 'RoleBinding') out.set(o.metadata.name, o);
    return out;
}

describe('plan/rolebindings', () => {
    describe('isolation-access-<entry>', () => {
        const spec: Partial<IsolationProfileSpec> = {
            access: [
                {
                    name: 'developers',
                    roleRef: { kind: 'ClusterRole', name: 'edit' },
                    subjects: [
                        { kind: 'Group', name: 'payments-devs' },
                        { kind: 'User', name: 'alice@example.com' },
                        { kind: 'ServiceAccount', namespace: 'ci', name: 'deployer' },
                        { kind: 'User', name: 'alice@example.com' },
                    ],
                },
                {
                    name: 'local',
                    roleRef: { kind: 'Role', name: 'reader' },
                    subjects: [{ kind: 'ServiceAccount', name: 'bot' }],
                },
            ],
        };

        it('binds the role with explicit apiGroups and keeps the SA namespace', () => {
            const rb = bindings(spec).get('isolation-access-developers');
            assert.ok(rb);
            assert.equal(rb.apiVersion, 'rbac.authorization.k8s.io/v1');
            assert.equal(rb.metadata.namespace, NS);
            assert.deepEqual(rb.roleRef, {
                apiGroup: 'rbac.authorization.k8s.io',
                kind: 'ClusterRole',
                name: 'edit',
            });
            assert.deepEqual(rb.subjects, [
                { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'payments-devs' },
                { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice@example.com' },
                { kind: 'ServiceAccount', name: 'deployer', namespace: 'ci' },
            ]);
        });

        it('supports a namespaced Role and writes the governed namespace for an SA without one', () => {
            const rb = bindings(spec).get('isolation-access-local');
            assert.deepEqual(rb?.roleRef, {
                apiGroup: 'rbac.authorization.k8s.io',
                kind: 'Role',
                name: 'reader',
            });
            assert.deepEqual(rb?.subjects, [{ kind: 'ServiceAccount', name: 'bot', namespace: NS }]);
        });
    });

    describe('isolation-sa-<entry>', () => {
        const sas: ServiceAccountInfo[] = [
            { name: 'zeta', labels: { 'isolation.dev/role': 'reader' } },
            { name: 'alpha', labels: { 'isolation.dev/role': 'reader' } },
            { name: 'writer', labels: { 'isolation.dev/role': 'writer' } },
            { name: 'default' },
        ];
        const bySelector: Partial<IsolationProfileSpec> = {
            serviceAccounts: [
                {
                    name: 'readers',
                    selector: { matchLabels: { 'isolation.dev/role': 'reader' } },
                    roleRef: { kind: 'ClusterRole', name: 'view' },
                },
            ],
        };

        it('binds the matching ServiceAccounts of the namespace, sorted by name', () => {
            const rb = bindings(bySelector, sas).get('isolation-sa-readers');
            assert.deepEqual(rb?.roleRef, {
                apiGroup: 'rbac.authorization.k8s.io',
                kind: 'ClusterRole',
                name: 'view',
            });
            assert.deepEqual(rb?.subjects, [
                { kind: 'ServiceAccount', name: 'alpha', namespace: NS },
                { kind: 'ServiceAccount', name: 'zeta', namespace: NS },
            ]);
        });

        it('matches by names OR selector, without duplicates', () => {
            const entry = {
                name: 'e',
                names: ['default', 'alpha', 'missing'],
                selector: { matchLabels: { 'isolation.dev/role': 'reader' } },
                roleRef: { kind: 'ClusterRole' as const, name: 'view' },
            };
            assert.deepEqual(matchingServiceAccounts(entry, sas), ['alpha', 'default', 'zeta']);
        });

        it('matches nothing when neither names nor selector is set', () => {
            assert.deepEqual(
                matchingServiceAccounts({ name: 'e', roleRef: { kind: 'ClusterRole', name: 'v' } }, sas),
                [],
            );
        });

        it('generates no RoleBinding when no ServiceAccount matches', () => {
            assert.equal(bindings(bySelector, [{ name: 'default' }]).has('isolation-sa-readers'), false);
        });

        it('does not depend on the order of the ServiceAccounts', () => {
            const a = bindings(bySelector, sas).get('isolation-sa-readers');
            const b = bindings(bySelector, [...sas].reverse()).get('isolation-sa-readers');
            assert.deepEqual(a, b);
        });
    });
});
