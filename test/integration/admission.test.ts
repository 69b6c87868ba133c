/**
 * The admission policies of config/admission, enforced by a real kube-apiserver (RBAC on).
 *
 * Each policy is exercised with one allowed and one denied request, as the identities that matter: a cluster
 * admin (system:masters), users with and without the rights (client certificates), the operator's own
 * ServiceAccount token, and pods with the right, a wrong and no identity label (pods are accepted without any
 * kubelet). Policies take a moment to become effective after they are created, so each group first polls a
 * known-denied request (server-side dry run, no side effects) until it is denied.
 *
 * The policies are cluster-wide: they are removed again after this file so other suites see a plain API server.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { testEnv } from './env.ts';

const REPO = join(import.meta.dirname, '..', '..');
const ADMISSION = join(REPO, 'config', 'admission');
const RBAC = join(REPO, 'config', 'rbac');
const OPERATOR_NS = 'isolation-system';
const OPERATOR_SA = 'isolation-operator';
const PLATFORM_GROUP = 'isolation-platform-admins';
const MANAGED = { 'app.kubernetes.io/managed-by': 'isolation-operator', 'isolation.dev/profile': 'payments' };

interface Result {
    code: number;
    stdout: string;
    stderr: string;
}

/** Run kubectl as `kubeconfig` (admin by default), feeding `input` as JSON on stdin. */
async function kubectl(args: string[], options: { as?: string; input?: unknown } = {}): Promise<Result> {
    const opts: { kubeconfig?: string; input?: string } = {};
    if (options.as) opts.kubeconfig = options.as;
    if (options.input !== undefined) opts.input = JSON.stringify(options.input);
    return testEnv().kubectl(args, opts);
}

async function mustSucceed(args: string[], options: { as?: string; input?: unknown } = {}): Promise<Result> {
    const res = await kubectl(args, options);
    assert.equal(res.code, 0, `kubectl ${args.join(' ')} failed: ${res.stderr}`);
    return res;
}

/** Assert that the request was refused by the named admission policy (not by RBAC or schema validation). */
function assertDeniedBy(res: Result, policy: string, message?: RegExp): void {
    assert.notEqual(res.code, 0, `expected a denial by ${policy}, got success: ${res.stdout}`);
    assert.match(res.stderr, new RegExp(`ValidatingAdmissionPolicy '${policy}'`), res.stderr);
    if (message) assert.match(res.stderr, message);
}

/** Retry `attempt` until it reports true (the policy is in force) or 30 s pass. */
async function eventually(what: string, attempt: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
        if (await attempt()) return;
        if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
        await new Promise((r) => setTimeout(r, 250));
    }
}

/** Poll a server-side dry run that the policy must deny, until it is denied. */
async function waitForDenial(policy: string, args: string[], options: { as?: string; input?: unknown }) {
    let last = '';
    try {
        await eventually(`${policy} is enforced`, async () => {
            const res = await kubectl([...args, '--dry-run=server'], options);
            last = res.code === 0 ? res.stdout : res.stderr;
            return res.code !== 0 && res.stderr.includes(policy);
        });
    } catch (err) {
        throw new Error(`${(err as Error).message}; last answer: ${last}`);
    }
}

function clusterRole(name: string, rules: unknown[]): unknown {
    return { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules };
}

function clusterRoleBinding(name: string, role: string, user: string): unknown {
    return {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
    };
}

function networkPolicy(namespace: string, name: string, labels: Record<string, string>): unknown {
    return {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name, namespace, labels },
        spec: { podSelector: {}, policyTypes: ['Ingress'] },
    };
}

function pod(namespace: string, name: string, serviceAccountName?: string, labels?: Record<string, string>) {
    return {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace, ...(labels ? { labels } : {}) },
        spec: {
            ...(serviceAccountName ? { serviceAccountName } : {}),
            containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }],
        },
    };
}

