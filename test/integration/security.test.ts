/**
 * The security model (DESIGN §4) against a real API server with RBAC on: the operator runs as its own
 * ServiceAccount with exactly config/rbac, goes through a full scenario, and the audit log must show no request of
 * its own answered 403, and only (verb, resource) pairs that config/rbac grants. A profile that references a role
 * outside the bind list must be refused by Kubernetes itself (the one expected 403), reported on the profile, and
 * must not stop the rest of the profile from being enforced. `kubectl auth can-i` point checks pin the boundary.
 *
 * Design choice: the permission check is computed from the YAML in config/rbac (not a copy of it here), so the
 * test follows the manifests; requests made by kubectl with the operator's kubeconfig (the can-i checks) are told
 * apart from the operator's own by their user agent. One operator process serves the whole file.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

import type { AuditEvent } from '../support/audit.ts';
import { byUser, describe as describeEvent, readAuditSettled } from '../support/audit.ts';
import type { OperatorProcess } from '../support/operator.ts';
import {
    OPERATOR_USER,
    REPO,
    installOperatorRbac,
    metricValue,
    startOperatorProcess,
} from '../support/operator.ts';
import { testEnv, uniqueName } from './env.ts';
import { eventually } from '../support/eventually.ts';

// ---- small helpers -----------------------------------------------------------------------------------------------

interface Meta {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; name: string }[];
    finalizers?: string[];
}
interface Obj {
    metadata: Meta;
    spec?: Record<string, unknown>;
    roleRef?: { kind: string; name: string };
    subjects?: { kind: string; name: string; namespace?: string }[];
}
interface Condition {
    type: string;
    status: string;
    reason?: string;
    message?: string;
    observedGeneration?: number;
}
interface Profile extends Obj {
    status?: {
        observedGeneration?: number;
        conditions?: Condition[];
        namespaces?: { selected?: number; enforced?: number; failed?: number };
    };
}

const MANAGED_BY = 'app.kubernetes.io/managed-by';
const PROFILE_LABEL = 'isolation.dev/profile';

let rbac: Promise<string> | undefined;
/** config/rbac applied once per file; resolves with the operator ServiceAccount's kubeconfig. */
function operatorKubeconfig(): Promise<string> {
    rbac ??= installOperatorRbac(testEnv().controlPlane);
    return rbac;
}

async function kubectlOk(args: string[], input?: unknown): Promise<string> {
    const res = await testEnv().kubectl(args, input === undefined ? {} : { input: JSON.stringify(input) });
    assert.equal(res.code, 0, `kubectl ${args.join(' ')}: ${res.stderr}`);
    return res.stdout;
}

/** The object as admin, or undefined when it does not exist. */
async function getObj<T extends Obj>(kind: string, name: string, namespace?: string): Promise<T | undefined> {
    const args = ['get', kind, name, '-o', 'json', ...(namespace ? ['-n', namespace] : [])];
    const res = await testEnv().kubectl(args);
    if (res.code !== 0) {
        if (/NotFound|not found/.test(res.stderr)) return undefined;
        throw new Error(`kubectl ${args.join(' ')}: ${res.stderr}`);
    }
    return JSON.parse(res.stdout) as T;
}

async function list<T extends Obj>(kind: string, namespace: string, selector?: string): Promise<T[]> {
    const out = await kubectlOk([
        'get',
        kind,
        '-n',
        namespace,
        '-o',
        'json',
        ...(selector ? ['-l', selector] : []),
    ]);
    return (JSON.parse(out) as { items: T[] }).items;
}

function condition(p: Profile | undefined, type: string): Condition | undefined {
    return p?.status?.conditions?.find((c) => c.type === type);
}

/** Waits until the operator reported on the profile's current generation, and returns it. */
async function observed(name: string, pred: (p: Profile) => boolean = () => true): Promise<Profile> {
    return eventually(`profile ${name} status for its generation`, async () => {
        const p = await getObj<Profile>('isolationprofile', name);
        if (!p?.status || p.status.observedGeneration !== p.metadata.generation) return undefined;
        return pred(p) ? p : undefined;
    });
}

