import assert from 'node:assert/strict';
import type { IsolationProfileSpec } from '../../../src/api/types.ts';
import { DEFAULT_PLAN_SETTINGS, plan, resolvePlanSettings } from '../../../src/plan/index.ts';
import { profile } from './fixtures.ts';

const NS = 'payments-prod';

const fullSpec: Partial<IsolationProfileSpec> = {
    namespaces: { names: [NS] },
    network: {
        ingress: [{ name: 'from-web', from: [{ profile: 'web' }] }],
        egress: [{ name: 'to-db', to: [{ cidr: '10.30.0.0/16' }] }],
    },
    access: [
        {
            name: 'developers',
            roleRef: { kind: 'ClusterRole', name: 'edit' },
            subjects: [{ kind: 'ServiceAccount', namespace: 'ci', name: 'deployer' }],
            network: {},
        },
    ],
    serviceAccounts: [{ name: 'readers', names: ['reader'], roleRef: { kind: 'ClusterRole', name: 'view' } }],
};

const tracked = profile('payments', fullSpec, {
    uid: 'abc-123',
    labels: { 'argocd.argoproj.io/instance': 'payments', 'kustomize.toolkit.fluxcd.io/name': 'x', team: 'p' },
    annotations: {
        'argocd.argoproj.io/tracking-id': 'payments:isolation.dev/IsolationProfile:payments',
        note: 'n',
    },
});

const objects = plan({ namespace: { name: NS }, profile: tracked, serviceAccounts: [{ name: 'reader' }] });

describe('plan/desired', () => {
    it('plans nothing for a namespace outside the profile tenant, and tenant-scoped peers inside it', () => {
        const tenantProfile = profile('payments', { ...fullSpec, tenant: 'payments' });
        const outside = plan({ namespace: { name: NS }, profile: tenantProfile, serviceAccounts: [] });
        assert.deepEqual(outside, []);
        const inside = plan({
            namespace: { name: NS, labels: { 'isolation.dev/tenant': 'payments' } },
            profile: tenantProfile,
            serviceAccounts: [],
        });
        const ingress = inside.find((o) => o.metadata.name === 'isolation-ingress-from-web');
        assert.ok(ingress && ingress.kind === 'NetworkPolicy');
        assert.deepEqual(ingress.spec.ingress?.[0]?.from?.[0]?.namespaceSelector, {
            matchLabels: { 'isolation.dev/profile': 'web', 'isolation.dev/tenant': 'payments' },
        });
    });

    it('plans every object of DESIGN §2, NetworkPolicies first, each kind sorted by name', () => {
        assert.deepEqual(
            objects.map((o) => `${o.kind}/${o.metadata.name}`),
            [
                'NetworkPolicy/isolation-access-developers',
                'NetworkPolicy/isolation-default-deny',
                'NetworkPolicy/isolation-dns',
                'NetworkPolicy/isolation-egress-to-db',
                'NetworkPolicy/isolation-ingress-from-web',
                'NetworkPolicy/isolation-same-namespace',
                'RoleBinding/isolation-access-developers',
                'RoleBinding/isolation-sa-readers',
            ],
        );
    });

    it('sets apiVersion, kind, name and namespace on every object', () => {
        for (const o of objects) {
            assert.equal(
                o.apiVersion,
                o.kind === 'NetworkPolicy' ? 'networking.k8s.io/v1' : 'rbac.authorization.k8s.io/v1',
            );
            assert.equal(o.metadata.namespace, NS);
            assert.ok(o.metadata.name.startsWith('isolation-'));
        }
    });

    it('labels every object with managed-by and the profile, and copies nothing from the profile', () => {
        for (const o of objects) {
            assert.deepEqual(o.metadata.labels, {
                'app.kubernetes.io/managed-by': 'isolation-operator',
                'isolation.dev/profile': 'payments',
            });
            assert.equal('annotations' in o.metadata, false);
        }
        assert.equal(JSON.stringify(objects).includes('argocd'), false);
        assert.equal(JSON.stringify(objects).includes('fluxcd'), false);
    });

    it('sets a controller ownerReference to the profile', () => {
        for (const o of objects) {
            assert.deepEqual(o.metadata.ownerReferences, [
                {
                    apiVersion: 'isolation.dev/v1alpha1',
                    kind: 'IsolationProfile',
                    name: 'payments',
                    uid: 'abc-123',
                    controller: true,
                    blockOwnerDeletion: true,
                },
            ]);
        }
    });

    it('omits ownerReferences when the profile has no uid (offline rendering)', () => {
        const offline = profile('payments', fullSpec, { uid: undefined });
        const out = plan({ namespace: { name: NS }, profile: offline, serviceAccounts: [] });
        assert.ok(out.length > 0);
        for (const o of out) assert.equal(o.metadata.ownerReferences, undefined);
    });

    it('plans nothing without a profile or for a never-govern namespace', () => {
        assert.deepEqual(plan({ namespace: { name: NS }, profile: null, serviceAccounts: [] }), []);
        for (const name of ['kube-system', 'kube-public', 'kube-node-lease', 'isolation-system']) {
            const p = profile('p', { namespaces: { names: [name] } });
            assert.deepEqual(plan({ namespace: { name }, profile: p, serviceAccounts: [] }), [], name);
        }
        const custom = plan({
            namespace: { name: 'ops' },
            profile: profile('p', { namespaces: { names: ['ops'] } }),
            serviceAccounts: [],
            settings: { operatorNamespace: 'ops' },
        });
        assert.deepEqual(custom, []);
    });

    it('is deterministic: same input in another order gives identical output, and input is not mutated', () => {
        const spec = JSON.stringify(tracked.spec);
        const again = plan({
            namespace: { name: NS },
            profile: tracked,
            serviceAccounts: [{ name: 'other' }, { name: 'reader' }],
        });
        assert.equal(JSON.stringify(again), JSON.stringify(objects));
        assert.equal(JSON.stringify(tracked.spec), spec);
    });

    it('keeps the first of two rules with the same name (never two objects of one kind and name)', () => {
        const dup = profile('p', {
            network: {
                ingress: [
                    { name: 'same', from: [{ profile: 'a' }] },
                    { name: 'same', from: [{ profile: 'b' }] },
                ],
            },
        });
        const out = plan({ namespace: { name: NS }, profile: dup, serviceAccounts: [] });
        const same = out.filter((o) => o.metadata.name === 'isolation-ingress-same');
        assert.equal(same.length, 1);
        assert.ok(JSON.stringify(same[0]).includes('"isolation.dev/profile":"a"'));
    });

    it('documents its settings defaults', () => {
        assert.deepEqual(resolvePlanSettings(), {
            dnsNamespace: 'kube-system',
            dnsPodLabels: { 'k8s-app': 'kube-dns' },
            neverGovern: ['kube-system', 'kube-public', 'kube-node-lease'],
            operatorNamespace: 'isolation-system',
            dnsPorts: [53],
            nodeLocalDNS: [],
            alignment: 'report',
        });
        assert.equal(Object.isFrozen(DEFAULT_PLAN_SETTINGS), true);
        assert.equal(resolvePlanSettings({ dnsNamespace: 'dns' }).dnsNamespace, 'dns');
    });
});

