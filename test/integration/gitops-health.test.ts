/**
 * GitOps health of live profiles, judged by the GitOps tools' own code: test/gitops-health (Go) runs kstatus — what
 * Flux's kustomize-controller uses for custom resources — and the Argo CD health script of
 * config/gitops/argocd-health.lua in gopher-lua, the Lua engine Argo CD embeds. The operator drives each profile
 * into a real state (Ready, Reconciling, Stalled, Conflict, NothingGoverned, DryRun, suspended), and each verdict
 * must be the one the "Health verdicts" table of docs/operations.md promises — the table is read from the docs, so
 * the docs and this test cannot disagree silently.
 *
 * Reconciling needs a failure the operator retries: a validating webhook that cannot be reached (the API server
 * answers 500) on NetworkPolicies in one test namespace. Stalled: a role outside the operator's bind list (403).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

import type { Condition, IsolationProfile, IsolationProfileSpec } from '../../src/api/types.ts';
import { eventually } from '../support/eventually.ts';
import { installOperatorRbac, REPO, startOperatorProcess } from '../support/operator.ts';
import type { OperatorProcess } from '../support/operator.ts';
import { testEnv, uniqueName } from './env.ts';

const execFileP = promisify(execFile);

interface Verdict {
    status: string;
    message: string;
}
interface Verdicts {
    name: string;
    kstatus: Verdict;
    argocd: Verdict;
}

/** The promised verdicts: rows of the table under "Health verdicts" in docs/operations.md. */
async function promised(): Promise<Map<string, { kstatus: string; argocd: string }>> {
    const doc = await readFile(join(REPO, 'docs', 'operations.md'), 'utf8');
    const section = doc.split(/^#+ Health verdicts\s*$/m)[1];
    if (!section) throw new Error('docs/operations.md has no "Health verdicts" section');
    const rows = new Map<string, { kstatus: string; argocd: string }>();
    for (const line of section.split('\n')) {
        if (!line.startsWith('|')) {
            if (rows.size > 0) break;
            continue;
        }
        const cells = line.split('|').map((c) => c.trim().replace(/`/g, ''));
        const [state, , kstatus, argocd] = cells.slice(1);
        if (!state || !kstatus || !argocd || state === 'profile state' || state.startsWith('---')) continue;
        rows.set(state, { kstatus, argocd });
    }
    return rows;
}

describe('GitOps health: kstatus (Flux) and the Argo CD Lua check, on live profiles', function () {
    this.timeout(240_000);
    const env = () => testEnv();
    const id = uniqueName('gh');
    const names = {
        Ready: `${id}-ready`,
        Reconciling: `${id}-reconciling`,
        Stalled: `${id}-stalled`,
        Conflict: `${id}-conflict`,
        NothingGoverned: `${id}-nothing`,
        DryRun: `${id}-dryrun`,
        Suspended: `${id}-suspended`,
    };
    const winner = `${id}-winner`;
    const webhook = `${id}-unreachable`;
    let tool = '';
    let operatorKubeconfig = '';
    let op: OperatorProcess | undefined;
    let promises: Map<string, { kstatus: string; argocd: string }>;

    async function kubectl(args: string[], input?: string): Promise<string> {
        const res = await env().kubectl(args, input === undefined ? {} : { input });
        if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${res.stderr}`);
        return res.stdout;
    }
    async function apply(obj: object): Promise<void> {
        await kubectl(['apply', '--server-side', '--field-manager=test', '-f', '-'], JSON.stringify(obj));
    }
    async function profile(name: string, spec: IsolationProfileSpec): Promise<void> {
        await apply({
            apiVersion: 'isolation.dev/v1alpha1',
            kind: 'IsolationProfile',
            metadata: { name },
            spec,
        });
    }
    // Cluster-wide profiles may select only by name or isolation.dev/ labels (tenancy); names keep it simple.
    const byName = (...names: string[]): IsolationProfileSpec['namespaces'] => ({ names });

    async function verdicts(profiles: string[]): Promise<Map<string, Verdicts>> {
        const list = await kubectl(['get', 'isolationprofiles', ...profiles, '-o', 'json']);
        const child = execFileP(tool, ['-lua', join(REPO, 'config', 'gitops', 'argocd-health.lua')]);
        child.child.stdin?.end(list);
        const { stdout } = await child;
        const out = new Map<string, Verdicts>();
        for (const line of stdout.split('\n').filter(Boolean)) {
            const v = JSON.parse(line) as Verdicts;
            out.set(v.name, v);
        }
        return out;
    }

    function cond(p: IsolationProfile, type: string): Condition | undefined {
        return p.status?.conditions?.find((c) => c.type === type);
    }

    before(async function () {
        this.timeout(600_000); // the first run builds the Go program from the module proxy
        promises = await promised();
        const { stdout } = await execFileP('bash', [join(REPO, 'test', 'gitops-health', 'build.sh')]);
        tool = stdout.trim().split('\n').pop() ?? '';

        operatorKubeconfig = await installOperatorRbac(env().controlPlane);
        op = await startOperator();

        for (const ns of ['ready', 'reconciling', 'stalled', 'conflict', 'contested', 'dryrun', 'suspended'])
            await kubectl(['create', 'namespace', `${id}-${ns}`]);
        const contested = `${id}-contested`;
        // NetworkPolicy writes in the Reconciling namespace fail with 500: the webhook cannot be reached.
        await apply({
            apiVersion: 'admissionregistration.k8s.io/v1',
            kind: 'ValidatingWebhookConfiguration',
            metadata: { name: webhook },
            webhooks: [
                {
                    name: 'unreachable.isolation-test.dev',
                    clientConfig: { url: 'https://127.0.0.1:1/validate' },
                    rules: [
                        {
                            apiGroups: ['networking.k8s.io'],
                            apiVersions: ['v1'],
                            operations: ['CREATE', 'UPDATE'],
                            resources: ['networkpolicies'],
                        },
                    ],
                    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': names.Reconciling } },
                    failurePolicy: 'Fail',
                    sideEffects: 'None',
                    admissionReviewVersions: ['v1'],
                    timeoutSeconds: 1,
                },
            ],
        });

        await profile(names.Ready, { namespaces: byName(names.Ready) });
        await profile(names.Reconciling, { namespaces: byName(names.Reconciling) });
        await profile(names.Stalled, {
            namespaces: byName(names.Stalled),
            access: [
                {
                    name: 'admins',
                    roleRef: { kind: 'ClusterRole', name: 'cluster-admin' },
                    subjects: [{ kind: 'Group', name: `${id}-admins` }],
                },
            ],
        });
        // Conflict: it governs one namespace and loses the other to a stronger profile.
        await profile(winner, { namespaces: byName(contested), priority: 10 });
        await profile(names.Conflict, { namespaces: byName(names.Conflict, contested), priority: 0 });
        await profile(names.NothingGoverned, { namespaces: byName(`${id}-does-not-exist`) });
        await profile(names.DryRun, { namespaces: byName(names.DryRun), mode: 'DryRun' });
        await profile(names.Suspended, { namespaces: byName(names.Suspended), suspend: true });
    });

    after(async function () {
        await env().kubectl(['delete', 'validatingwebhookconfiguration', webhook, '--ignore-not-found']);
        op ??= await startOperator(); // the finalizers need a running operator
        await env().kubectl([
            'delete', 'isolationprofiles', ...Object.values(names), winner, '--ignore-not-found', '--wait=true', '--timeout=60s',
        ]); // prettier-ignore
        await op?.stop();
    });

    function startOperator(): Promise<OperatorProcess> {
        return startOperatorProcess(env().controlPlane, {
            kubeconfig: operatorKubeconfig,
            name: 'operator-gitops-health',
            args: ['--status-delay=100ms'],
        });
    }

    /** Waits until the operator has reported the state on the profile's current generation. */
    async function reached(name: string, test: (p: IsolationProfile) => boolean): Promise<void> {
        await eventually(
            `${name} reaches its state`,
            async () => {
                const p = JSON.parse(
                    await kubectl(['get', 'isolationprofile', name, '-o', 'json']),
                ) as IsolationProfile;
                return p.status?.observedGeneration === p.metadata.generation && test(p);
            },
            90_000,
            200,
        );
    }

    const states: [keyof typeof names, (p: IsolationProfile) => boolean][] = [
        ['Ready', (p) => cond(p, 'Ready')?.status === 'True'],
        ['Reconciling', (p) => cond(p, 'Reconciling')?.status === 'True'],
        ['Stalled', (p) => cond(p, 'Stalled')?.status === 'True'],
        ['Conflict', (p) => cond(p, 'Conflict')?.status === 'True' && cond(p, 'Ready')?.status === 'True'],
        ['NothingGoverned', (p) => cond(p, 'Ready')?.reason === 'NothingGoverned'],
        ['DryRun', (p) => cond(p, 'Ready')?.reason === 'DryRun'],
        ['Suspended', (p) => cond(p, 'Ready')?.reason === 'Suspended'],
    ];

    for (const [state, test] of states) {
        it(`${state}: kstatus and Argo CD say what docs/operations.md promises`, async () => {
            const promise = promises.get(state);
            assert.ok(promise, `docs/operations.md promises nothing for ${state}`);
            await reached(names[state], test);
            const v = (await verdicts([names[state]])).get(names[state]);
            assert.ok(v, 'a verdict');
            assert.deepEqual(
                { kstatus: v.kstatus.status, argocd: v.argocd.status },
                promise,
                `${state}: ${JSON.stringify(v)}`,
            );
        });
    }

    it('a new generation the operator has not observed yet is InProgress / Progressing', async () => {
        // Stop the operator so the edit stays unobserved: observedGeneration < generation.
        await op?.stop();
        op = undefined;
        await profile(names.Ready, { namespaces: byName(names.Ready), priority: 5 });
        const v = (await verdicts([names.Ready])).get(names.Ready);
        assert.deepEqual(
            { kstatus: v?.kstatus.status, argocd: v?.argocd.status },
            promises.get('Reconciling'),
        );
    });
});
