/**
 * Tenancy and the operator's own bounds (docs/tenancy.md), attacked as a tenant would against a real API server
 * with RBAC on, config/rbac and config/admission installed, and the operator running under its own ServiceAccount.
 *
 * Users are real certificate users: `alice` may claim tenant `shop`, `mallory` tenant `evil`, `ci-bot` may edit
 * `shop` namespaces but claims nothing, `labeller` may write namespaces/status, namespaces/finalize and pods/status.
 * Each attack asserts the exact refusal (policy name and message) or, where the operator is the second line of
 * defence, the positive outcome first (the attacker's profile was observed at its generation, or governs its own
 * namespaces) and then that nothing of the victim changed.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';

import { eventually } from '../support/eventually.ts';
import type { OperatorProcess } from '../support/operator.ts';
import { installOperatorRbac, REPO, startOperatorProcess } from '../support/operator.ts';
import { testEnv } from './env.ts';

const ADMISSION = join(REPO, 'config', 'admission');
const MANAGED = 'app.kubernetes.io/managed-by=isolation-operator';

interface Result {
    code: number;
    stdout: string;
    stderr: string;
}
interface Meta {
    name: string;
    namespace?: string;
    generation?: number;
    labels?: Record<string, string>;
}
interface Condition {
    type: string;
    status: string;
    reason?: string;
    message?: string;
}
interface Obj {
    metadata: Meta;
    spec?: Record<string, unknown>;
    roleRef?: { kind: string; name: string };
    subjects?: { kind: string; name: string }[];
    status?: {
        observedGeneration?: number;
        conditions?: Condition[];
        namespaces?: { selected?: number; enforced?: number; failed?: number };
    };
}

async function kubectl(args: string[], o: { as?: string; input?: unknown } = {}): Promise<Result> {
    const opts: { kubeconfig?: string; input?: string } = {};
    if (o.as) opts.kubeconfig = o.as;
    if (o.input !== undefined) opts.input = typeof o.input === 'string' ? o.input : JSON.stringify(o.input);
    return testEnv().kubectl(args, opts);
}

async function ok(args: string[], o: { as?: string; input?: unknown } = {}): Promise<string> {
    const res = await kubectl(args, o);
    assert.equal(res.code, 0, `kubectl ${args.join(' ')}: ${res.stderr}`);
    return res.stdout;
}

function deniedBy(res: Result, policy: string, message?: RegExp): void {
    assert.notEqual(res.code, 0, `expected a denial by ${policy}, got success: ${res.stdout}`);
    assert.match(res.stderr, new RegExp(`ValidatingAdmissionPolicy '${policy}'`), res.stderr);
    if (message) assert.match(res.stderr, message);
}

async function get(kind: string, name: string, namespace?: string): Promise<Obj | undefined> {
    const res = await kubectl(['get', kind, name, '-o', 'json', ...(namespace ? ['-n', namespace] : [])]);
    if (res.code !== 0) {
        if (/NotFound|not found/.test(res.stderr)) return undefined;
        throw new Error(res.stderr);
    }
    return JSON.parse(res.stdout) as Obj;
}

async function list(kind: string, namespace: string, selector?: string): Promise<Obj[]> {
    const out = await ok(['get', kind, '-n', namespace, '-o', 'json', ...(selector ? ['-l', selector] : [])]);
    return (JSON.parse(out) as { items: Obj[] }).items;
}

const cond = (o: Obj | undefined, type: string) => o?.status?.conditions?.find((c) => c.type === type);

/** The profile once the operator has reported on its current generation (and `pred` holds). */
function observed(name: string, pred: (p: Obj) => boolean = () => true): Promise<Obj> {
    return eventually(
        `profile ${name} observed at its generation`,
        async () => {
            const p = await get('isolationprofile', name);
            if (!p?.status || p.status.observedGeneration !== p.metadata.generation) return undefined;
            return pred(p) ? p : undefined;
        },
        60_000,
    );
}

async function nsLabel(ns: string): Promise<string | undefined> {
    return (await get('namespace', ns))?.metadata.labels?.['isolation.dev/profile'];
}

function profile(name: string, spec: Record<string, unknown>): unknown {
    return { apiVersion: 'isolation.dev/v1alpha1', kind: 'IsolationProfile', metadata: { name }, spec };
}

function clusterRole(name: string, rules: unknown[]): unknown {
    return { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules };
}