describe('plan: DNS settings', () => {
    const dnsPolicy = (settings: Parameters<typeof plan>[0]['settings']) =>
        plan({
            namespace: { name: 'app' },
            profile: {
                metadata: { name: 'p', uid: 'u' },
                spec: { namespaces: { names: ['app'] } },
            },
            serviceAccounts: [],
            settings,
        }).find((o) => o.metadata.name === 'isolation-dns');

    it('keeps the default DNS rule exactly UDP and TCP 53 to the DNS pods', () => {
        const p = dnsPolicy({});
        assert.ok(p && p.kind === 'NetworkPolicy');
        assert.deepEqual(p.spec.egress, [
            {
                to: [
                    {
                        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
                        podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
                    },
                ],
                ports: [
                    { protocol: 'UDP', port: 53 },
                    { protocol: 'TCP', port: 53 },
                ],
            },
        ]);
    });

    it('allows settable DNS ports and a NodeLocal DNS cache address as an ipBlock on the same ports', () => {
        const p = dnsPolicy({
            dnsPorts: [53, 5353],
            nodeLocalDNS: ['169.254.20.10', 'fd00::a', '10.96.0.10/32'],
        });
        assert.ok(p && p.kind === 'NetworkPolicy');
        const rule = p.spec.egress![0]!;
        assert.deepEqual(rule.to!.slice(1), [
            { ipBlock: { cidr: '169.254.20.10/32' } },
            { ipBlock: { cidr: 'fd00::a/128' } },
            { ipBlock: { cidr: '10.96.0.10/32' } },
        ]);
        assert.deepEqual(rule.ports, [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
            { protocol: 'UDP', port: 5353 },
            { protocol: 'TCP', port: 5353 },
        ]);
    });
});