async function names(kind: string, namespace: string): Promise<string[]> {
    return (await list(kind, namespace, `${MANAGED_BY}=isolation-operator`))
        .map((o) => o.metadata.name)
        .sort();
}

async function namespaceLabel(ns: string): Promise<string | undefined> {
    return (await getObj('namespace', ns))?.metadata.labels?.[PROFILE_LABEL];
}

async function deleteProfile(name: string): Promise<void> {
    const res = await testEnv().kubectl([
        'delete',
        'isolationprofile',
        name,
        '--ignore-not-found',
        '--wait=true',
        '--timeout=60s',
    ]);
    assert.equal(res.code, 0, `delete profile ${name}: ${res.stderr}`);
}

function profile(name: string, spec: Record<string, unknown>): unknown {
    return { apiVersion: 'isolation.dev/v1alpha1', kind: 'IsolationProfile', metadata: { name }, spec };
}

type Audited = AuditEvent & { userAgent?: string };

/** The operator's own requests (kubectl run with its kubeconfig, e.g. `auth can-i`, is not the operator). */
async function operatorRequests(since: Date): Promise<Audited[]> {
    const env = testEnv();
    const events = byUser(
        await readAuditSettled((a) => env.kubectl(a), env.auditLogPath, since),
        OPERATOR_USER,
    ) as Audited[];
    return events.filter((e) => !(e.userAgent ?? '').startsWith('kubectl'));
}

// ---- what config/rbac grants -----------------------------------------------------------------------------------

interface Rule {
    apiGroups?: string[];
    resources?: string[];
    verbs: string[];
    resourceNames?: string[];
    nonResourceURLs?: string[];
}
interface Grant {
    rule: Rule;
    /** undefined: cluster-wide (ClusterRoleBinding). */
    namespace?: string;
}
interface RbacDoc {
    kind: string;
    metadata: { name: string; namespace?: string };
    rules?: Rule[];
    roleRef?: { kind: string; name: string };
    subjects?: { kind: string; name: string; namespace?: string }[];
}

/** Every rule config/rbac binds to the operator's ServiceAccount, with the scope of its binding. */
async function grantsFromConfig(): Promise<Grant[]> {
    const dir = join(REPO, 'config', 'rbac');
    const docs: RbacDoc[] = [];
    for (const f of (await readdir(dir)).filter((n) => n.endsWith('.yaml') && n !== 'kustomization.yaml')) {
        for (const d of parseAllDocuments(await readFile(join(dir, f), 'utf8'))) {
            const js = d.toJS() as RbacDoc | null;
            if (js?.kind) docs.push(js);
        }
    }
    const grants: Grant[] = [];
    for (const b of docs.filter((d) => d.kind === 'ClusterRoleBinding' || d.kind === 'RoleBinding')) {
        const isOperator = (b.subjects ?? []).some(
            (s) =>
                s.kind === 'ServiceAccount' &&
                `system:serviceaccount:${s.namespace}:${s.name}` === OPERATOR_USER,
        );
        if (!isOperator || !b.roleRef) continue;
        const role = docs.find(
            (d) =>
                d.kind === b.roleRef!.kind &&
                d.metadata.name === b.roleRef!.name &&
                (d.kind === 'ClusterRole' || d.metadata.namespace === b.metadata.namespace),
        );
        assert.ok(role, `config/rbac binds ${b.roleRef.kind} ${b.roleRef.name}, which it does not define`);
        const namespace = b.kind === 'RoleBinding' ? b.metadata.namespace : undefined;
        for (const rule of role.rules ?? []) grants.push(namespace ? { rule, namespace } : { rule });
    }
    return grants;
}

/** Non-resource URLs every authenticated user may GET (Kubernetes' default system:discovery role). */
const DISCOVERY = /^\/(api|apis|version|openapi)(\/|$|\?)/;