function profile(name: string, roleRef: { kind: string; name: string }): unknown {
    return {
        apiVersion: 'isolation.dev/v1alpha1',
        kind: 'IsolationProfile',
        metadata: { name },
        spec: {
            // A tenant profile: its authors hold `claim` on tenants/admission (the tenancy policy).
            tenant: 'admission',
            namespaces: { names: [`${name}-ns`] },
            access: [{ name: 'developers', roleRef, subjects: [{ kind: 'Group', name: 'developers' }] }],
        },
    };
}

describe('admission policies (config/admission)', function () {
    this.timeout(180_000);
    const cleanup: string[][] = [];
    let operator: string;

    before(async () => {
        const env = testEnv();
        await mustSucceed(['apply', '-k', ADMISSION]);
        // The operator's real RBAC, and a token for its ServiceAccount.
        await kubectl(['create', 'namespace', OPERATOR_NS]);
        await mustSucceed(['apply', '-k', RBAC]);
        operator = await env.serviceAccountKubeconfig(OPERATOR_NS, OPERATOR_SA);
    });

    after(async () => {
        await kubectl(['delete', '-k', ADMISSION, '--ignore-not-found', '--wait=false']);
        for (const args of cleanup.reverse()) await kubectl([...args, '--ignore-not-found', '--wait=false']);
    });

    describe('IsolationProfile authors must be able to bind the roles they reference', () => {
        const policy = 'isolation-operator-profile-role-bind';
        let binder: string;
        let nonBinder: string;

        before(async () => {
            const env = testEnv();
            const binderName = env.uniqueName('profile-binder');
            const nonBinderName = env.uniqueName('profile-writer');
            binder = await env.addUser(binderName, []);
            nonBinder = await env.addUser(nonBinderName, []);
            const writer = env.uniqueName('iso-profile-writer');
            const bindEdit = env.uniqueName('iso-bind-edit');
            await mustSucceed(['apply', '-f', '-'], {
                input: {
                    apiVersion: 'v1',
                    kind: 'List',
                    items: [
                        clusterRole(writer, [
                            {
                                apiGroups: ['isolation.dev'],
                                resources: ['isolationprofiles'],
                                verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'],
                            },
                        ]),
                        clusterRole(bindEdit, [
                            {
                                apiGroups: ['rbac.authorization.k8s.io'],
                                resources: ['clusterroles'],
                                verbs: ['bind'],
                                resourceNames: ['edit'],
                            },
                        ]),
                        clusterRole(`${writer}-claim`, [
                            {
                                apiGroups: ['isolation.dev'],
                                resources: ['tenants'],
                                verbs: ['claim'],
                                resourceNames: ['admission'],
                            },
                        ]),
                        clusterRoleBinding(`${writer}-claim-a`, `${writer}-claim`, binderName),
                        clusterRoleBinding(`${writer}-claim-b`, `${writer}-claim`, nonBinderName),
                        clusterRoleBinding(`${writer}-a`, writer, binderName),
                        clusterRoleBinding(`${writer}-b`, writer, nonBinderName),
                        clusterRoleBinding(bindEdit, bindEdit, binderName),
                    ],
                },
            });
            cleanup.push(['delete', 'clusterrole', writer, bindEdit, `${writer}-claim`]);
            cleanup.push([
                'delete',
                'clusterrolebinding',
                `${writer}-a`,
                `${writer}-b`,
                bindEdit,
                `${writer}-claim-a`,
                `${writer}-claim-b`,
            ]);
            await waitForDenial(policy, ['create', '-f', '-'], {
                as: nonBinder,
                input: profile(env.uniqueName('probe'), { kind: 'ClusterRole', name: 'edit' }),
            });
        });

        it('lets a user who may bind ClusterRole edit create a profile that references it', async () => {
            const name = testEnv().uniqueName('bindable');
            cleanup.push(['delete', 'isolationprofile', name]);
            await mustSucceed(['create', '-f', '-'], {
                as: binder,
                input: profile(name, { kind: 'ClusterRole', name: 'edit' }),
            });
        });

        it('rejects a profile referencing a ClusterRole its author may not bind, naming the role', async () => {
            const res = await kubectl(['create', '-f', '-'], {
                as: binder,
                input: profile(testEnv().uniqueName('escalate'), { kind: 'ClusterRole', name: 'admin' }),
            });
            assertDeniedBy(res, policy, /clusterroles\/admin/);
        });

        it('rejects any role reference from a user without bind', async () => {
            const res = await kubectl(['create', '-f', '-'], {
                as: nonBinder,
                input: profile(testEnv().uniqueName('nobind'), { kind: 'ClusterRole', name: 'edit' }),
            });
            assertDeniedBy(res, policy, /clusterroles\/edit/);
        });

        it('requires cluster-wide bind for a namespaced Role reference', async () => {
            const res = await kubectl(['create', '-f', '-'], {
                as: binder,
                input: profile(testEnv().uniqueName('role'), { kind: 'Role', name: 'deployer' }),
            });
            assertDeniedBy(res, policy, /roles\/deployer/);
        });

        it('does not check metadata-only updates (finalizers, labels) of an existing profile', async () => {
            const name = testEnv().uniqueName('meta');
            cleanup.push(['delete', 'isolationprofile', name]);
            await mustSucceed(['create', '-f', '-'], {
                input: profile(name, { kind: 'ClusterRole', name: 'admin' }),
            });
            await mustSucceed(['label', 'isolationprofile', name, 'team=payments'], { as: nonBinder });
            const res = await kubectl(
                [
                    'patch',
                    'isolationprofile',
                    name,
                    '--type=merge',
                    '-p',
                    '{"spec":{"namespaces":{"names":["other"]}}}',
                ],
                { as: nonBinder },
            );
            assertDeniedBy(res, policy, /clusterroles\/admin/);
        });
    });

    describe('only the operator changes objects labelled managed-by isolation-operator', () => {
        const policy = 'isolation-operator-managed-objects';
        let namespace: string;
        let tenant: string;

        before(async () => {
            const env = testEnv();
            namespace = await env.createNamespace('admission-managed');
            // The operator writes generated objects only where it governs (isolation-operator-bounds): it labels
            // the namespace for the profile first, as it does when reconciling.
            await mustSucceed(['label', 'namespace', namespace, 'isolation.dev/profile=payments'], {
                as: operator,
            });
            const tenantName = env.uniqueName('tenant');
            tenant = await env.addUser(tenantName, []);
            // The tenant is admin of its namespace: RBAC lets it write NetworkPolicies and RoleBindings there.
            await mustSucceed([
                'create',
                'rolebinding',
                'tenant-admin',
                '--clusterrole=admin',
                `--user=${tenantName}`,
                '-n',
                namespace,
            ]);
            await waitForDenial(policy, ['create', '-f', '-'], {
                as: tenant,
                input: networkPolicy(namespace, 'probe', MANAGED),
            });
            await mustSucceed(['create', '-f', '-'], {
                as: operator,
                input: networkPolicy(namespace, 'isolation-default-deny', MANAGED),
            });
        });

        it('lets the operator ServiceAccount create and update a managed NetworkPolicy', async () => {
            await mustSucceed(['create', '-f', '-'], {
                as: operator,
                input: networkPolicy(namespace, 'isolation-dns', MANAGED),
            });
            await mustSucceed(['label', 'networkpolicy', 'isolation-dns', 'extra=1', '-n', namespace], {
                as: operator,
            });
            await mustSucceed(['delete', 'networkpolicy', 'isolation-dns', '-n', namespace], {
                as: operator,
            });
        });

        it('denies a tenant editing, unlabelling or deleting a managed NetworkPolicy', async () => {
            const patch = await kubectl(
                [
                    'patch',
                    'networkpolicy',
                    'isolation-default-deny',
                    '-n',
                    namespace,
                    '--type=merge',
                    '-p',
                    '{"spec":{"policyTypes":["Egress"]}}',
                ],
                { as: tenant },
            );
            assertDeniedBy(patch, policy, /may only be changed by isolation-operator/);
            const unlabel = await kubectl(
                [
                    'label',
                    'networkpolicy',
                    'isolation-default-deny',
                    'app.kubernetes.io/managed-by-',
                    '-n',
                    namespace,
                ],
                { as: tenant },
            );
            assertDeniedBy(unlabel, policy);
            const del = await kubectl(
                ['delete', 'networkpolicy', 'isolation-default-deny', '-n', namespace],
                { as: tenant },
            );
            assertDeniedBy(del, policy);
        });

        it('denies a tenant forging a managed RoleBinding but allows its own unlabelled objects', async () => {
            const forged = await kubectl(['create', '-f', '-'], {
                as: tenant,
                input: {
                    apiVersion: 'rbac.authorization.k8s.io/v1',
                    kind: 'RoleBinding',
                    metadata: { name: 'isolation-access-devs', namespace, labels: MANAGED },
                    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
                    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'devs' }],
                },
            });
            assertDeniedBy(forged, policy);
            await mustSucceed(['create', '-f', '-'], {
                as: tenant,
                input: networkPolicy(namespace, 'team-own', { team: 'a' }),
            });
        });

        it('lets a cluster admin (system:masters, as the garbage collector may run) delete a managed object', async () => {
            await mustSucceed(['create', '-f', '-'], {
                as: operator,
                input: networkPolicy(namespace, 'isolation-same-namespace', MANAGED),
            });
            await mustSucceed(['delete', 'networkpolicy', 'isolation-same-namespace', '-n', namespace]);
        });
    });

    describe('isolation.dev/ namespace labels', () => {
        const policy = 'isolation-operator-namespace-labels';
        let tenant: string;
        let platform: string;

        before(async () => {
            const env = testEnv();
            const tenantName = env.uniqueName('ns-tenant');
            const platformName = env.uniqueName('ns-platform');
            tenant = await env.addUser(tenantName, []);
            platform = await env.addUser(platformName, [PLATFORM_GROUP]);
            const role = env.uniqueName('iso-ns-writer');
            await mustSucceed(['apply', '-f', '-'], {
                input: {
                    apiVersion: 'v1',
                    kind: 'List',
                    items: [
                        clusterRole(role, [
                            {
                                apiGroups: [''],
                                resources: ['namespaces'],
                                verbs: ['get', 'list', 'create', 'update', 'patch'],
                            },
                        ]),
                        clusterRoleBinding(`${role}-t`, role, tenantName),
                        clusterRoleBinding(`${role}-p`, role, platformName),
                    ],
                },
            });
            cleanup.push(['delete', 'clusterrole', role]);
            cleanup.push(['delete', 'clusterrolebinding', `${role}-t`, `${role}-p`]);
            await waitForDenial(policy, ['create', '-f', '-'], {
                as: tenant,
                input: {
                    apiVersion: 'v1',
                    kind: 'Namespace',
                    metadata: { name: env.uniqueName('probe'), labels: { 'isolation.dev/team': 'x' } },
                },
            });
        });

        it('lets the platform group set isolation.dev/team but not a tenant', async () => {
            const ns = await testEnv().createNamespace('labels-team');
            await mustSucceed(['label', 'namespace', ns, 'isolation.dev/team=payments'], { as: platform });
            const res = await kubectl(['label', 'namespace', ns, '--overwrite', 'isolation.dev/team=web'], {
                as: tenant,
            });
            assertDeniedBy(res, policy, /isolation\.dev\/team/);
            const removal = await kubectl(['label', 'namespace', ns, 'isolation.dev/team-'], { as: tenant });
            assertDeniedBy(removal, policy);
        });

        it('leaves labels outside isolation.dev/ to ordinary RBAC', async () => {
            const ns = await testEnv().createNamespace('labels-other', { 'isolation.dev/team': 'payments' });
            await mustSucceed(['label', 'namespace', ns, 'cost-center=42'], { as: tenant });
        });

        it('lets only the operator ServiceAccount write isolation.dev/profile', async () => {
            const ns = await testEnv().createNamespace('labels-profile');
            await mustSucceed(['label', 'namespace', ns, 'isolation.dev/profile=payments'], { as: operator });
            for (const who of [tenant, platform, undefined]) {
                const change = await kubectl(
                    ['label', 'namespace', ns, '--overwrite', 'isolation.dev/profile=web'],
                    who ? { as: who } : {},
                );
                assertDeniedBy(change, policy, /written by isolation-operator only/);
            }
            const removal = await kubectl(['label', 'namespace', ns, 'isolation.dev/profile-'], {
                as: tenant,
            });
            assertDeniedBy(removal, policy);
            await mustSucceed(['label', 'namespace', ns, 'isolation.dev/profile-'], { as: operator });
        });

        it('denies creating a namespace that claims a profile', async () => {
            const res = await kubectl(['create', '-f', '-'], {
                as: platform,
                input: {
                    apiVersion: 'v1',
                    kind: 'Namespace',
                    metadata: {
                        name: testEnv().uniqueName('claim'),
                        labels: { 'isolation.dev/profile': 'payments' },
                    },
                },
            });
            assertDeniedBy(res, policy);
        });
    });

    describe('pod identity label isolation.dev/service-account', () => {
        const policy = 'isolation-operator-pod-identity';
        let namespace: string;

        function labelOf(res: Result): string | undefined {
            const obj = JSON.parse(res.stdout) as { metadata: { labels?: Record<string, string> } };
            return obj.metadata.labels?.['isolation.dev/service-account'];
        }

        before(async () => {
            namespace = await testEnv().createNamespace('admission-pods');
            await waitForDenial(policy, ['create', '-f', '-'], {
                input: pod(namespace, 'probe', 'builder', { 'isolation.dev/service-account': 'admin' }),
            });
            await eventually('the mutating policy is in force', async () => {
                const res = await kubectl(['create', '-f', '-', '--dry-run=server', '-o', 'json'], {
                    input: pod(namespace, 'probe', 'builder'),
                });
                return res.code === 0 && labelOf(res) === 'builder';
            });
        });

        it('sets the label from spec.serviceAccountName on a pod without it', async () => {
            const res = await mustSucceed(['create', '-f', '-', '-o', 'json'], {
                input: pod(namespace, 'unlabelled', 'builder'),
            });
            assert.equal(labelOf(res), 'builder');
        });

        it('uses "default" when the pod names no ServiceAccount', async () => {
            const res = await mustSucceed(['create', '-f', '-', '-o', 'json'], {
                input: pod(namespace, 'no-sa'),
            });
            assert.equal(labelOf(res), 'default');
        });

        it('accepts a pod whose label already names its own ServiceAccount', async () => {
            const res = await mustSucceed(['create', '-f', '-', '-o', 'json'], {
                input: pod(namespace, 'right', 'builder', {
                    app: 'web',
                    'isolation.dev/service-account': 'builder',
                }),
            });
            assert.equal(labelOf(res), 'builder');
        });

        it('rejects a pod whose label names another ServiceAccount', async () => {
            const res = await kubectl(['create', '-f', '-'], {
                input: pod(namespace, 'spoofed', 'builder', {
                    'isolation.dev/service-account': 'prometheus',
                }),
            });
            assertDeniedBy(
                res,
                policy,
                /must name the ServiceAccount of the pod \(builder\), not prometheus/,
            );
        });

        it('rejects relabelling a running pod to another identity, and restores a removed label', async () => {
            await mustSucceed(['create', '-f', '-'], { input: pod(namespace, 'relabel', 'builder') });
            const res = await kubectl([
                'label',
                'pod',
                'relabel',
                '--overwrite',
                'isolation.dev/service-account=prometheus',
                '-n',
                namespace,
            ]);
            assertDeniedBy(res, policy);
            await mustSucceed(['label', 'pod', 'relabel', 'isolation.dev/service-account-', '-n', namespace]);
            const after = await mustSucceed(['get', 'pod', 'relabel', '-n', namespace, '-o', 'json']);
            assert.equal(labelOf(after), 'builder');
        });
    });
});
