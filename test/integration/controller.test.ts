/**
 * The operator end to end against the real API server: it runs as a child process under its own ServiceAccount
 * (config/rbac) and every expectation is read back from the cluster. Covers generation for the samples, namespace
 * churn, ServiceAccount changes, profile edits, conflicts, deletion policies, drift policies, DryRun, suspend,
 * GitOps tracking labels, zero writes on resync and restart (from the audit log), and an API server restart.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CoreV1Api, NetworkingV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { V1NetworkPolicy, V1RoleBinding } from '@kubernetes/client-node';

import type { IsolationProfile, IsolationProfileSpec } from '../../src/api/types.ts';
import { byUser, describe as describeEvent, readAuditSettled, writes } from '../support/audit.ts';
import { eventually, sleep } from '../support/eventually.ts';
import {
    installOperatorRbac,
    metricValue,
    OPERATOR_USER,
    REPO,
    startOperatorProcess,
} from '../support/operator.ts';
import type { OperatorProcess } from '../support/operator.ts';
import { testEnv } from './env.ts';

const MANAGED = 'app.kubernetes.io/managed-by=isolation-operator';

/** Test labels under isolation.dev/ (keys that already have a prefix are kept). */
function iso<V>(labels: Record<string, V>): Record<string, V> {
    return Object.fromEntries(
        Object.entries(labels).map(([k, v]) => [k.includes('/') ? k : `isolation.dev/${k}`, v]),
    );
}

