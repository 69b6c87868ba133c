/**
 * `explain` against the real API server, with the operator running and the samples applied: the answers come from
 * the NetworkPolicies the operator generated (and hand-made objects), read-only, through the CLI and through
 * `kubectl isolation` (the plugin entry point). The alignment checks run on the same live snapshot.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

import type { IsolationProfile } from '../../src/api/types.ts';
import { snapshotFromCluster } from '../../src/explain/live.ts';
import { computeAlignment } from '../../src/netpol/index.ts';
import { eventually } from '../support/eventually.ts';
import { installOperatorRbac, metricValue, NODE, REPO, startOperatorProcess } from '../support/operator.ts';
import type { OperatorProcess } from '../support/operator.ts';
import { testEnv } from './env.ts';

const execFileP = promisify(execFile);
const SAMPLES = ['payments', 'platform-baseline', 'sandbox-trial', 'shop-api', 'shop-db', 'shop-web'];

interface Run {
    code: number;
    stdout: string;
    stderr: string;
}

async function exec(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
    try {
        const r = await execFileP(file, args, { env: { ...process.env, ...env }, cwd: REPO });
        return { code: 0, ...r };
    } catch (err) {
        const e = err as { code: number; stdout: string; stderr: string };
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
}

describe('explain (live cluster, operator running, samples applied)', function () {
    this.timeout(180_000);
    const env = () => testEnv();
    let op: OperatorProcess | undefined;

    async function kubectl(args: string[], input?: string): Promise<string> {
        const res = await env().kubectl(args, input === undefined ? {} : { input });
        if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${res.stderr}`);
        return res.stdout;
    }

    const explain = (args: string[]) =>
        exec(NODE, [join(REPO, 'src', 'main.ts'), 'explain', ...args, '--kubeconfig', env().kubeconfigPath]);

    const pod = (namespace: string, name: string, labels: Record<string, string>, port: number) =>
        JSON.stringify({
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name, namespace, labels },
            spec: {
                containers: [{ name: 'c', image: 'example', ports: [{ name: 'http', containerPort: port }] }],
            },
        });

    before(async function () {
        this.timeout(180_000);
        const kubeconfig = await installOperatorRbac(env().controlPlane);
        op = await startOperatorProcess(env().controlPlane, { kubeconfig, name: 'operator-explain' });
        await kubectl(['apply', '-f', join(REPO, 'test', 'demo', 'namespaces.yaml')]);
        await kubectl(['apply', '--server-side', '-k', join(REPO, 'config', 'samples')]);
        await eventually(
            'every sample profile reconciled at its generation',
            async () => {
                const list = JSON.parse(await kubectl(['get', 'isolationprofiles', '-o', 'json'])) as {
                    items: IsolationProfile[];
                };
                // The DryRun sample enforces nothing, so it is not Ready; it is reconciled all the same.
                return SAMPLES.every((name) => {
                    const p = list.items.find((i) => i.metadata.name === name);
                    const ready = p?.status?.conditions?.find((c) => c.type === 'Ready');
                    const want = name === 'sandbox-trial' ? 'False' : 'True';
                    return p?.status?.observedGeneration === p?.metadata.generation && ready?.status === want;
                });
            },
            60_000,
        );
        // Pods need the namespace's default ServiceAccount, which the controller manager creates.
        for (const [ns, name, labels, port] of [
            ['shop-web', 'web-0', { app: 'web' }, 8080],
            ['shop-api', 'api-0', { app: 'api' }, 8080],
            ['shop-db', 'postgres-0', { app: 'postgres' }, 5432],
        ] as const) {
            await eventually(`pod ${ns}/${name}`, async () => {
                await kubectl(['apply', '-f', '-'], pod(ns, name, labels, port));
                return true;
            });
        }
        await kubectl(
            ['apply', '-f', '-'],
            JSON.stringify({
                apiVersion: 'rbac.authorization.k8s.io/v1',
                kind: 'RoleBinding',
                metadata: { name: 'web-reads-db', namespace: 'shop-db' },
                roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
                subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'shop-web' }],
            }),
        );
    });

    after(async function () {
        this.timeout(180_000);
        await kubectl(['delete', 'rolebinding', 'web-reads-db', '-n', 'shop-db', '--ignore-not-found']).catch(
            () => undefined,
        );
        for (const [ns, name] of [
            ['shop-web', 'web-0'],
            ['shop-api', 'api-0'],
            ['shop-db', 'postgres-0'],
        ] as const)
            await kubectl(['delete', 'pod', name, '-n', ns, '--ignore-not-found', '--wait=false']).catch(
                () => undefined,
            );
        for (const p of [...SAMPLES, 'one-sided'])
            await kubectl([
                'delete',
                'isolationprofile',
                p,
                '--ignore-not-found',
                '--wait=true',
                '--timeout=60s',
            ]).catch(() => undefined);
        // shop-db orphans its objects (deletionPolicy Orphan), which the operator never adopts again.
        await kubectl(['delete', 'networkpolicies,rolebindings', '--all', '-n', 'shop-db']).catch(
            () => undefined,
        );
        await op?.stop();
    });

    it('can: web reaches api on its named port, not the database; exit codes 0 and 1', async () => {
        const ok = await explain(['can', 'pod/shop-web/web-0', 'reach', 'pod/shop-api/api-0:http']);
        assert.equal(ok.code, 0, ok.stderr + ok.stdout);
        assert.match(ok.stdout, /^ALLOWED: pod\/shop-web\/web-0 -> pod\/shop-api\/api-0 on TCP\/http/);
        assert.match(ok.stdout, /\+ shop-web\/isolation-egress-to-api rule 0 allows TCP 8080/);
        assert.match(ok.stdout, /\+ shop-api\/isolation-ingress-from-web rule 0 allows TCP 8080/);
        const no = await explain(['can', 'pod/shop-web/web-0', 'reach', 'pod/shop-db/postgres-0:5432']);
        assert.equal(no.code, 1, no.stderr);
        assert.match(no.stdout, /^DENIED/);
        assert.match(no.stdout, /isolated by shop-web\/isolation-default-deny/);
    });

    it('works as a kubectl plugin: kubectl isolation who-can-act, exit 1 for a grant without a path', async () => {
        const r = await exec(
            join(env().binDir, 'kubectl'),
            ['isolation', 'who-can-act', 'shop-db', '-o', 'json'],
            { PATH: `${join(REPO, 'bin')}:${process.env.PATH ?? ''}`, KUBECONFIG: env().kubeconfigPath },
        );
        assert.equal(r.code, 1, r.stderr);
        const answer = JSON.parse(r.stdout) as {
            governedBy: string;
            actors: { roleBinding: string; managed: boolean; network?: { path: boolean } }[];
        };
        assert.equal(answer.governedBy, 'shop-db');
        const byHand = answer.actors.find((a) => a.roleBinding === 'web-reads-db');
        assert.deepEqual([byHand?.managed, byHand?.network?.path], [false, false]);
        assert.ok(answer.actors.some((a) => a.roleBinding === 'isolation-access-dba' && a.managed));
    });

    it('matrix: the namespace pods and what crosses its border, on one port', async () => {
        const r = await explain(['matrix', 'shop-api', '--port', '8080', '-o', 'json']);
        assert.equal(r.code, 0, r.stderr);
        const m = JSON.parse(r.stdout) as { cells: { from: string; to: string; matches: boolean }[] };
        const cell = (from: string, to: string) =>
            m.cells.find((c) => c.from === from && c.to === to)?.matches;
        assert.equal(cell('shop-web/web-0', 'shop-api/api-0'), true);
        assert.equal(cell('shop-db/postgres-0', 'shop-api/api-0'), false);
    });

    it('alignment on the live snapshot: a one-sided allow names the peer profile; the samples are aligned', async () => {
        await kubectl(
            ['apply', '--server-side', '-f', '-'],
            JSON.stringify({
                apiVersion: 'isolation.dev/v1alpha1',
                kind: 'IsolationProfile',
                metadata: { name: 'one-sided' },
                spec: {
                    namespaces: { names: ['tools'] },
                    priority: 100,
                    network: {
                        ingress: [
                            // shop-db belongs to tenant shop: a profile peer names the tenant it means.
                            {
                                name: 'from-db',
                                from: [{ profile: 'shop-db', tenant: 'shop' }],
                                ports: [{ port: 8080 }],
                            },
                        ],
                    },
                },
            }),
        );
        const gaps = await eventually('the one-sided profile enforced and its gap visible', async () => {
            const s = await snapshotFromCluster(env().kubeconfigPath);
            if (s.governance.get('tools') !== 'one-sided') return undefined;
            if (
                !s.policies.some(
                    (p) =>
                        p.metadata.namespace === 'tools' && p.metadata.name === 'isolation-ingress-from-db',
                )
            )
                return undefined;
            return computeAlignment(s);
        });
        const [gap, ...more] = gaps.get('one-sided') ?? [];
        assert.equal(more.length, 0);
        assert.equal(gap?.kind, 'OneSidedAllow');
        assert.equal(gap?.peerProfile, 'shop-db');
        assert.equal(gap?.blockedBy, 'egress');
        for (const p of ['shop-web', 'shop-api', 'payments']) assert.deepEqual(gaps.get(p), [], p);
        // The CLI shows the same gap.
        const cli = await explain(['gaps', 'one-sided']);
        assert.equal(cli.code, 1, cli.stderr);
        assert.match(
            cli.stdout,
            /one-sided: 1 gap\n {2}OneSidedAllow: ingress rule from-db allows from profile shop-db/,
        );
        // The operator reports the same gap on the profile: AlignmentGap=True naming the rule and the peer, an
        // event, and the metric; the aligned samples say False.
        const cond = async (profile: string) => {
            const p = JSON.parse(await kubectl(['get', 'isolationprofile', profile, '-o', 'json'])) as {
                status?: { conditions?: { type: string; status: string; message: string }[] };
            };
            return p.status?.conditions?.find((c) => c.type === 'AlignmentGap');
        };
        const reported = await eventually('AlignmentGap=True on one-sided', async () => {
            const c = await cond('one-sided');
            return c?.status === 'True' ? c : undefined;
        });
        assert.match(reported.message, /1 alignment gap/);
        assert.match(reported.message, /from-db/);
        assert.match(reported.message, /shop-db/);
        assert.equal((await cond('shop-web'))?.status, 'False');
        const events = JSON.parse(
            await kubectl(['get', 'events', '-A', '--field-selector', 'reason=AlignmentGap', '-o', 'json']),
        ) as { items: { regarding?: { name?: string }; involvedObject?: { name?: string } }[] };
        assert.ok(
            events.items.some((e) => (e.regarding?.name ?? e.involvedObject?.name) === 'one-sided'),
            'an AlignmentGap event on the profile',
        );
        assert.ok(
            metricValue(await op!.metrics(), 'isolation_operator_alignment_gaps', {
                kind: 'OneSidedAllow',
            }) >= 1,
        );
        // The hand-made binding of the web ServiceAccount in shop-db has no path.
        assert.deepEqual(
            gaps.get('shop-db')?.map((g) => [g.kind, g.roleBinding, g.managed]),
            [['GrantWithoutPath', 'web-reads-db', false]],
        );
    });
});
