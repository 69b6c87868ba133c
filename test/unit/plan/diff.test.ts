import assert from 'node:assert/strict';
import type { IsolationProfileSpec } from '../../../src/api/types.ts';
import type { DesiredObject, NetworkPolicyObject, RoleBindingObject } from '../../../src/plan/index.ts';
import {
    differences,
    isOwnFieldManager,
    lastForeignManager,
    needsApply,
    plan,
    planActions,
    prunable,
    requiresReplace,
    toPlannedActions,
} from '../../../src/plan/index.ts';
import { clone, profile, serverCopy, withUndefinedOptionals } from './fixtures.ts';

const NS = 'payments-prod';

const specs: Record<string, Partial<IsolationProfileSpec>> = {
    defaults: {},
    full: {
        network: {
            ingress: [
                {
                    name: 'from-web',
                    pods: {
                        matchLabels: { app: 'api' },
                        matchExpressions: [{ key: 'tier', operator: 'Exists' }],
                    },
                    from: [
                        { profile: 'web' },
                        {
                            namespaces: { names: ['ingress-nginx'] },
                            pods: { matchLabels: { app: 'controller' } },
                        },
                        { serviceAccount: { namespace: 'monitoring', name: 'prometheus' } },
                        { cidr: '10.20.0.0/16', except: ['10.20.1.0/24'] },
                    ],
                    ports: [
                        { port: 8080, endPort: 8089 },
                        { port: 'metrics' },
                        { protocol: 'UDP', port: 9000 },
                    ],
                },
                { name: 'open' },
            ],
            egress: [
                { name: 'to-db', to: [{ cidr: '10.30.0.0/16' }], ports: [{ protocol: 'TCP', port: 5432 }] },
            ],
        },
        access: [
            {
                name: 'developers',
                roleRef: { kind: 'ClusterRole', name: 'edit' },
                subjects: [
                    { kind: 'Group', name: 'devs' },
                    { kind: 'User', name: 'alice' },
                    { kind: 'ServiceAccount', namespace: 'ci', name: 'deployer' },
                ],
                network: { ports: [{ port: 8080 }] },
            },
        ],
        serviceAccounts: [
            { name: 'readers', names: ['reader'], roleRef: { kind: 'ClusterRole', name: 'view' } },
        ],
    },
    openDirections: {
        network: {
            defaultDeny: { ingress: false, egress: false },
            ingress: [{ name: 'i', from: [{ profile: 'x' }] }],
            egress: [{ name: 'e', to: [{ namespaces: { selector: {} } }] }],
        },
    },
    ingressOnly: { network: { defaultDeny: { ingress: true, egress: false } } },
};

function planOf(spec: Partial<IsolationProfileSpec>): DesiredObject[] {
    return plan({
        namespace: { name: NS },
        profile: profile('payments', { namespaces: { names: [NS] }, ...spec }),
        serviceAccounts: [{ name: 'reader' }],
    });
}

const full = planOf(specs.full!);

function find<K extends DesiredObject['kind']>(kind: K, name: string): Extract<DesiredObject, { kind: K }> {
    const o = full.find((x) => x.kind === kind && x.metadata.name === name);
    assert.ok(o, `${kind}/${name}`);
    return o as Extract<DesiredObject, { kind: K }>;
}

type Live = Record<string, unknown> & { metadata: Record<string, unknown> };