describe('operator (end to end, under its own ServiceAccount)', function () {
    this.timeout(180_000);
    let operatorKubeconfig: string;
    let op: OperatorProcess | undefined;
    const created: string[] = [];

    const env = () => testEnv();
    const core = () => env().kc().makeApiClient(CoreV1Api);
    const net = () => env().kc().makeApiClient(NetworkingV1Api);
    const rbac = () => env().kc().makeApiClient(RbacAuthorizationV1Api);

    async function kubectl(args: string[], input?: string): Promise<string> {
        const res = await env().kubectl(args, input === undefined ? {} : { input });
        if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${res.stderr}`);
        return res.stdout;
    }

    async function applyProfile(
        name: string,
        spec: IsolationProfileSpec,
        meta: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
    ): Promise<void> {
        if (!created.includes(name)) created.push(name);
        const body = {
            apiVersion: 'isolation.dev/v1alpha1',
            kind: 'IsolationProfile',
            metadata: { name, ...meta },
            spec,
        };
        await kubectl(
            ['apply', '--server-side', '--field-manager=test', '--force-conflicts', '-f', '-'],
            JSON.stringify(body),
        );
    }

    async function profile(name: string): Promise<IsolationProfile> {
        return JSON.parse(await kubectl(['get', 'isolationprofile', name, '-o', 'json'])) as IsolationProfile;
    }

    async function deleteProfile(name: string): Promise<void> {
        await kubectl([
            'delete',
            'isolationprofile',
            name,
            '--ignore-not-found',
            '--wait=true',
            '--timeout=60s',
        ]);
    }

    async function waitReady(name: string, readyStatus = 'True'): Promise<IsolationProfile> {
        return eventually(`profile ${name} Ready=${readyStatus} at its generation`, async () => {
            const p = await profile(name);
            const ready = p.status?.conditions?.find((c) => c.type === 'Ready');
            return p.status?.observedGeneration === p.metadata.generation && ready?.status === readyStatus
                ? p
                : undefined;
        });
    }

    async function policies(ns: string): Promise<V1NetworkPolicy[]> {
        return (await net().listNamespacedNetworkPolicy({ namespace: ns, labelSelector: MANAGED })).items;
    }
    async function policyNames(ns: string): Promise<string[]> {
        return (await policies(ns)).map((p) => p.metadata!.name!).sort();
    }
    async function bindings(ns: string): Promise<V1RoleBinding[]> {
        return (await rbac().listNamespacedRoleBinding({ namespace: ns, labelSelector: MANAGED })).items;
    }
    async function nsLabel(ns: string): Promise<string | undefined> {
        return (await core().readNamespace({ name: ns })).metadata?.labels?.['isolation.dev/profile'];
    }
    async function namesEqual(ns: string, want: string[]): Promise<true | undefined> {
        const got = await policyNames(ns);
        return JSON.stringify(got) === JSON.stringify([...want].sort()) ? true : undefined;
    }
    async function relabel(ns: string, labels: Record<string, string | null>): Promise<void> {
        await kubectl([
            'patch',
            'namespace',
            ns,
            '--type=merge',
            '-p',
            JSON.stringify({ metadata: { labels: iso(labels) } }),
        ]);
    }

    /** Waits until the operator's write counter has not moved for 2 s (bounded): the cluster is converged. */
    async function quiet(): Promise<void> {
        let last = -1;
        let stableSince = Date.now();
        const deadline = Date.now() + 60_000;
        while (Date.now() < deadline) {
            const now = metricValue(await op!.metrics(), 'isolation_operator_writes_total');
            if (now !== last) {
                last = now;
                stableSince = Date.now();
            } else if (Date.now() - stableSince >= 2000) return;
            await sleep(250);
        }
        throw new Error('the operator kept writing for 60 s');
    }

    /**
     * Positive barrier before asserting that nothing happened: the namespace controller has finished at least
     * `atLeast` reconciles since `before` (a count read earlier) and every queue is empty.
     */
    async function namespaceReconciles(): Promise<number> {
        return metricValue(await op!.metrics(), 'controller_runtime_reconcile_total', {
            controller: 'namespace',
        });
    }
    async function reconciledSince(before: number, atLeast = 1): Promise<void> {
        await eventually(`${atLeast} namespace reconciles done and the queue drained`, async () => {
            const text = await op!.metrics();
            const done = metricValue(text, 'controller_runtime_reconcile_total', { controller: 'namespace' });
            const depth = metricValue(text, 'workqueue_depth'); // every queue, profiles included
            return done >= before + atLeast && depth === 0;
        });
    }

    // These profiles are cluster-wide (no tenant), which may select namespaces by isolation.dev/ labels only.
    const base = (selector: Record<string, string>): IsolationProfileSpec => ({
        namespaces: { selector: { matchLabels: iso(selector) } },
    });

    before(async function () {
        this.timeout(120_000);
        operatorKubeconfig = await installOperatorRbac(env().controlPlane);
        op = await startOperatorProcess(env().controlPlane, {
            kubeconfig: operatorKubeconfig,
            name: 'operator-e2e',
            args: ['--resync-period=4s', '--status-delay=100ms'],
        });
    });

    after(async function () {
        this.timeout(180_000);
        for (const name of created) await deleteProfile(name).catch(() => undefined);
        await op?.stop();
    });

    describe('the samples', () => {
        const samples = ['payments', 'platform-baseline', 'sandbox-trial', 'shop-api', 'shop-db', 'shop-web'];
        after(async () => {
            for (const s of samples) await deleteProfile(s);
            // shop-db is deletionPolicy Orphan: its objects stay, unmanaged, and the operator never adopts them
            // again. Remove them so a later test that applies the samples starts clean.
            await kubectl(['delete', 'networkpolicies,rolebindings', '--all', '-n', 'shop-db']);
        });

        it('generates, for every sample, exactly the planned objects, owned and labelled by the operator', async () => {
            await kubectl(['apply', '-f', join(REPO, 'test', 'demo', 'namespaces.yaml')]);
            await kubectl(['apply', '--server-side', '-k', join(REPO, 'config', 'samples')]);
            for (const s of samples) await waitReady(s, s === 'sandbox-trial' ? 'False' : 'True');

            assert.deepEqual(await policyNames('shop-web'), [
                'isolation-default-deny', 'isolation-dns', 'isolation-egress-to-api',
                'isolation-ingress-from-ingress-controller', 'isolation-same-namespace',
            ]); // prettier-ignore
            assert.deepEqual(await policyNames('tools'), [
                'isolation-default-deny',
                'isolation-dns',
                'isolation-same-namespace',
            ]);
            // The ServiceAccounts were created together with the profiles: their binding follows their watch events.
            const readers = await eventually('the readers binding', async () =>
                (await bindings('payments-prod')).find(
                    (b) => b.metadata?.name === 'isolation-sa-readers' && b.subjects?.length === 2,
                ),
            );
            assert.deepEqual(
                readers?.subjects?.map((s) => `${s.namespace}/${s.name}`),
                ['payments-prod/auditor', 'payments-prod/dashboards'],
            );
            assert.equal(readers?.roleRef.name, 'view');

            const payments = await profile('payments');
            for (const obj of [...(await policies('payments-prod')), ...(await bindings('payments-prod'))]) {
                assert.deepEqual(obj.metadata?.labels, {
                    'app.kubernetes.io/managed-by': 'isolation-operator',
                    'isolation.dev/profile': 'payments',
                });
                const owner = obj.metadata?.ownerReferences?.[0];
                assert.equal(owner?.uid, payments.metadata.uid);
                assert.equal(owner?.controller, true);
            }
            // peers reach the server intact (a lost `from` would allow traffic from anywhere)
            const fromIngress = (await policies('shop-web')).find(
                (p) => p.metadata?.name === 'isolation-ingress-from-ingress-controller',
            );
            const peer = fromIngress?.spec?.ingress?.[0]?._from?.[0];
            assert.deepEqual(peer?.namespaceSelector?.matchExpressions?.[0]?.values, ['ingress-nginx']);
            assert.deepEqual(peer?.podSelector?.matchLabels, { 'app.kubernetes.io/name': 'ingress-nginx' });
            const same = (await policies('shop-web')).find(
                (p) => p.metadata?.name === 'isolation-same-namespace',
            );
            assert.equal(same?.spec?.ingress?.[0]?._from?.length, 1, 'same-namespace ingress keeps its peer');
            // profile peers select the namespace label the operator keeps, in the profile's tenant
            const toApi = (await policies('shop-web')).find(
                (p) => p.metadata?.name === 'isolation-egress-to-api',
            );
            assert.deepEqual(toApi?.spec?.egress?.[0]?.to?.[0]?.namespaceSelector?.matchLabels, {
                'isolation.dev/profile': 'shop-api',
                'isolation.dev/tenant': 'shop',
            });
            assert.equal(await nsLabel('shop-api'), 'shop-api');

            // conflict: payments (priority 10) wins payments-prod over platform-baseline (priority -100)
            assert.equal(await nsLabel('payments-prod'), 'payments');
            const baseline = await profile('platform-baseline');
            assert.equal(baseline.status?.conditions?.find((c) => c.type === 'Conflict')?.status, 'True');
            assert.deepEqual(baseline.status?.conflicts, [
                { namespace: 'payments-prod', governedBy: 'payments' },
            ]);

            // DryRun: nothing written, the plan is in status
            assert.deepEqual(await policyNames('payments-sandbox'), []);
            assert.equal(await nsLabel('payments-sandbox'), undefined);
            const dry = await profile('sandbox-trial');
            assert.ok(
                (dry.status?.plan ?? []).some(
                    (a) => a.action === 'create' && a.name === 'isolation-default-deny',
                ),
            );
            assert.equal(dry.status?.mode, 'DryRun');
        });
    });

    it('isolates a new namespace and labels it for profile peers', async () => {
        const team = env().uniqueName('new');
        await applyProfile(team, base({ team }));
        await waitReady(team, 'False'); // NothingGoverned until the namespace exists
        const ns = await env().createNamespace('new', iso({ team }));
        await eventually('default-deny in the new namespace', () =>
            namesEqual(ns, ['isolation-default-deny', 'isolation-dns', 'isolation-same-namespace']),
        );
        const deny = (await policies(ns)).find((p) => p.metadata?.name === 'isolation-default-deny')!;
        assert.equal(JSON.stringify(deny.spec?.podSelector), '{}');
        assert.deepEqual(deny.spec?.policyTypes, ['Ingress', 'Egress']);
        assert.equal(await nsLabel(ns), team);
        const p = await eventually('status counts the namespace', async () => {
            const x = await profile(team);
            return x.status?.namespaces?.enforced === 1 ? x : undefined;
        });
        assert.equal(p.status?.objects?.networkPolicies, 3);
        assert.match(
            p.status?.conditions?.find((c) => c.type === 'Ready')?.message ?? '',
            /1\/1 namespaces enforced/,
        );
    });

    it('cleans a namespace relabelled out of scope and hands one relabelled into another scope over', async () => {
        const a = env().uniqueName('rel-a');
        const b = env().uniqueName('rel-b');
        await applyProfile(a, {
            ...base({ rel: a }),
            network: { ingress: [{ name: 'from-a', from: [{ profile: a }] }] },
        });
        await applyProfile(b, {
            ...base({ rel: b }),
            network: { ingress: [{ name: 'from-b', from: [{ profile: b }] }] },
        });
        const ns = await env().createNamespace('rel', iso({ rel: a }));
        await eventually('profile a governs', async () =>
            (await policyNames(ns)).includes('isolation-ingress-from-a') ? true : undefined,
        );
        assert.equal(await nsLabel(ns), a);

        await relabel(ns, { rel: b });
        await eventually('profile b takes over', async () => {
            const names = await policyNames(ns);
            return names.includes('isolation-ingress-from-b') && !names.includes('isolation-ingress-from-a')
                ? true
                : undefined;
        });
        assert.equal(await nsLabel(ns), b);
        for (const p of await policies(ns)) assert.equal(p.metadata?.labels?.['isolation.dev/profile'], b);

        await relabel(ns, { rel: null });
        await eventually('everything removed', () => namesEqual(ns, []));
        await eventually('namespace label removed', async () =>
            (await nsLabel(ns)) === undefined ? true : undefined,
        );
        assert.deepEqual(await bindings(ns), []);
    });

    it('reverts a foreign change of the isolation.dev/profile namespace label at once', async () => {
        const name = env().uniqueName('lbl');
        await applyProfile(name, base({ lbl: name }));
        const ns = await env().createNamespace('lbl', iso({ lbl: name }));
        await eventually('label set', async () => ((await nsLabel(ns)) === name ? true : undefined));
        await relabel(ns, { 'isolation.dev/profile': 'someone-else' });
        await eventually(
            'label reverted',
            async () => ((await nsLabel(ns)) === name ? true : undefined),
            10_000,
        );
        const other = await env().createNamespace('lbl-out');
        await relabel(other, { 'isolation.dev/profile': name });
        await eventually(
            'label on an ungoverned namespace removed',
            async () => ((await nsLabel(other)) === undefined ? true : undefined),
            10_000,
        );
    });

    it('keeps RoleBinding subjects in step with the ServiceAccounts of the namespace', async () => {
        const name = env().uniqueName('sa');
        await applyProfile(name, {
            ...base({ sa: name }),
            serviceAccounts: [
                {
                    name: 'readers',
                    selector: { matchLabels: { 'isolation.dev/role': 'reader' } },
                    roleRef: { kind: 'ClusterRole', name: 'view' },
                },
            ],
        });
        const ns = await env().createNamespace('sa', iso({ sa: name }));
        const subjects = async () =>
            (await bindings(ns))
                .find((b) => b.metadata?.name === 'isolation-sa-readers')
                ?.subjects?.map((s) => s.name) ?? [];
        const expectSubjects = (want: string[]) =>
            eventually(`subjects ${want.join(',')}`, async () =>
                JSON.stringify(await subjects()) === JSON.stringify(want) ? true : undefined,
            );
        const sa = (n: string, labels: Record<string, string>) =>
            core().createNamespacedServiceAccount({
                namespace: ns,
                body: { metadata: { name: n, labels: iso(labels) } },
            });

        await sa('r1', { role: 'reader' });
        await expectSubjects(['r1']);
        await sa('r2', { role: 'reader' });
        await sa('other', { role: 'writer' });
        await expectSubjects(['r1', 'r2']);
        await kubectl([
            'label',
            'serviceaccount',
            'r1',
            '-n',
            ns,
            'isolation.dev/role=writer',
            '--overwrite',
        ]);
        await expectSubjects(['r2']);
        await core().deleteNamespacedServiceAccount({ namespace: ns, name: 'r2' });
        await eventually('binding removed with its last subject', async () =>
            (await bindings(ns)).some((b) => b.metadata?.name === 'isolation-sa-readers') ? undefined : true,
        );
    });

    it('updates changed objects, prunes removed ones and replaces a RoleBinding whose role changed', async () => {
        const name = env().uniqueName('edit');
        const ns = await env().createNamespace('edit', iso({ edit: name }));
        await applyProfile(name, {
            ...base({ edit: name }),
            network: {
                ingress: [
                    { name: 'r1', ports: [{ port: 80 }] },
                    { name: 'r2', ports: [{ port: 81 }] },
                ],
            },
            access: [
                {
                    name: 'devs',
                    roleRef: { kind: 'ClusterRole', name: 'view' },
                    subjects: [{ kind: 'Group', name: 'devs' }],
                },
            ],
        });
        await eventually('first version', async () =>
            (await policyNames(ns)).includes('isolation-ingress-r2') ? true : undefined,
        );
        const rb1 = (await bindings(ns)).find((b) => b.metadata?.name === 'isolation-access-devs')!;
        assert.equal(rb1.roleRef.name, 'view');

        await applyProfile(name, {
            ...base({ edit: name }),
            network: { ingress: [{ name: 'r1', ports: [{ port: 8080 }] }] },
            access: [
                {
                    name: 'devs',
                    roleRef: { kind: 'ClusterRole', name: 'edit' },
                    subjects: [{ kind: 'Group', name: 'devs' }],
                },
            ],
        });
        await eventually('r2 pruned and r1 updated', async () => {
            const ps = await policies(ns);
            const r1 = ps.find((p) => p.metadata?.name === 'isolation-ingress-r1');
            return !ps.some((p) => p.metadata?.name === 'isolation-ingress-r2') &&
                r1?.spec?.ingress?.[0]?.ports?.[0]?.port === 8080
                ? true
                : undefined;
        });
        const rb2 = await eventually('role replaced', async () => {
            const rb = (await bindings(ns)).find((b) => b.metadata?.name === 'isolation-access-devs');
            return rb?.roleRef.name === 'edit' ? rb : undefined;
        });
        assert.notEqual(rb2.metadata?.uid, rb1.metadata?.uid, 'a roleRef change needs a new RoleBinding');
        await waitReady(name);
    });

    it('deletes generated objects with deletionPolicy Delete and leaves them unmanaged with Orphan', async () => {
        const del = env().uniqueName('del');
        const orph = env().uniqueName('orph');
        const nsDel = await env().createNamespace('del', iso({ del }));
        const nsOrph = await env().createNamespace('orph', iso({ orph }));
        await applyProfile(del, { ...base({ del }), deletionPolicy: 'Delete' });
        await applyProfile(orph, { ...base({ orph }), deletionPolicy: 'Orphan' });
        await eventually('both enforced', async () =>
            (await policyNames(nsDel)).length === 3 && (await policyNames(nsOrph)).length === 3
                ? true
                : undefined,
        );
        const p = await profile(del);
        assert.ok(p.metadata.finalizers?.includes('isolation.dev/cleanup'));

        await deleteProfile(del);
        assert.deepEqual(await policyNames(nsDel), []);
        await eventually('label removed after Delete', async () =>
            (await nsLabel(nsDel)) === undefined ? true : undefined,
        );

        const beforeOrphan = await namespaceReconciles();
        await deleteProfile(orph);
        const left = (await net().listNamespacedNetworkPolicy({ namespace: nsOrph })).items;
        assert.equal(left.length, 3, 'orphaned policies stay');
        for (const np of left) {
            assert.equal(np.metadata?.labels?.['app.kubernetes.io/managed-by'], undefined);
            assert.equal(np.metadata?.labels?.['isolation.dev/profile'], undefined);
            assert.deepEqual(np.metadata?.ownerReferences ?? [], []);
        }
        await eventually('label removed after Orphan', async () =>
            (await nsLabel(nsOrph)) === undefined ? true : undefined,
        );
        // The namespaces of the deleted profile were reconciled again after its finalizer ran.
        await reconciledSince(beforeOrphan);
        assert.equal(
            (await net().listNamespacedNetworkPolicy({ namespace: nsOrph })).items.length,
            3,
            'nothing collects orphans',
        );
    });

    it('removes the namespace label of a deleted profile when the next profile writes nothing (DryRun)', async () => {
        // Defect from the reliability run: an Orphan profile deleted while a DryRun profile also selected its
        // namespace left `isolation.dev/profile=<deleted>` behind, so other profiles' `profile` peers still matched.
        const orph = env().uniqueName('orphdry');
        const dry = env().uniqueName('dry-next');
        const ns = await env().createNamespace('orphdry', iso({ orphdry: orph }));
        await applyProfile(orph, { ...base({ orphdry: orph }), deletionPolicy: 'Orphan' });
        await applyProfile(dry, { ...base({ orphdry: orph }), mode: 'DryRun', priority: 50 });
        await eventually('the enforcing profile governs', async () =>
            (await nsLabel(ns)) === orph ? true : undefined,
        );
        await deleteProfile(orph);
        // Positive barrier: the DryRun profile has planned the namespace after the other one was gone.
        await eventually('the DryRun profile plans the namespace', async () => {
            const p = await profile(dry);
            return p.status?.observedGeneration === p.metadata.generation &&
                (p.status?.plan ?? []).some((a) => a.namespace === ns)
                ? true
                : undefined;
        });
        assert.equal(await nsLabel(ns), undefined, 'no label of a deleted profile');
        assert.equal((await policies(ns)).length, 0, 'orphans carry no managed label');
        assert.equal((await net().listNamespacedNetworkPolicy({ namespace: ns })).items.length, 3);
        await deleteProfile(dry);
    });

    it('corrects drift (Correct) and reports it without touching the object (Report)', async () => {
        const fix = env().uniqueName('fix');
        const rep = env().uniqueName('rep');
        const nsFix = await env().createNamespace('fix', iso({ fix }));
        const nsRep = await env().createNamespace('rep', iso({ rep }));
        await applyProfile(fix, base({ fix }));
        await applyProfile(rep, { ...base({ rep }), driftPolicy: 'Report' });
        await eventually('both enforced', async () =>
            (await policyNames(nsFix)).length === 3 && (await policyNames(nsRep)).length === 3
                ? true
                : undefined,
        );
        const patch = JSON.stringify({ spec: { policyTypes: ['Ingress'] } });
        await kubectl([
            'patch',
            'networkpolicy',
            'isolation-default-deny',
            '-n',
            nsFix,
            '--type=merge',
            '-p',
            patch,
        ]);
        await kubectl([
            'patch',
            'networkpolicy',
            'isolation-default-deny',
            '-n',
            nsRep,
            '--type=merge',
            '-p',
            patch,
        ]);

        const types = async (ns: string) =>
            (await net().readNamespacedNetworkPolicy({ namespace: ns, name: 'isolation-default-deny' })).spec
                ?.policyTypes;
        await eventually('drift corrected', async () =>
            JSON.stringify(await types(nsFix)) === '["Ingress","Egress"]' ? true : undefined,
        );
        const reported = await eventually('drift reported', async () => {
            const p = await profile(rep);
            const c = p.status?.conditions?.find((x) => x.type === 'DriftDetected');
            return c?.status === 'True' ? c : undefined;
        });
        assert.match(reported.message, /isolation-default-deny.*kubectl-patch/);
        assert.deepEqual(await types(nsRep), ['Ingress'], 'Report leaves the object as edited');
        const events = await kubectl([
            'get',
            'events',
            '-n',
            'default',
            '--field-selector',
            `involvedObject.name=${fix}`,
            '-o',
            'json',
        ]);
        assert.match(events, /DriftCorrected/);
        assert.match(events, /kubectl-patch/);

        // A deleted object is recreated under either policy.
        await net().deleteNamespacedNetworkPolicy({ namespace: nsRep, name: 'isolation-dns' });
        await eventually('deleted object recreated under Report', async () =>
            (await policyNames(nsRep)).includes('isolation-dns') ? true : undefined,
        );
        await deleteProfile(rep);
    });

    it('writes nothing for a DryRun profile and reports the plan', async () => {
        const name = env().uniqueName('dry');
        const since = new Date();
        const ns = await env().createNamespace('dry', iso({ dry: name }));
        await applyProfile(name, {
            ...base({ dry: name }),
            mode: 'DryRun',
            access: [
                {
                    name: 'a',
                    roleRef: { kind: 'ClusterRole', name: 'view' },
                    subjects: [{ kind: 'User', name: 'u' }],
                },
            ],
        });
        const p = await waitReady(name, 'False');
        assert.equal(p.status?.conditions?.find((c) => c.type === 'Ready')?.reason, 'DryRun');
        assert.deepEqual((p.status?.plan ?? []).map((a) => `${a.action} ${a.kind} ${a.name}`).sort(), [
            'create NetworkPolicy isolation-default-deny',
            'create NetworkPolicy isolation-dns',
            'create NetworkPolicy isolation-same-namespace',
            'create RoleBinding isolation-access-a',
        ]);
        // The status above is computed from this namespace's outcome at the current generation: the reconcile
        // has happened.
        assert.deepEqual(await policyNames(ns), []);
        assert.deepEqual(await bindings(ns), []);
        assert.equal(await nsLabel(ns), undefined);
        const opWrites = writes(
            byUser(await readAuditSettled((a) => env().kubectl(a), env().auditLogPath, since), OPERATOR_USER),
        ).filter((e) => e.objectRef?.namespace === ns || e.objectRef?.name === ns);
        assert.deepEqual(opWrites.map(describeEvent), [], 'no write touches the DryRun namespace');
    });

    it('stops writing while suspended and catches up when resumed', async () => {
        const name = env().uniqueName('susp');
        const ns = await env().createNamespace('susp', iso({ susp: name }));
        await applyProfile(name, base({ susp: name }));
        await eventually('enforced', () =>
            namesEqual(ns, ['isolation-default-deny', 'isolation-dns', 'isolation-same-namespace']),
        );
        await applyProfile(name, {
            ...base({ susp: name }),
            suspend: true,
            network: { ingress: [{ name: 'extra' }] },
        });
        const p = await waitReady(name, 'False');
        assert.equal(p.status?.conditions?.find((c) => c.type === 'Ready')?.reason, 'Suspended');
        const beforeDelete = await namespaceReconciles();
        await net().deleteNamespacedNetworkPolicy({ namespace: ns, name: 'isolation-dns' });
        await reconciledSince(beforeDelete); // the delete event's reconcile ran, and wrote nothing
        assert.deepEqual(
            await policyNames(ns),
            ['isolation-default-deny', 'isolation-same-namespace'],
            'nothing written while suspended',
        );
        await applyProfile(name, {
            ...base({ susp: name }),
            suspend: false,
            network: { ingress: [{ name: 'extra' }] },
        });
        await eventually('resumed', () =>
            namesEqual(ns, [
                'isolation-default-deny',
                'isolation-dns',
                'isolation-ingress-extra',
                'isolation-same-namespace',
            ]),
        );
    });

    it('never copies GitOps tracking labels or annotations from the profile to generated objects', async () => {
        const name = env().uniqueName('gitops');
        const ns = await env().createNamespace('gitops', iso({ gitops: name }));
        await applyProfile(
            name,
            {
                ...base({ gitops: name }),
                access: [
                    {
                        name: 'a',
                        roleRef: { kind: 'ClusterRole', name: 'view' },
                        subjects: [{ kind: 'Group', name: 'g' }],
                    },
                ],
            },
            {
                labels: {
                    'app.kubernetes.io/instance': 'team-a',
                    'argocd.argoproj.io/instance': 'team-a',
                    'kustomize.toolkit.fluxcd.io/name': 'team-a',
                    'kustomize.toolkit.fluxcd.io/namespace': 'flux-system',
                },
                annotations: { 'argocd.argoproj.io/tracking-id': 'team-a:isolation.dev/IsolationProfile:/x' },
            },
        );
        await eventually('generated', async () =>
            (await policyNames(ns)).length === 3 && (await bindings(ns)).length === 1 ? true : undefined,
        );
        for (const obj of [...(await policies(ns)), ...(await bindings(ns))]) {
            assert.deepEqual(obj.metadata?.labels, {
                'app.kubernetes.io/managed-by': 'isolation-operator',
                'isolation.dev/profile': name,
            });
            assert.deepEqual(obj.metadata?.annotations ?? {}, {});
        }
    });

    it('reports a missing ClusterRole and a missing profile reference as a condition and enforces the rest', async () => {
        const name = env().uniqueName('refs');
        const ns = await env().createNamespace('refs', iso({ refs: name }));
        await applyProfile(name, {
            ...base({ refs: name }),
            network: { ingress: [{ name: 'from-ghost', from: [{ profile: 'no-such-profile' }] }] },
            access: [
                {
                    name: 'a',
                    roleRef: { kind: 'ClusterRole', name: 'view' },
                    subjects: [{ kind: 'Group', name: 'g' }],
                },
            ],
            serviceAccounts: [
                { name: 's', names: ['x'], roleRef: { kind: 'ClusterRole', name: 'no-such-role' } },
            ],
        });
        const c = await eventually('ReferencesResolved=False', async () => {
            const p = await profile(name);
            const cond = p.status?.conditions?.find((x) => x.type === 'ReferencesResolved');
            return cond?.status === 'False' ? cond : undefined;
        });
        assert.match(c.message, /ClusterRole "no-such-role" not found/);
        assert.match(c.message, /profile "no-such-profile" not found/);
        await eventually('the rest enforced', async () =>
            (await policyNames(ns)).includes('isolation-ingress-from-ghost') ? true : undefined,
        );
    });

    describe('write economy (audit log)', () => {
        it('sends zero writes on periodic resync of a converged cluster', async () => {
            // Let every profile above settle, then wait for a positive barrier instead of a fixed time: two
            // resync passes (each enqueues every namespace) processed, and the namespace queue drained.
            await quiet();
            const count = async (m: string) => metricValue(await op!.metrics(), m, { name: 'namespace' });
            const namespaces = (
                JSON.parse(await kubectl(['get', 'namespaces', '-o', 'json'])) as { items: unknown[] }
            ).items.length;
            const addsBefore = await count('workqueue_adds_total');
            const since = new Date();
            await eventually(
                'two resync passes reconciled',
                async () =>
                    (await count('workqueue_adds_total')) >= addsBefore + 2 * namespaces &&
                    (await count('workqueue_depth')) === 0,
                30_000,
            );
            // Event series updates of events recorded before the window (aggregation flushes later) are not
            // writes caused by the resync; everything else counts, event creations included.
            const w = writes(
                byUser(
                    await readAuditSettled((a) => env().kubectl(a), env().auditLogPath, since),
                    OPERATOR_USER,
                ),
            ).filter((e) => !(e.objectRef?.resource === 'events' && e.verb === 'patch'));
            assert.deepEqual(w.map(describeEvent), []);
        });

        it('sends zero writes when the operator restarts on a converged cluster', async () => {
            // Enough objects that the relist below needs many pages.
            const name = env().uniqueName('restart');
            await applyProfile(name, base({ restart: name }));
            const nss = await Promise.all(
                [1, 2, 3, 4].map(() => env().createNamespace('restart', iso({ restart: name }))),
            );
            for (const ns of nss) {
                await eventually('converged', () =>
                    namesEqual(ns, ['isolation-default-deny', 'isolation-dns', 'isolation-same-namespace']),
                );
            }
            // ...and their final status written, so the old process leaves nothing for the new one to do.
            await eventually('status counts all four', async () => {
                const p = await waitReady(name);
                return p.status?.namespaces?.enforced === 4 && p.status.objects?.networkPolicies === 12
                    ? true
                    : undefined;
            });
            await quiet();
            await op!.stop();
            const since = new Date();
            op = await startOperatorProcess(env().controlPlane, {
                kubeconfig: operatorKubeconfig,
                name: 'operator-e2e-2',
                // Tiny pages: the relist of every cache spans many pages, as it does at scale with 500.
                args: ['--resync-period=4s', '--status-delay=100ms', '--list-page-size=3'],
            });
            // Barrier: the new process has reconciled every namespace once (its counters start at 0).
            const namespaceCount = (
                JSON.parse(await kubectl(['get', 'namespaces', '-o', 'json'])) as { items: unknown[] }
            ).items.length;
            await reconciledSince(0, namespaceCount);
            const reads = byUser(
                await readAuditSettled((a) => env().kubectl(a), env().auditLogPath, since),
                OPERATOR_USER,
            );
            assert.ok(
                reads.some((e) => e.verb === 'list'),
                'the new process listed the cluster',
            );
            assert.deepEqual(writes(reads).map(describeEvent), []);
        });
    });

    it('survives a kube-apiserver restart and converges changes made after it', async () => {
        const name = env().uniqueName('apirestart');
        await applyProfile(name, base({ apirestart: name }));
        await waitReady(name, 'False'); // NothingGoverned: observed, nothing selected yet
        await env().controlPlane.restartApiServer(3000);
        const ns = await env().createNamespace('apirestart', iso({ apirestart: name }));
        await eventually(
            'namespace created after the restart is enforced',
            () => namesEqual(ns, ['isolation-default-deny', 'isolation-dns', 'isolation-same-namespace']),
            90_000,
            250,
        );
        const exited = await Promise.race([op!.exited.then(() => true), sleep(10).then(() => false)]);
        assert.equal(exited, false, 'the operator kept running');
    });
});