function granted(e: AuditEvent, grants: Grant[]): boolean {
    const o = e.objectRef;
    if (!o?.resource) return e.verb === 'get' && DISCOVERY.test(e.requestURI);
    const resource = o.subresource ? `${o.resource}/${o.subresource}` : o.resource;
    const group = o.apiGroup ?? '';
    return grants.some(({ rule, namespace }) => {
        if (namespace !== undefined && o.namespace !== namespace) return false;
        if (!(rule.apiGroups ?? []).some((g) => g === '*' || g === group)) return false;
        if (!(rule.resources ?? []).some((r) => r === '*' || r === resource)) return false;
        if (!rule.verbs.some((v) => v === '*' || v === e.verb)) return false;
        const rn = rule.resourceNames ?? [];
        return rn.length === 0 || (o.name !== undefined && rn.includes(o.name));
    });
}

// ---- the tests ---------------------------------------------------------------------------------------------------

describe('security: the operator under its own ServiceAccount and the least-privilege RBAC of config/rbac', function () {
    // Set when this file's tests start (a describe body runs when mocha loads every file, long before).
    let fileStart = new Date();
    let op: OperatorProcess | undefined;
    const profiles: string[] = [];
    const namespaces: string[] = [];
    const clusterRoles: string[] = [];

    before(async function () {
        this.timeout(120_000);
        fileStart = new Date(Date.now() - 1000);
        const kubeconfig = await operatorKubeconfig();
        op = await startOperatorProcess(testEnv().controlPlane, { kubeconfig, name: 'security-operator' });
    });

    after(async function () {
        this.timeout(180_000);
        // Profiles first, while the operator still runs to process their finalizers.
        for (const p of profiles) await deleteProfile(p).catch((err: unknown) => console.error(err));
        if (op) {
            const code = await op.stop();
            if (code !== 0) console.error(`security operator exited with ${code}; log: ${op.logPath}`);
        }
        for (const ns of namespaces) await testEnv().kubectl(['delete', 'namespace', ns, '--wait=false']);
        for (const r of clusterRoles)
            await testEnv().kubectl(['delete', 'clusterrole', r, '--ignore-not-found']);
    });

    describe('kubectl auth can-i as the operator ServiceAccount', () => {
        async function canI(...args: string[]): Promise<boolean> {
            const res = await testEnv().kubectl(['auth', 'can-i', ...args], {
                kubeconfig: await operatorKubeconfig(),
            });
            const answer = res.stdout.trim();
            assert.ok(
                answer === 'yes' || answer === 'no',
                `can-i ${args.join(' ')}: ${res.stdout} ${res.stderr}`,
            );
            return answer === 'yes';
        }

        it('cannot create or delete namespaces, but can patch them (the one label)', async () => {
            assert.equal(await canI('create', 'namespaces'), false);
            assert.equal(await canI('delete', 'namespaces'), false);
            assert.equal(await canI('patch', 'namespaces'), true);
        });

        it('cannot read secrets anywhere', async () => {
            assert.equal(await canI('get', 'secrets', '-A'), false);
            assert.equal(await canI('list', 'secrets', '-A'), false);
            assert.equal(await canI('get', 'secrets', '-n', 'default'), false);
        });

        it('may bind edit but not cluster-admin', async () => {
            assert.equal(await canI('bind', 'clusterroles/edit'), true);
            assert.equal(await canI('bind', 'clusterroles/view'), true);
            assert.equal(await canI('bind', 'clusterroles/cluster-admin'), false);
            assert.equal(await canI('escalate', 'clusterroles'), false);
            assert.equal(await canI('create', 'clusterrolebindings'), false);
        });
    });

    describe('a full scenario', function () {
        const hex = uniqueName('s').slice(2);
        const team = `sec-api-${hex}`;
        const api = `sec-api-${hex}`;
        const web = `sec-web-${hex}`;
        let scenarioStart: Date;
        let nsApi1 = '';
        let nsApi2 = '';
        let nsApi3 = '';
        let nsWeb = '';
        let nsMon = '';

        before(async () => {
            scenarioStart = new Date(Date.now() - 1000);
            nsApi1 = await testEnv().createNamespace('sec-api1', { 'isolation.dev/team': team });
            nsApi2 = await testEnv().createNamespace('sec-api2', { 'isolation.dev/team': team });
            nsWeb = await testEnv().createNamespace('sec-web');
            nsMon = await testEnv().createNamespace('sec-mon');
            namespaces.push(nsApi1, nsApi2, nsWeb, nsMon);
        });

        it('enforces profiles with network rules, access entries and serviceAccounts entries', async function () {
            this.timeout(90_000);
            await kubectlOk(['create', 'serviceaccount', 'reader', '-n', nsApi1]);
            await kubectlOk(['label', 'serviceaccount', 'reader', '-n', nsApi1, 'isolation.dev/role=reader']);
            await kubectlOk(['create', 'serviceaccount', 'other', '-n', nsApi1]);
            profiles.push(api, web);
            await kubectlOk(
                ['apply', '-f', '-'],
                profile(api, {
                    namespaces: { selector: { matchLabels: { 'isolation.dev/team': team } } },
                    deletionPolicy: 'Delete',
                    network: {
                        ingress: [
                            {
                                name: 'from-web',
                                from: [{ profile: web }],
                                ports: [{ protocol: 'TCP', port: 8080 }],
                            },
                            {
                                name: 'from-prometheus',
                                from: [{ serviceAccount: { namespace: nsMon, name: 'prometheus' } }],
                                ports: [{ protocol: 'TCP', port: 9090 }],
                            },
                            { name: 'from-lb', from: [{ cidr: '10.20.0.0/16', except: ['10.20.1.0/24'] }] },
                        ],
                        egress: [
                            {
                                name: 'to-db',
                                to: [{ cidr: '10.30.0.0/16' }],
                                ports: [{ protocol: 'TCP', port: 5432 }],
                            },
                        ],
                    },
                    access: [
                        {
                            name: 'developers',
                            roleRef: { kind: 'ClusterRole', name: 'edit' },
                            subjects: [
                                { kind: 'Group', name: `devs-${hex}` },
                                { kind: 'ServiceAccount', namespace: nsMon, name: 'deployer' },
                            ],
                            network: { ports: [{ protocol: 'TCP', port: 8080 }] },
                        },
                        {
                            name: 'auditors',
                            roleRef: { kind: 'ClusterRole', name: 'view' },
                            subjects: [{ kind: 'User', name: `auditor-${hex}@example.com` }],
                        },
                    ],
                    serviceAccounts: [
                        {
                            name: 'readers',
                            selector: { matchLabels: { 'isolation.dev/role': 'reader' } },
                            roleRef: { kind: 'ClusterRole', name: 'view' },
                        },
                    ],
                }),
            );
            await kubectlOk(
                ['apply', '-f', '-'],
                profile(web, {
                    namespaces: { names: [nsWeb] },
                    deletionPolicy: 'Orphan',
                    network: {
                        egress: [
                            {
                                name: 'to-api',
                                to: [{ profile: api }],
                                ports: [{ protocol: 'TCP', port: 8080 }],
                            },
                        ],
                    },
                    access: [
                        {
                            name: 'viewers',
                            roleRef: { kind: 'ClusterRole', name: 'view' },
                            subjects: [{ kind: 'Group', name: `web-${hex}` }],
                        },
                    ],
                }),
            );

            const apiReady = await observed(api, (p) => condition(p, 'Ready')?.status === 'True');
            assert.equal(apiReady.status?.namespaces?.enforced, 2);
            await observed(web, (p) => condition(p, 'Ready')?.status === 'True');

            const expectedNps = [
                'isolation-access-developers',
                'isolation-default-deny',
                'isolation-dns',
                'isolation-egress-to-db',
                'isolation-ingress-from-lb',
                'isolation-ingress-from-prometheus',
                'isolation-ingress-from-web',
                'isolation-same-namespace',
            ];
            for (const ns of [nsApi1, nsApi2]) {
                assert.deepEqual(await names('networkpolicies', ns), expectedNps, ns);
                assert.equal(await namespaceLabel(ns), api);
            }
            assert.deepEqual(await names('rolebindings', nsApi1), [
                'isolation-access-auditors',
                'isolation-access-developers',
                'isolation-sa-readers',
            ]);
            assert.deepEqual(await names('rolebindings', nsApi2), [
                'isolation-access-auditors',
                'isolation-access-developers',
            ]);
            const dev = await getObj('rolebinding', 'isolation-access-developers', nsApi1);
            assert.equal(dev?.roleRef?.name, 'edit');
            const readers = await getObj('rolebinding', 'isolation-sa-readers', nsApi1);
            assert.equal(readers?.roleRef?.name, 'view');
            assert.deepEqual(
                readers?.subjects?.map((s) => `${s.kind}/${s.namespace}/${s.name}`),
                [`ServiceAccount/${nsApi1}/reader`],
            );
            assert.equal(await namespaceLabel(nsWeb), web);
            assert.deepEqual(await names('rolebindings', nsWeb), ['isolation-access-viewers']);
        });

        it('follows namespaces that are added, relabelled and removed', async function () {
            this.timeout(120_000);
            nsApi3 = await testEnv().createNamespace('sec-api3', { 'isolation.dev/team': team });
            namespaces.push(nsApi3);
            await eventually(`default-deny in the added namespace ${nsApi3}`, async () =>
                (await names('networkpolicies', nsApi3)).includes('isolation-default-deny'),
            );
            await observed(api, (p) => p.status?.namespaces?.enforced === 3);

            // Relabelled out of the selector: generated objects and the profile label go.
            await kubectlOk(['label', 'namespace', nsApi2, 'isolation.dev/team-']);
            await eventually(`${nsApi2} released`, async () => {
                const left = [
                    ...(await names('networkpolicies', nsApi2)),
                    ...(await names('rolebindings', nsApi2)),
                ];
                return left.length === 0 && (await namespaceLabel(nsApi2)) === undefined;
            });
            // ... and relabelled back in.
            await kubectlOk(['label', 'namespace', nsApi2, `isolation.dev/team=${team}`]);
            await eventually(`${nsApi2} governed again`, async () =>
                (await names('networkpolicies', nsApi2)).includes('isolation-default-deny'),
            );

            // Removed: the namespace is deleted; the profile stops counting it.
            await kubectlOk(['delete', 'namespace', nsApi3, '--wait=true', '--timeout=90s']);
            const p = await observed(api, (x) => x.status?.namespaces?.selected === 2);
            assert.equal(p.status?.namespaces?.enforced, 2);
            assert.equal(condition(p, 'Ready')?.status, 'True');
        });

        it('corrects drift of a generated object made by someone else', async function () {
            this.timeout(60_000);
            const before = metricValue(await op!.metrics(), 'isolation_operator_drift_corrections_total');
            await kubectlOk([
                'patch',
                'networkpolicy',
                'isolation-egress-to-db',
                '-n',
                nsApi1,
                '--type=merge',
                '-p',
                JSON.stringify({
                    spec: {
                        egress: [
                            {
                                to: [{ ipBlock: { cidr: '0.0.0.0/0' } }],
                                ports: [{ protocol: 'TCP', port: 5432 }],
                            },
                        ],
                    },
                }),
            ]);
            await eventually('the egress rule restored', async () => {
                const np = await getObj('networkpolicy', 'isolation-egress-to-db', nsApi1);
                const egress = np?.spec?.egress as { to?: { ipBlock?: { cidr?: string } }[] }[] | undefined;
                return egress?.[0]?.to?.[0]?.ipBlock?.cidr === '10.30.0.0/16';
            });
            await eventually(
                'a drift correction counted',
                async () =>
                    metricValue(await op!.metrics(), 'isolation_operator_drift_corrections_total') > before,
            );
        });

        it('restores a default-deny narrowed by someone else (a selector label added to it)', async function () {
            this.timeout(60_000);
            // Narrowing the default-deny to pods that do not exist switches isolation off for the namespace.
            await kubectlOk([
                'patch',
                'networkpolicy',
                'isolation-default-deny',
                '-n',
                nsApi1,
                '--type=merge',
                '-p',
                JSON.stringify({ spec: { podSelector: { matchLabels: { nobody: 'here' } } } }),
            ]);
            await eventually(
                'the default-deny podSelector back to {} (all pods)',
                async () => {
                    const np = await getObj('networkpolicy', 'isolation-default-deny', nsApi1);
                    const sel = np?.spec?.podSelector as { matchLabels?: Record<string, string> } | undefined;
                    return sel !== undefined && Object.keys(sel.matchLabels ?? {}).length === 0;
                },
                20_000,
            );
        });

        it('on deletion with Delete removes the generated objects and the namespace label', async function () {
            this.timeout(90_000);
            await deleteProfile(api);
            for (const ns of [nsApi1, nsApi2]) {
                assert.deepEqual(await names('networkpolicies', ns), [], ns);
                assert.deepEqual(await names('rolebindings', ns), [], ns);
                await eventually(
                    `label removed from ${ns}`,
                    async () => (await namespaceLabel(ns)) === undefined,
                );
            }
        });

        it('on deletion with Orphan leaves the objects, unlabelled and without ownerReference', async function () {
            this.timeout(90_000);
            const uid = (await getObj('isolationprofile', web))?.metadata.uid;
            assert.ok(uid, `${web} has a uid`);
            await deleteProfile(web);
            const nps = await list('networkpolicies', nsWeb);
            const rbs = await list('rolebindings', nsWeb);
            assert.ok(
                nps.some((n) => n.metadata.name === 'isolation-default-deny'),
                'default-deny kept',
            );
            assert.ok(
                rbs.some((r) => r.metadata.name === 'isolation-access-viewers'),
                'binding kept',
            );
            // Barrier: the garbage collector has processed the profile's deletion. A ConfigMap created now with
            // an ownerReference to the deleted profile is collected once the collector sees it; only then look
            // again at what it could have taken.
            const sentinel = testEnv().uniqueName('gc-sentinel');
            const created = await testEnv().kubectl(['create', '-f', '-'], {
                input: JSON.stringify({
                    apiVersion: 'v1',
                    kind: 'ConfigMap',
                    metadata: {
                        name: sentinel,
                        namespace: nsWeb,
                        ownerReferences: [
                            {
                                apiVersion: 'isolation.dev/v1alpha1',
                                kind: 'IsolationProfile',
                                name: web,
                                uid,
                            },
                        ],
                    },
                }),
            });
            assert.equal(created.code, 0, created.stderr);
            await eventually(
                'the garbage collector removes the sentinel owned by the deleted profile',
                async () => (await getObj('configmap', sentinel, nsWeb)) === undefined,
                60_000,
            );
            for (const o of [
                ...(await list('networkpolicies', nsWeb)),
                ...(await list('rolebindings', nsWeb)),
            ]) {
                assert.equal(o.metadata.labels?.[MANAGED_BY], undefined, `${o.metadata.name} still managed`);
                assert.equal(
                    o.metadata.labels?.[PROFILE_LABEL],
                    undefined,
                    `${o.metadata.name} still labelled`,
                );
                assert.deepEqual(o.metadata.ownerReferences ?? [], [], `${o.metadata.name} still owned`);
            }
            assert.ok(
                (await list('networkpolicies', nsWeb)).length >= 1,
                'orphans survive the garbage collector',
            );
            await eventually(
                `label removed from ${nsWeb}`,
                async () => (await namespaceLabel(nsWeb)) === undefined,
            );
        });

        it('the audit log shows no request of the operator answered 403, and only verbs config/rbac grants', async function () {
            this.timeout(60_000);
            const events = await operatorRequests(scenarioStart);
            assert.ok(
                events.length > 20,
                `expected the operator's requests in the audit log, got ${events.length}`,
            );
            const forbidden = events.filter((e) => e.responseStatus?.code === 403);
            assert.deepEqual(forbidden.map(describeEvent), [], 'forbidden requests of the operator');

            const writes = events.filter((e) => ['create', 'patch', 'update', 'delete'].includes(e.verb));
            assert.ok(writes.length > 10, `expected writes of the operator, got ${writes.length}`);
            const grants = await grantsFromConfig();
            const outside = events.filter((e) => !granted(e, grants));
            assert.deepEqual(
                [...new Set(outside.map((e) => `${e.verb} ${e.requestURI.split('?')[0]}`))],
                [],
                'requests outside config/rbac',
            );
            const used = [
                ...new Set(
                    events.map((e) => {
                        const o = e.objectRef ?? {};
                        return `${e.verb} ${[o.apiGroup, o.resource, o.subresource].filter(Boolean).join('/') || e.requestURI}`;
                    }),
                ),
            ].sort();
            // Never a write to namespaces other than patch, never anything on secrets.
            assert.ok(!used.some((u) => /^(create|delete|update) namespaces$/.test(u)), used.join(', '));
            assert.ok(!used.some((u) => u.includes('secrets')), used.join(', '));
        });
    });

    describe('a profile referencing a ClusterRole outside the bind list', function () {
        const hex = uniqueName('f').slice(2);
        const team = `sec-forbid-${hex}`;
        const forbidding = `sec-forbid-${hex}`;
        const other = `sec-other-${hex}`;
        const customRole = `sec-secret-reader-${hex}`;
        let windowStart: Date;
        let nsA = '';
        let nsB = '';
        let nsOther = '';

        before(async () => {
            windowStart = new Date(Date.now() - 1000);
            clusterRoles.push(customRole);
            await kubectlOk(['create', 'clusterrole', customRole, '--verb=get,list', '--resource=secrets']);
            nsA = await testEnv().createNamespace('sec-forbid-a', { 'isolation.dev/team': team });
            nsB = await testEnv().createNamespace('sec-forbid-b', { 'isolation.dev/team': team });
            nsOther = await testEnv().createNamespace('sec-other');
            namespaces.push(nsA, nsB, nsOther);
            profiles.push(forbidding, other);
            await kubectlOk(
                ['apply', '-f', '-'],
                profile(forbidding, {
                    namespaces: { selector: { matchLabels: { 'isolation.dev/team': team } } },
                    access: [
                        {
                            name: 'developers',
                            roleRef: { kind: 'ClusterRole', name: 'edit' },
                            subjects: [{ kind: 'Group', name: `devs-${hex}` }],
                        },
                        {
                            name: 'admins',
                            roleRef: { kind: 'ClusterRole', name: 'cluster-admin' },
                            subjects: [{ kind: 'Group', name: `admins-${hex}` }],
                        },
                        {
                            name: 'secret-readers',
                            roleRef: { kind: 'ClusterRole', name: customRole },
                            subjects: [{ kind: 'User', name: `mallory-${hex}@example.com` }],
                        },
                    ],
                }),
            );
            await kubectlOk(['apply', '-f', '-'], profile(other, { namespaces: { names: [nsOther] } }));
        });

        it('reports the refusal on the profile status (Ready=False / Stalled=True)', async function () {
            this.timeout(60_000);
            const p = await observed(forbidding, (x) => condition(x, 'Ready')?.status === 'False');
            const ready = condition(p, 'Ready');
            const stalled = condition(p, 'Stalled');
            assert.equal(stalled?.status, 'True', `Stalled: ${JSON.stringify(stalled)}`);
            for (const c of [ready, stalled]) {
                assert.match(c?.message ?? '', /forbidden/i, `${c?.type}: ${c?.message}`);
                assert.match(c?.message ?? '', /isolation-access-admins/, `${c?.type}: ${c?.message}`);
                assert.match(
                    c?.message ?? '',
                    /isolation-access-secret-readers/,
                    `${c?.type}: ${c?.message}`,
                );
            }
            assert.equal(p.status?.namespaces?.failed, 2);
            // Referenced roles exist: this is a refusal, not a missing reference.
            assert.equal(condition(p, 'ReferencesResolved')?.status, 'True');
        });

        it('creates no RoleBinding to a role outside the bind list', async () => {
            for (const ns of [nsA, nsB]) {
                assert.equal(await getObj('rolebinding', 'isolation-access-admins', ns), undefined, ns);
                assert.equal(
                    await getObj('rolebinding', 'isolation-access-secret-readers', ns),
                    undefined,
                    ns,
                );
            }
            const all = JSON.parse(await kubectlOk(['get', 'rolebindings', '-A', '-o', 'json'])) as {
                items: Obj[];
            };
            const bad = all.items.filter((rb) =>
                ['cluster-admin', customRole].includes(rb.roleRef?.name ?? ''),
            );
            assert.deepEqual(
                bad.map((rb) => `${rb.metadata.namespace}/${rb.metadata.name}`),
                [],
                'RoleBindings to cluster-admin or the custom role',
            );
        });

        it('still enforces the other objects of that profile and other profiles', async function () {
            this.timeout(60_000);
            for (const ns of [nsA, nsB]) {
                const nps = await eventually(`NetworkPolicies in ${ns}`, async () => {
                    const n = await names('networkpolicies', ns);
                    return n.includes('isolation-default-deny') ? n : undefined;
                });
                assert.deepEqual(
                    nps,
                    ['isolation-default-deny', 'isolation-dns', 'isolation-same-namespace'],
                    ns,
                );
                assert.deepEqual(await names('rolebindings', ns), ['isolation-access-developers'], ns);
                assert.equal(await namespaceLabel(ns), forbidding);
            }
            const p = await observed(other, (x) => condition(x, 'Ready')?.status === 'True');
            assert.equal(p.status?.namespaces?.enforced, 1);
            assert.ok((await names('networkpolicies', nsOther)).includes('isolation-default-deny'));
        });

        it('the API server refused it: the audit log shows the 403s for those RoleBindings', async () => {
            const events = await operatorRequests(windowStart);
            const refused = events.filter(
                (e) =>
                    e.responseStatus?.code === 403 &&
                    e.objectRef?.resource === 'rolebindings' &&
                    ['create', 'patch', 'update'].includes(e.verb),
            );
            const seen = new Set(refused.map((e) => `${e.objectRef?.namespace}/${e.objectRef?.name}`));
            for (const ns of [nsA, nsB])
                for (const rb of ['isolation-access-admins', 'isolation-access-secret-readers'])
                    assert.ok(
                        seen.has(`${ns}/${rb}`),
                        `no 403 for ${ns}/${rb}; 403s: ${[...seen].join(', ')}`,
                    );
            // A refusal retrying cannot fix is not retried in a loop.
            assert.ok(refused.length <= 16, `${refused.length} refused requests: retried in a loop?`);
        });

        it('the refusal can be cleaned up: deleting the profile removes what it created', async function () {
            this.timeout(90_000);
            await deleteProfile(forbidding);
            for (const ns of [nsA, nsB]) {
                assert.deepEqual(await names('networkpolicies', ns), [], ns);
                assert.deepEqual(await names('rolebindings', ns), [], ns);
            }
        });
    });

    describe('over the whole file', () => {
        it('the only 403s of the operator are the refused RoleBindings', async () => {
            const expected = /^isolation-access-(admins|secret-readers)$/;
            const events = await operatorRequests(fileStart);
            const unexpected = events.filter(
                (e) =>
                    e.responseStatus?.code === 403 &&
                    !(e.objectRef?.resource === 'rolebindings' && expected.test(e.objectRef.name ?? '')),
            );
            assert.deepEqual(
                unexpected.map(describeEvent),
                [],
                'unexpected forbidden requests of the operator',
            );
        });
    });
});