describe('plan/diff', () => {
    describe('needsApply is false on server-defaulted copies', () => {
        for (const [label, spec] of Object.entries(specs)) {
            it(`for every object of the "${label}" plan`, () => {
                const objects = planOf(spec);
                assert.ok(objects.length > 0);
                for (const o of objects) {
                    assert.deepEqual(differences(o, serverCopy(o)), [], `${o.kind}/${o.metadata.name}`);
                    assert.equal(
                        needsApply(o, withUndefinedOptionals(serverCopy(o))),
                        false,
                        `${o.metadata.name} (typed model)`,
                    );
                }
            });
        }

        it('when the live ports carry no protocol (TCP default)', () => {
            const np = find('NetworkPolicy', 'isolation-egress-to-db');
            const live = serverCopy(np) as Live;
            const spec = live.spec as { egress: { ports: Record<string, unknown>[] }[] };
            delete spec.egress[0]!.ports[0]!.protocol;
            assert.equal(needsApply(np, live), false);
        });

        it('when the live object has no policyTypes that the server would default to the same value', () => {
            const np = find('NetworkPolicy', 'isolation-ingress-open');
            const live = serverCopy(np) as Live;
            delete (live.spec as Record<string, unknown>).policyTypes;
            assert.equal(needsApply(np, live), false);
        });

        it('when policyTypes come back in another order', () => {
            const np = find('NetworkPolicy', 'isolation-default-deny');
            const live = serverCopy(np) as Live;
            (live.spec as Record<string, unknown>).policyTypes = ['Egress', 'Ingress'];
            assert.equal(needsApply(np, live), false);
        });

        it('when empty lists come back instead of absent ones, and vice versa', () => {
            const np = find('NetworkPolicy', 'isolation-default-deny');
            const live = serverCopy(np) as Live;
            Object.assign(live.spec as object, {
                ingress: [],
                egress: [],
                podSelector: { matchLabels: {}, matchExpressions: [] },
            });
            assert.equal(needsApply(np, live), false);
            const open = find('NetworkPolicy', 'isolation-ingress-open');
            const live2 = serverCopy(open) as Live;
            (live2.spec as { ingress: unknown[] }).ingress = [{ from: [], ports: [] }];
            assert.equal(needsApply(open, live2), false);
        });

        it('when RoleBinding apiGroups are server-defaulted or empty for ServiceAccounts', () => {
            const rb = find('RoleBinding', 'isolation-access-developers');
            const live = serverCopy(rb) as Live;
            (live.roleRef as Record<string, unknown>).apiGroup = undefined;
            const subjects = live.subjects as Record<string, unknown>[];
            delete subjects[0]!.apiGroup;
            subjects[2]!.apiGroup = '';
            assert.equal(needsApply(rb, live), false);
        });

        it('when other managers add labels, owners, annotations and status', () => {
            const np = find('NetworkPolicy', 'isolation-dns');
            const live = serverCopy(np) as Live;
            live.metadata.annotations = { 'kubectl.kubernetes.io/last-applied-configuration': '{}' };
            (live.metadata.ownerReferences as unknown[]).push({
                apiVersion: 'v1',
                kind: 'ConfigMap',
                name: 'x',
                uid: 'y',
            });
            live.status = {};
            assert.equal(needsApply(np, live), false);
        });
    });

    describe('needsApply is true on a real change', () => {
        const np = () => find('NetworkPolicy', 'isolation-ingress-from-web');
        type Spec = {
            podSelector: Record<string, unknown>;
            policyTypes: string[];
            ingress: { from: Record<string, unknown>[]; ports: Record<string, unknown>[] }[];
        };
        const mutate = (f: (spec: Spec, live: Live) => void): string[] => {
            const live = serverCopy(np()) as Live;
            f(live.spec as Spec, live);
            return differences(np(), live);
        };

        it('a changed or removed port, protocol or endPort', () => {
            assert.deepEqual(
                mutate((s) => (s.ingress[0]!.ports[0]!.port = 8081)),
                ['spec'],
            );
            assert.deepEqual(
                mutate((s) => (s.ingress[0]!.ports[2]!.protocol = 'TCP')),
                ['spec'],
            );
            assert.deepEqual(
                mutate((s) => delete s.ingress[0]!.ports[0]!.endPort),
                ['spec'],
            );
            assert.deepEqual(
                mutate((s) => s.ingress[0]!.ports.pop()),
                ['spec'],
            );
        });

        it('a removed peer, or a pod selector split into its own peer (AND became OR)', () => {
            assert.deepEqual(
                mutate((s) => s.ingress[0]!.from.pop()),
                ['spec'],
            );
            assert.deepEqual(
                mutate((s) => {
                    const peer = s.ingress[0]!.from[1]!;
                    s.ingress[0]!.from.splice(
                        1,
                        1,
                        { namespaceSelector: peer.namespaceSelector },
                        { podSelector: peer.podSelector },
                    );
                }),
                ['spec'],
            );
        });

        it('a peer podSelector {} added where none was (presence matters)', () => {
            assert.deepEqual(
                mutate((s) => (s.ingress[0]!.from[0]!.podSelector = {})),
                ['spec'],
            );
        });

        it('changed target pods, policyTypes or rules emptied', () => {
            assert.deepEqual(
                mutate((s) => (s.podSelector = {})),
                ['spec'],
            );
            assert.deepEqual(
                mutate((s) => (s.policyTypes = ['Ingress', 'Egress'])),
                ['spec'],
            );
            assert.deepEqual(
                mutate((s) => (s.ingress = [])),
                ['spec'],
            );
        });

        it('a label of ours changed or removed', () => {
            assert.deepEqual(
                mutate(
                    (_s, live) =>
                        (live.metadata.labels = { 'app.kubernetes.io/managed-by': 'isolation-operator' }),
                ),
                ['metadata.labels'],
            );
        });

        it('our ownerReference missing, pointing elsewhere, or joined by another profile', () => {
            assert.deepEqual(
                mutate((_s, live) => delete live.metadata.ownerReferences),
                ['metadata.ownerReferences'],
            );
            assert.deepEqual(
                mutate(
                    (_s, live) =>
                        ((live.metadata.ownerReferences as Record<string, unknown>[])[0]!.uid = 'other'),
                ),
                ['metadata.ownerReferences'],
            );
            assert.deepEqual(
                mutate((_s, live) =>
                    (live.metadata.ownerReferences as unknown[]).push({
                        apiVersion: 'isolation.dev/v1alpha1',
                        kind: 'IsolationProfile',
                        name: 'old',
                        uid: 'old-uid',
                        controller: false,
                    }),
                ),
                ['metadata.ownerReferences'],
            );
        });

        it('RoleBinding subjects changed', () => {
            const rb = find('RoleBinding', 'isolation-sa-readers');
            const live = serverCopy(rb) as Live;
            (live.subjects as unknown[]).push({ kind: 'ServiceAccount', name: 'intruder', namespace: NS });
            assert.deepEqual(differences(rb, live), ['subjects']);
            assert.equal(requiresReplace(rb, live), false);
        });

        it('RoleBinding roleRef changed: needs a replace (roleRef is immutable)', () => {
            const rb = find('RoleBinding', 'isolation-access-developers');
            const live = serverCopy(rb) as Live;
            (live.roleRef as Record<string, unknown>).name = 'admin';
            assert.deepEqual(differences(rb, live), ['roleRef']);
            assert.equal(requiresReplace(rb, live), true);
            assert.equal(requiresReplace(rb, serverCopy(rb)), false);
        });
    });

    describe('prunable', () => {
        const managed = (name: string) => ({
            metadata: {
                name,
                namespace: NS,
                labels: { 'app.kubernetes.io/managed-by': 'isolation-operator' },
            },
        });
        const foreign = { metadata: { name: 'isolation-handmade', namespace: NS, labels: { team: 'x' } } };

        it('returns generated objects that are no longer desired, sorted by name', () => {
            const existing = [
                managed('isolation-z'),
                managed('isolation-dns'),
                foreign,
                managed('isolation-a'),
            ];
            assert.deepEqual(
                prunable(existing, ['isolation-dns']).map((o) => o.metadata.name),
                ['isolation-a', 'isolation-z'],
            );
        });

        it('never prunes objects without our managed-by label', () => {
            assert.deepEqual(prunable([foreign], []), []);
        });
    });

    describe('planActions', () => {
        it('costs zero actions on a converged namespace', () => {
            const existing = {
                networkPolicies: full.filter((o) => o.kind === 'NetworkPolicy').map(serverCopy),
                roleBindings: full.filter((o) => o.kind === 'RoleBinding').map(serverCopy),
            };
            assert.deepEqual(planActions(full, existing), {
                create: [],
                update: [],
                replace: [],
                delete: [],
            });
        });

        it('sorts objects into create, update, replace and delete per kind', () => {
            const nps = full.filter((o): o is NetworkPolicyObject => o.kind === 'NetworkPolicy');
            const rbs = full.filter((o): o is RoleBindingObject => o.kind === 'RoleBinding');
            const drifted = serverCopy(nps[1]!);
            (drifted.spec as Record<string, unknown>).policyTypes = ['Ingress'];
            const rbLive = serverCopy(rbs[0]!);
            (rbLive.roleRef as Record<string, unknown>).name = 'admin';
            const stale = serverCopy(clone(nps[0]!));
            (stale.metadata as Record<string, unknown>).name = 'isolation-ingress-removed';
            const staleRb = serverCopy(clone(rbs[1]!));
            (staleRb.metadata as Record<string, unknown>).name = 'isolation-access-developers-old';

            const actions = planActions(full, {
                // nps[0] shares its name with a RoleBinding: kinds must not be confused
                networkPolicies: [drifted, ...nps.slice(2).map(serverCopy), stale],
                roleBindings: [rbLive, staleRb],
            });
            assert.deepEqual(
                actions.create.map((o) => `${o.kind}/${o.metadata.name}`),
                [`NetworkPolicy/${nps[0]!.metadata.name}`, `RoleBinding/${rbs[1]!.metadata.name}`],
            );
            assert.deepEqual(
                actions.update.map((c) => c.desired.metadata.name),
                [nps[1]!.metadata.name],
            );
            assert.equal(actions.update[0]!.live, drifted, 'the live object comes along');
            assert.deepEqual(
                actions.replace.map((c) => c.desired.metadata.name),
                [rbs[0]!.metadata.name],
            );
            assert.deepEqual(
                actions.delete.map(({ kind, namespace, name }) => ({ kind, namespace, name })),
                [
                    { kind: 'NetworkPolicy', namespace: NS, name: 'isolation-ingress-removed' },
                    { kind: 'RoleBinding', namespace: NS, name: 'isolation-access-developers-old' },
                ],
            );

            const planned = toPlannedActions(actions);
            assert.deepEqual(
                planned.map((p) => `${p.action} ${p.kind}/${p.name}`),
                [
                    `create NetworkPolicy/${nps[0]!.metadata.name}`,
                    `create RoleBinding/${rbs[1]!.metadata.name}`,
                    `update NetworkPolicy/${nps[1]!.metadata.name}`,
                    `delete RoleBinding/${rbs[0]!.metadata.name}`,
                    `create RoleBinding/${rbs[0]!.metadata.name}`,
                    'delete NetworkPolicy/isolation-ingress-removed',
                    'delete RoleBinding/isolation-access-developers-old',
                ],
            );
            assert.ok(planned.every((p) => p.namespace === NS));
        });

        it('deletes everything generated when nothing is desired', () => {
            const existing = {
                networkPolicies: full.filter((o) => o.kind === 'NetworkPolicy').map(serverCopy),
                roleBindings: [],
            };
            assert.equal(planActions([], existing).delete.length, existing.networkPolicies.length);
        });
    });

    describe('lastForeignManager', () => {
        it('names the most recent manager other than the operator', () => {
            const live = serverCopy(full[0]!);
            const fields = live.metadata as { managedFields: unknown[] };
            fields.managedFields.push(
                { manager: 'kubectl-edit', operation: 'Update', time: '2025-03-01T00:00:00Z' },
                { manager: 'argocd-controller', operation: 'Apply', time: '2025-02-15T00:00:00Z' },
            );
            assert.deepEqual(lastForeignManager(live), {
                manager: 'kubectl-edit',
                operation: 'Update',
                time: '2025-03-01T00:00:00Z',
            });
        });

        it("ignores every one of the operator's own managers, and only those", () => {
            const live = serverCopy(full[0]!);
            (live.metadata as { managedFields: unknown[] }).managedFields = [
                { manager: 'isolation-operatorx', operation: 'Update', time: '2025-01-01T00:00:00Z' },
                { manager: 'isolation-operator-namespace', operation: 'Apply', time: '2025-02-01T00:00:00Z' },
                { manager: 'isolation-operator-status', operation: 'Update', time: '2025-03-01T00:00:00Z' },
                { manager: 'isolation-operator', operation: 'Apply', time: '2025-04-01T00:00:00Z' },
            ];
            assert.equal(lastForeignManager(live)?.manager, 'isolation-operatorx');
            for (const m of ['isolation-operator', 'isolation-operator-finalizer'])
                assert.ok(isOwnFieldManager(m));
            assert.ok(!isOwnFieldManager('isolation-operatorx'));
        });

        it('takes the later of two entries with the same time, and a Date time like a string', () => {
            const live = serverCopy(full[0]!);
            (live.metadata as { managedFields: unknown[] }).managedFields = [
                { manager: 'a', operation: 'Update', time: new Date('2025-01-01T00:00:00Z') },
                { manager: 'b', operation: 'Update', time: '2025-01-01T00:00:00Z' },
            ];
            assert.equal(lastForeignManager(live)?.manager, 'b');
        });

        it('returns null when only the operator manages the object', () => {
            assert.equal(lastForeignManager(serverCopy(full[0]!)), null);
            assert.equal(lastForeignManager({}), null);
        });
    });
});

describe('diff: client-node model shapes', () => {
    it('treats a typed model rule (`_from`) like the wire shape (`from`)', async () => {
        const { plan, needsApply } = await import('../../../src/plan/index.ts');
        const objects = plan({
            namespace: { name: 'ns', labels: {} },
            profile: {
                metadata: { name: 'p', uid: 'u', creationTimestamp: '2026-01-01T00:00:00Z' },
                spec: { namespaces: { names: ['ns'] } },
            },
            serviceAccounts: [],
        });
        const same = objects.find((o) => o.metadata.name === 'isolation-same-namespace')!;
        const typed = JSON.parse(JSON.stringify(same).replace(/"from":/g, '"_from":')) as unknown;
        assert.equal(needsApply(same, typed), false);
        const lost = JSON.parse(JSON.stringify(same).replace(/"from":\[[^\]]*\]/g, '"from":[]')) as unknown;
        assert.equal(needsApply(same, lost), true, 'a rule that lost its peers must be re-applied');
    });
});