function binding(
    kind: 'ClusterRoleBinding' | 'RoleBinding',
    name: string,
    role: string,
    user: string,
    ns?: string,
) {
    return {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind,
        metadata: { name, ...(ns ? { namespace: ns } : {}) },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
    };
}

function namespace(name: string, tenant?: string): unknown {
    return {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name, labels: tenant ? { 'isolation.dev/tenant': tenant } : {} },
    };
}

/** `kubectl -l` form of a LabelSelector. */
function selectorString(sel: {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
}): string {
    const parts = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
    for (const e of sel.matchExpressions ?? []) {
        if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
        else if (e.operator === 'Exists') parts.push(e.key);
        else parts.push(`${e.key} ${e.operator.toLowerCase()} (${(e.values ?? []).join(',')})`);
    }
    return parts.join(',');
}

describe('tenancy: a profile governs only namespaces its authors own; the operator is bounded', function () {
    this.timeout(300_000);
    const env = () => testEnv();
    const cleanup: string[][] = [];
    let op: OperatorProcess | undefined;
    let operator = '';
    let alice = '';
    let mallory = '';
    let ciBot = '';
    let labeller = '';
    const sfx = Math.random().toString(16).slice(2, 7);
    const n = (s: string) => `${s}-${sfx}`;
    const shopA = n('shop-a');
    const shopB = n('shop-b');
    const evilA = n('evil-a');
    const later = n('later');
    const free = n('free');

    before(async function () {
        this.timeout(180_000);
        operator = await installOperatorRbac(env().controlPlane);
        await ok(['apply', '-k', ADMISSION]);
        alice = await env().addUser(n('alice'), ['shop-devs']);
        mallory = await env().addUser(n('mallory'), []);
        ciBot = await env().addUser(n('ci-bot'), []);
        labeller = await env().addUser(n('labeller'), []);
        const items = [
            clusterRole(n('profile-writer'), [
                {
                    apiGroups: ['isolation.dev'],
                    resources: ['isolationprofiles'],
                    verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
                },
                {
                    apiGroups: ['rbac.authorization.k8s.io'],
                    resources: ['clusterroles'],
                    verbs: ['bind'],
                    resourceNames: ['edit', 'view'],
                },
            ]),
            clusterRole(n('claim-shop'), [
                {
                    apiGroups: ['isolation.dev'],
                    resources: ['tenants'],
                    verbs: ['claim'],
                    resourceNames: ['shop'],
                },
            ]),
            clusterRole(n('claim-evil'), [
                {
                    apiGroups: ['isolation.dev'],
                    resources: ['tenants'],
                    verbs: ['claim'],
                    resourceNames: ['evil'],
                },
            ]),
            clusterRole(n('subresources'), [
                {
                    apiGroups: [''],
                    resources: ['namespaces/status', 'namespaces/finalize', 'pods/status'],
                    verbs: ['get', 'update', 'patch'],
                },
                { apiGroups: [''], resources: ['namespaces', 'pods'], verbs: ['get', 'list'] },
            ]),
            binding('ClusterRoleBinding', n('alice-writer'), n('profile-writer'), n('alice')),
            binding('ClusterRoleBinding', n('mallory-writer'), n('profile-writer'), n('mallory')),
            binding('ClusterRoleBinding', n('alice-claim'), n('claim-shop'), n('alice')),
            binding('ClusterRoleBinding', n('mallory-claim'), n('claim-evil'), n('mallory')),
            binding('ClusterRoleBinding', n('labeller'), n('subresources'), n('labeller')),
            namespace(shopA, 'shop'),
            namespace(shopB, 'shop'),
            namespace(evilA, 'evil'),
            namespace(free),
        ];
        await ok(['apply', '-f', '-'], { input: { apiVersion: 'v1', kind: 'List', items } });
        await ok(['apply', '-f', '-'], {
            input: {
                apiVersion: 'v1',
                kind: 'List',
                items: [
                    binding('RoleBinding', 'alice-admin', 'admin', n('alice'), shopA),
                    binding('RoleBinding', 'alice-admin', 'admin', n('alice'), shopB),
                    binding('RoleBinding', 'ci-bot-edit', 'edit', n('ci-bot'), shopA),
                ],
            },
        });
        cleanup.push(['delete', 'namespace', shopA, shopB, evilA, free, later]);
        cleanup.push([
            'delete',
            'clusterrole',
            n('profile-writer'),
            n('claim-shop'),
            n('claim-evil'),
            n('subresources'),
        ]);
        cleanup.push([
            'delete',
            'clusterrolebinding',
            n('alice-writer'),
            n('mallory-writer'),
            n('alice-claim'),
            n('mallory-claim'),
            n('labeller'),
        ]);
        // The policies are in force once a cluster-wide profile from a tenant is refused.
        await eventually('admission policies in force', async () => {
            const res = await kubectl(['create', '--dry-run=server', '-f', '-'], {
                as: mallory,
                input: profile(n('probe'), { namespaces: { names: ['x'] } }),
            });
            return res.code !== 0 && res.stderr.includes('isolation-operator-tenancy');
        });
        op = await startOperatorProcess(env().controlPlane, {
            kubeconfig: operator,
            name: 'tenancy-operator',
        });

        // The victim: tenant shop's profile, written by alice.
        await ok(['create', '-f', '-'], {
            as: alice,
            input: profile(n('shop-main'), {
                tenant: 'shop',
                namespaces: { names: [shopA, later] },
                network: { ingress: [{ name: 'from-peer', from: [{ profile: n('shop-peer') }] }] },
                serviceAccounts: [
                    {
                        name: 'readers',
                        selector: { matchLabels: { 'isolation.dev/role': 'reader' } },
                        roleRef: { kind: 'ClusterRole', name: 'view' },
                    },
                ],
                access: [
                    {
                        name: 'developers',
                        roleRef: { kind: 'ClusterRole', name: 'edit' },
                        subjects: [{ kind: 'Group', name: 'shop-devs' }],
                    },
                ],
            }),
        });
        cleanup.push(['delete', 'isolationprofile', n('shop-main')]);
        await observed(n('shop-main'), (p) => cond(p, 'Ready')?.status === 'True');
    });

    after(async function () {
        this.timeout(120_000);
        for (const p of ['shop-main', 'evil-grab', 'shop-peer', 'shop-dry', 'shop-two']) {
            await kubectl([
                'delete',
                'isolationprofile',
                n(p),
                '--ignore-not-found',
                '--wait=true',
                '--timeout=60s',
            ]);
        }
        await op?.stop();
        await kubectl(['delete', '-k', ADMISSION, '--ignore-not-found', '--wait=false']);
        for (const args of cleanup.reverse()) await kubectl([...args, '--ignore-not-found', '--wait=false']);
    });

    describe('admission (isolation-operator-tenancy)', () => {
        const policy = 'isolation-operator-tenancy';

        it('refuses a profile for a tenant its author may not claim, naming the tenant', async () => {
            const res = await kubectl(['create', '-f', '-'], {
                as: mallory,
                input: profile(n('claim-shop'), { tenant: 'shop', namespaces: { names: [shopA] } }),
            });
            deniedBy(
                res,
                policy,
                /spec\.tenant: writing a profile of tenant shop requires the verb claim on\s+tenants\/shop/,
            );
        });

        it('refuses a cluster-wide profile (no tenant) from a tenant', async () => {
            const res = await kubectl(['create', '-f', '-'], {
                as: mallory,
                input: profile(n('everything'), { namespaces: { selector: {} } }),
            });
            deniedBy(res, policy, /cluster-wide and may only be written by the platform/);
        });

        it('refuses a priority above the tenant range from a tenant', async () => {
            const res = await kubectl(['create', '-f', '-'], {
                as: mallory,
                input: profile(n('loud'), { tenant: 'evil', priority: 5000, namespaces: { names: [evilA] } }),
            });
            deniedBy(res, policy, /spec\.priority: tenant profiles use priorities from -999 to 999/);
        });

        it("refuses changing, re-tenanting or deleting another tenant's profile", async () => {
            const patch = await kubectl(
                [
                    'patch',
                    'isolationprofile',
                    n('shop-main'),
                    '--type=merge',
                    '-p',
                    '{"spec":{"suspend":true}}',
                ],
                { as: mallory },
            );
            deniedBy(patch, policy, /belongs to tenant shop/);
            const move = await kubectl(
                [
                    'patch',
                    'isolationprofile',
                    n('shop-main'),
                    '--type=merge',
                    '-p',
                    '{"spec":{"tenant":"evil"}}',
                ],
                { as: mallory },
            );
            deniedBy(move, policy, /belongs to tenant shop/);
            const del = await kubectl(['delete', 'isolationprofile', n('shop-main')], { as: mallory });
            deniedBy(del, policy, /belongs to tenant shop/);
            assert.equal((await get('isolationprofile', n('shop-main')))?.spec?.suspend, undefined);
        });

        it('names only the role the author may not bind', async () => {
            const res = await kubectl(['create', '-f', '-'], {
                as: alice,
                input: profile(n('escalate'), {
                    tenant: 'shop',
                    namespaces: { names: [shopA] },
                    access: [
                        {
                            name: 'a',
                            roleRef: { kind: 'ClusterRole', name: 'edit' },
                            subjects: [{ kind: 'User', name: 'u' }],
                        },
                        {
                            name: 'b',
                            roleRef: { kind: 'ClusterRole', name: 'admin' },
                            subjects: [{ kind: 'User', name: 'u' }],
                        },
                    ],
                }),
            });
            deniedBy(
                res,
                'isolation-operator-profile-role-bind',
                /not bindable by you: clusterroles\/admin'?$/m,
            );
            assert.doesNotMatch(res.stderr, /clusterroles\/edit/);
        });
    });

    describe('the operator, whatever admission allowed', () => {
        it("never lets a tenant profile govern another tenant's namespace, by name, selector or priority", async () => {
            await ok(['create', '-f', '-'], {
                as: mallory,
                input: profile(n('evil-grab'), {
                    tenant: 'evil',
                    priority: 999,
                    namespaces: { names: [shopA], selector: {} },
                    network: { defaultDeny: { ingress: false, egress: false } },
                    access: [
                        {
                            name: 'developers',
                            roleRef: { kind: 'ClusterRole', name: 'edit' },
                            subjects: [{ kind: 'User', name: n('mallory') }],
                        },
                    ],
                }),
            });
            // Positive barrier: the attacker's profile governs its own tenant's namespace.
            await eventually(
                'evil-grab governs evil-a',
                async () => (await nsLabel(evilA)) === n('evil-grab'),
            );
            const grab = await observed(n('evil-grab'));
            assert.equal(grab.status?.namespaces?.selected, 1, 'only its own tenant namespace is selected');
            assert.equal(await nsLabel(shopA), n('shop-main'));
            const rbs = await list('rolebindings', shopA, MANAGED);
            assert.deepEqual(
                rbs.map((r) => [r.metadata.name, r.metadata.labels?.['isolation.dev/profile']]),
                [['isolation-access-developers', n('shop-main')]],
            );
            assert.ok(
                rbs.every((r) => !(r.subjects ?? []).some((s) => s.name === n('mallory'))),
                'mallory is bound nowhere in shop',
            );
            const shop = await observed(n('shop-main'));
            assert.equal(cond(shop, 'Ready')?.status, 'True');
            assert.equal(cond(shop, 'Conflict')?.status, 'False');
        });

        it('grants nothing for a namespace name that appears later in another tenant', async () => {
            // shop-main lists `later` by name; the namespace appears in tenant evil, where evil-grab (selector {})
            // takes it: the positive barrier that the operator has reconciled it.
            await ok(['create', '-f', '-'], { input: namespace(later, 'evil') });
            await eventually(
                'evil-grab governs the new namespace',
                async () => (await nsLabel(later)) === n('evil-grab'),
            );
            const policies = await list('networkpolicies', later, MANAGED);
            assert.ok(policies.every((p) => p.metadata.labels?.['isolation.dev/profile'] === n('evil-grab')));
            await ok(['delete', 'isolationprofile', n('evil-grab'), '--wait=true', '--timeout=60s'], {
                as: mallory,
            });
        });

        it("gives a profile named after another tenant's peer nothing of that peer's access", async () => {
            await ok(['create', '-f', '-'], {
                as: mallory,
                input: profile(n('shop-peer'), { tenant: 'evil', namespaces: { names: [evilA] } }),
            });
            await eventually(
                'the squatter governs evil-a',
                async () => (await nsLabel(evilA)) === n('shop-peer'),
            );
            const np = await eventually('shop-main ingress policy', () =>
                get('networkpolicy', 'isolation-ingress-from-peer', shopA),
            );
            const from = (np.spec?.ingress as { from?: { namespaceSelector?: object }[] }[])[0]?.from ?? [];
            const sel = from[0]?.namespaceSelector as Parameters<typeof selectorString>[0];
            assert.deepEqual(sel.matchLabels, {
                'isolation.dev/profile': n('shop-peer'),
                'isolation.dev/tenant': 'shop',
            });
            const matched = JSON.parse(
                await ok(['get', 'namespaces', '-l', selectorString(sel), '-o', 'json']),
            ) as {
                items: Obj[];
            };
            assert.deepEqual(
                matched.items.map((x) => x.metadata.name),
                [],
                'the squatter namespace is not a peer',
            );
        });

        it('never lets a DryRun or suspended profile take a namespace from an enforcing one', async () => {
            for (const [name, extra] of [
                ['shop-dry', { mode: 'DryRun' }],
                ['shop-two', { suspend: true }],
            ] as const) {
                await ok(['create', '-f', '-'], {
                    as: alice,
                    input: profile(n(name), {
                        tenant: 'shop',
                        priority: 999,
                        namespaces: { names: [shopA] },
                        ...extra,
                    }),
                });
                const p = await observed(n(name), (x) => cond(x, 'Conflict')?.status === 'True');
                assert.equal(cond(p, 'Ready')?.status, 'False');
                assert.equal(await nsLabel(shopA), n('shop-main'));
            }
        });

        it('never adopts objects a tenant pre-created under generated names, and says so', async () => {
            // alice (admin in shop-b) plants an allow-all "default deny" and a RoleBinding with another role.
            await ok(['create', '-f', '-'], {
                as: alice,
                input: {
                    apiVersion: 'v1',
                    kind: 'List',
                    items: [
                        {
                            apiVersion: 'networking.k8s.io/v1',
                            kind: 'NetworkPolicy',
                            metadata: { name: 'isolation-default-deny', namespace: shopB },
                            spec: {
                                podSelector: {},
                                policyTypes: ['Ingress', 'Egress'],
                                ingress: [{}],
                                egress: [{}],
                            },
                        },
                        {
                            apiVersion: 'rbac.authorization.k8s.io/v1',
                            kind: 'RoleBinding',
                            metadata: { name: 'isolation-access-developers', namespace: shopB },
                            roleRef: {
                                apiGroup: 'rbac.authorization.k8s.io',
                                kind: 'ClusterRole',
                                name: 'view',
                            },
                            subjects: [
                                { apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'shop-devs' },
                            ],
                        },
                    ],
                },
            });
            await ok(
                [
                    'patch',
                    'isolationprofile',
                    n('shop-main'),
                    '--type=merge',
                    '-p',
                    JSON.stringify({ spec: { namespaces: { names: [shopA, shopB, later] } } }),
                ],
                { as: alice },
            );
            const p = await observed(n('shop-main'), (x) => cond(x, 'Stalled')?.status === 'True');
            assert.equal(cond(p, 'Ready')?.status, 'False');
            assert.match(
                cond(p, 'Stalled')?.message ?? '',
                /NetworkPolicy isolation-default-deny already exists and was not created by isolation-operator/,
            );
            assert.match(
                cond(p, 'Stalled')?.message ?? '',
                /RoleBinding isolation-access-developers already exists/,
            );
            assert.equal(p.status?.namespaces?.enforced, 1, 'shop-b is not reported as enforced');
            const np = await get('networkpolicy', 'isolation-default-deny', shopB);
            assert.equal(np?.metadata.labels?.['app.kubernetes.io/managed-by'], undefined, 'not adopted');
            assert.deepEqual(np?.spec?.ingress, [{}], 'left as its owner wrote it');
            assert.equal(
                (await get('rolebinding', 'isolation-access-developers', shopB))?.roleRef?.name,
                'view',
            );
            const events = JSON.parse(
                await ok(['get', 'events', '-A', '--field-selector', 'reason=ForeignObject', '-o', 'json']),
            ) as { items: { note?: string; message?: string }[] };
            assert.ok(
                events.items.some((e) =>
                    (e.note ?? e.message ?? '').includes(`${shopB}: NetworkPolicy isolation-default-deny`),
                ),
                'a ForeignObject event names the object',
            );
        });
    });

    describe("the operator's own token (isolation-operator-bounds)", () => {
        const policy = 'isolation-operator-bounds';
        const managed = (profileName: string) => ({
            'app.kubernetes.io/managed-by': 'isolation-operator',
            'isolation.dev/profile': profileName,
        });
        const rb = (ns: string, role: string, labels: Record<string, string>) => ({
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'RoleBinding',
            metadata: { name: n('steal'), namespace: ns, labels },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
            subjects: [{ kind: 'ServiceAccount', name: 'isolation-operator', namespace: 'isolation-system' }],
        });
        const np = (ns: string, labels: Record<string, string>) => ({
            apiVersion: 'networking.k8s.io/v1',
            kind: 'NetworkPolicy',
            metadata: { name: n('allow-all'), namespace: ns, labels },
            spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{}] },
        });

        it('cannot bind admin to itself in kube-system (or anywhere not governed)', async () => {
            deniedBy(
                await kubectl(['create', '-f', '-'], {
                    as: operator,
                    input: rb('kube-system', 'admin', managed('x')),
                }),
                policy,
                /never in kube-system/,
            );
            deniedBy(
                await kubectl(['create', '-f', '-'], {
                    as: operator,
                    input: rb(free, 'admin', managed('x')),
                }),
                policy,
            );
        });

        it('cannot bind a role to itself, even a bindable one in a governed namespace', async () => {
            deniedBy(
                await kubectl(['create', '-f', '-'], {
                    as: operator,
                    input: rb(shopA, 'edit', managed(n('shop-main'))),
                }),
                policy,
                /never binds a role to its own ServiceAccount/,
            );
        });

        it('cannot bind a role outside the bindable list, even in a governed namespace', async () => {
            const res = await kubectl(['create', '-f', '-'], {
                as: operator,
                input: rb(shopA, 'cluster-admin', managed(n('shop-main'))),
            });
            assert.notEqual(res.code, 0);
            assert.match(res.stderr, /forbidden|isolation-operator-bounds/);
        });

        it('cannot write unlabelled objects or objects of another profile in a governed namespace', async () => {
            deniedBy(
                await kubectl(['create', '-f', '-'], { as: operator, input: np(shopA, {}) }),
                'isolation-operator-bounds',
            );
            deniedBy(
                await kubectl(['create', '-f', '-'], {
                    as: operator,
                    input: np(shopA, managed('someone-else')),
                }),
                policy,
            );
        });

        it('cannot take over, relabel or delete an object it did not create', async () => {
            deniedBy(
                await kubectl(
                    [
                        'label',
                        'networkpolicy',
                        'isolation-default-deny',
                        '-n',
                        shopB,
                        'app.kubernetes.io/managed-by=isolation-operator',
                        `isolation.dev/profile=${n('shop-main')}`,
                    ],
                    { as: operator },
                ),
                policy,
                /never adopts/,
            );
            deniedBy(
                await kubectl(['delete', 'rolebinding', 'isolation-access-developers', '-n', shopB], {
                    as: operator,
                }),
                policy,
                /may only delete objects it generated/,
            );
        });

        it('cannot change namespace labels other than its own, nor label kube-system', async () => {
            deniedBy(
                await kubectl(
                    ['label', 'namespace', 'kube-system', 'pod-security.kubernetes.io/enforce=privileged'],
                    {
                        as: operator,
                    },
                ),
                policy,
                /may change only the isolation.dev\/profile label/,
            );
            deniedBy(
                await kubectl(
                    ['label', 'namespace', 'kube-system', `isolation.dev/profile=${n('shop-main')}`],
                    {
                        as: operator,
                    },
                ),
                policy,
                /never labels a never-govern namespace/,
            );
            deniedBy(
                await kubectl(['annotate', 'namespace', shopA, 'x=y'], { as: operator }),
                policy,
                /may change only the isolation.dev\/profile label/,
            );
        });

        it('cannot change a profile spec', async () => {
            // Refused twice: the operator may claim no tenant (tenancy) and may never write a spec (bounds); the
            // API server reports the first policy that denies.
            const res = await kubectl(
                [
                    'patch',
                    'isolationprofile',
                    n('shop-main'),
                    '--type=merge',
                    '-p',
                    '{"spec":{"priority":5}}',
                ],
                { as: operator },
            );
            assert.notEqual(res.code, 0, res.stdout);
            assert.match(res.stderr, /ValidatingAdmissionPolicy 'isolation-operator-(bounds|tenancy)'/);
            assert.equal((await get('isolationprofile', n('shop-main')))?.spec?.priority, undefined);
        });

        it('re-reconciles a namespace blocked by planted objects as soon as the tenant deletes them, no resync', async () => {
            // (after the tests above, which need the planted objects) The tenant does as the event says. Unmanaged
            // objects are watched (ADR 0017): the deletes wake the namespace; no resync (10 min here), no polling.
            await ok(['delete', 'networkpolicy', 'isolation-default-deny', '-n', shopB], { as: alice });
            await ok(['delete', 'rolebinding', 'isolation-access-developers', '-n', shopB], { as: alice });
            const healed = await observed(
                n('shop-main'),
                (x) => cond(x, 'Stalled')?.status === 'False' && x.status?.namespaces?.enforced === 2,
            );
            assert.equal(cond(healed, 'Ready')?.status, 'True');
            const ours = await get('networkpolicy', 'isolation-default-deny', shopB);
            assert.equal(ours?.metadata.labels?.['app.kubernetes.io/managed-by'], 'isolation-operator');
            assert.deepEqual(
                ours?.spec?.ingress ?? [],
                [],
                'the generated default-deny, not the planted one',
            );
        });
    });

    describe('labels through subresources, and ServiceAccount labels', () => {
        it('refuses isolation.dev/ namespace labels through namespaces/status and namespaces/finalize', async () => {
            const status = await kubectl(
                [
                    'patch',
                    'namespace',
                    shopA,
                    '--subresource=status',
                    '--type=merge',
                    '-p',
                    '{"metadata":{"labels":{"isolation.dev/tenant":"evil"}}}',
                ],
                { as: labeller },
            );
            deniedBy(status, 'isolation-operator-namespace-labels', /isolation.dev\/tenant/);
            const ns = (await get('namespace', shopA)) as Obj & { apiVersion?: string; kind?: string };
            ns.metadata.labels = { ...(ns.metadata.labels ?? {}), 'isolation.dev/tenant': 'evil' };
            const finalize = await kubectl(
                ['replace', '--raw', `/api/v1/namespaces/${shopA}/finalize`, '-f', '-'],
                {
                    as: labeller,
                    input: ns,
                },
            );
            assert.notEqual(finalize.code, 0, finalize.stdout);
            assert.match(
                finalize.stderr,
                /isolation-operator-namespace-labels|isolation\.dev\/ namespace labels/,
            );
            assert.equal((await get('namespace', shopA))?.metadata.labels?.['isolation.dev/tenant'], 'shop');
        });

        it('refuses a spoofed pod identity label through pods/status', async () => {
            await ok(['create', '-f', '-'], {
                input: {
                    apiVersion: 'v1',
                    kind: 'Pod',
                    metadata: { name: 'web', namespace: shopA },
                    spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] },
                },
            });
            const res = await kubectl(
                [
                    'patch',
                    'pod',
                    'web',
                    '-n',
                    shopA,
                    '--subresource=status',
                    '--type=merge',
                    '-p',
                    '{"metadata":{"labels":{"isolation.dev/service-account":"prometheus"}}}',
                ],
                { as: labeller },
            );
            deniedBy(
                res,
                'isolation-operator-pod-identity',
                /must name the ServiceAccount of the pod \(default\)/,
            );
        });

        it('lets only the tenant (or the platform) put isolation.dev/ labels on ServiceAccounts', async () => {
            const sa = (name: string) => ({
                apiVersion: 'v1',
                kind: 'ServiceAccount',
                metadata: { name, namespace: shopA, labels: { 'isolation.dev/role': 'reader' } },
            });
            deniedBy(
                await kubectl(['create', '-f', '-'], { as: ciBot, input: sa('bot-reader') }),
                'isolation-operator-serviceaccount-labels',
                /tenants\/shop/,
            );
            await ok(['create', 'serviceaccount', 'plain', '-n', shopA], { as: ciBot });
            deniedBy(
                await kubectl(
                    ['label', 'serviceaccount', 'plain', '-n', shopA, 'isolation.dev/role=reader'],
                    { as: ciBot },
                ),
                'isolation-operator-serviceaccount-labels',
            );
            await ok(['create', '-f', '-'], { as: alice, input: sa('alice-reader') });
            // ...and the operator, bounded by admission, binds exactly that one.
            await eventually('isolation-sa-readers binds alice-reader', async () => {
                const rb = await get('rolebinding', 'isolation-sa-readers', shopA);
                return JSON.stringify(rb?.subjects?.map((x) => x.name)) === '["alice-reader"]';
            });
        });
    });
});
