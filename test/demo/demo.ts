/**
 * `make demo`: the whole idea in one run. Starts the real local control plane, installs the CRD and the operator's
 * RBAC, runs the operator under its own ServiceAccount, creates a few namespaces and ServiceAccounts, applies the
 * samples, waits until every profile is Ready, prints what was generated per namespace and each profile's status,
 * answers a reachability and an access question with `explain`, then shows drift correction live (a generated
 * policy is deleted and comes back). With DEMO_EXIT=1 it stops everything and exits 0; otherwise it keeps running
 * until Ctrl-C and prints how to use kubectl against it.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { startControlPlane } from '../controlplane/controlplane.ts';
import type { ControlPlane } from '../controlplane/controlplane.ts';
import { installCRDs } from '../controlplane/crds.ts';
import { installOperatorRbac, NODE, REPO, startOperatorProcess } from '../support/operator.ts';
import type { OperatorProcess } from '../support/operator.ts';

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const step = (s: string) => console.log(`\n${bold(`==> ${s}`)}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const execFileP = promisify(execFile);

async function must(cp: ControlPlane, args: string[], input?: string): Promise<string> {
    const res = await cp.kubectl(args, input === undefined ? {} : { input });
    if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed:\n${res.stderr}`);
    return res.stdout;
}

/** Runs `isolation-operator explain` against the demo cluster; exit code 1 (denied) is an answer, not a failure. */
async function explain(cp: ControlPlane, args: string[]): Promise<{ code: number; stdout: string }> {
    try {
        const r = await execFileP(NODE, [
            join(REPO, 'src', 'main.ts'),
            'explain',
            ...args,
            '--kubeconfig',
            cp.kubeconfigPath,
        ]);
        return { code: 0, stdout: r.stdout };
    } catch (err) {
        const e = err as { code?: number; stdout?: string; stderr?: string };
        if (e.code === 1) return { code: 1, stdout: e.stdout ?? '' };
        throw new Error(`explain ${args.join(' ')} failed: ${e.stderr ?? String(err)}`);
    }
}

interface ProfileList {
    items: {
        metadata: { name: string; generation?: number };
        spec?: { mode?: string };
        status?: {
            observedGeneration?: number;
            conditions?: { type: string; status: string; message: string }[];
        };
    }[];
}

async function waitReady(cp: ControlPlane, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const list = JSON.parse(await must(cp, ['get', 'isolationprofiles', '-o', 'json'])) as ProfileList;
        // A DryRun profile enforces nothing, so it never turns Ready; reconciled at its generation is enough.
        const pending = list.items.filter(
            (p) =>
                p.status?.observedGeneration !== p.metadata.generation ||
                (p.spec?.mode !== 'DryRun' &&
                    !p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')),
        );
        if (list.items.length > 0 && pending.length === 0) return;
        if (Date.now() > deadline) {
            throw new Error(
                `profiles not Ready after ${timeoutMs / 1000}s: ${pending.map((p) => p.metadata.name).join(', ')}`,
            );
        }
        await sleep(250);
    }
}

async function main(): Promise<number> {
    const exitAfter = process.env.DEMO_EXIT === '1';
    const t0 = Date.now();
    step(
        'Starting a local Kubernetes v1.37.2 control plane (etcd, kube-apiserver with RBAC, kube-controller-manager)',
    );
    const cp = await startControlPlane({
        log: (m) => console.log(`    ${m}`),
        handleSignals: false,
        beforeControllerManager: (s) => installCRDs(s.binDir, s.kubeconfigPath),
    });
    let operator: OperatorProcess | undefined;
    try {
        step(
            'Installing the operator RBAC (config/rbac) and starting the operator under its own ServiceAccount',
        );
        const kubeconfig = await installOperatorRbac(cp);
        operator = await startOperatorProcess(cp, { kubeconfig, name: 'operator' });
        console.log(`    operator pid ${operator.pid}, logs: ${operator.logPath}`);

        step('Creating namespaces and ServiceAccounts (test/demo/namespaces.yaml)');
        process.stdout.write(await must(cp, ['apply', '-f', join(REPO, 'test', 'demo', 'namespaces.yaml')]));

        step('Applying the sample IsolationProfiles (config/samples)');
        process.stdout.write(
            await must(cp, ['apply', '--server-side', '-k', join(REPO, 'config', 'samples')]),
        );
        const applied = Date.now();
        await waitReady(cp, 60_000);
        console.log(`    every profile Ready ${((Date.now() - applied) / 1000).toFixed(1)}s after apply`);

        step('Profiles');
        process.stdout.write(await must(cp, ['get', 'isolationprofiles', '-o', 'wide']));

        step('What the operator generated, per namespace');
        process.stdout.write(
            await must(cp, [
                'get', 'networkpolicies,rolebindings', '-A', '-l', 'app.kubernetes.io/managed-by=isolation-operator',
                '-o', 'custom-columns=NAMESPACE:.metadata.namespace,KIND:.kind,NAME:.metadata.name,PROFILE:.metadata.labels.isolation\\.dev/profile',
            ]),
        ); // prettier-ignore

        step('Namespaces carry the label that `profile:` peers select');
        process.stdout.write(await must(cp, ['get', 'namespaces', '-L', 'isolation.dev/profile']));

        step('Conditions worth a look (conflicts, dry runs, drift)');
        const list = JSON.parse(await must(cp, ['get', 'isolationprofiles', '-o', 'json'])) as ProfileList;
        for (const p of list.items) {
            for (const c of p.status?.conditions ?? []) {
                const interesting =
                    (c.type === 'Ready' && c.status === 'True' && !c.message.includes('enforced')) ||
                    (c.type !== 'Ready' && c.type !== 'ReferencesResolved' && c.status === 'True');
                if (interesting) console.log(`    ${p.metadata.name}: ${c.type}=${c.status}: ${c.message}`);
            }
        }

        step(
            'Alignment you can see: `isolation-operator explain` (also `kubectl isolation ...`) on the live cluster',
        );
        for (const args of [
            ['can', 'sa/ci/deployer', 'reach', 'ns/payments-prod:8080'],
            ['who-can-act', 'payments-prod'],
        ]) {
            console.log(`    $ isolation-operator explain ${args.join(' ')}`);
            const r = await explain(cp, args);
            console.log(r.stdout.trimEnd().replace(/^/gm, '    '));
            console.log(`    (exit code ${r.code})`);
        }

        step('Drift correction: deleting NetworkPolicy isolation-default-deny in shop-web');
        await must(cp, ['delete', 'networkpolicy', 'isolation-default-deny', '-n', 'shop-web']);
        const deleted = Date.now();
        for (;;) {
            const res = await cp.kubectl([
                'get',
                'networkpolicy',
                'isolation-default-deny',
                '-n',
                'shop-web',
                '-o',
                'name',
            ]);
            if (res.code === 0) break;
            if (Date.now() - deleted > 30_000) throw new Error('default-deny did not come back within 30s');
            await sleep(20);
        }
        console.log(`    it is back after ${Date.now() - deleted} ms`);

        step('Drift correction: someone edits a generated policy with kubectl (driftPolicy: Correct)');
        await must(cp, [
            'patch',
            'networkpolicy',
            'isolation-dns',
            '-n',
            'shop-web',
            '--type=merge',
            '-p',
            '{"spec":{"policyTypes":["Ingress","Egress"]}}',
        ]);
        await sleep(1500);
        console.log(
            `    policyTypes now: ${await must(cp, ['get', 'networkpolicy', 'isolation-dns', '-n', 'shop-web', '-o', 'jsonpath={.spec.policyTypes}'])}`,
        );
        step('Events on the profiles');
        process.stdout.write(
            await must(cp, [
                'get',
                'events',
                '-n',
                'default',
                '--field-selector',
                'involvedObject.kind=IsolationProfile',
            ]),
        );

        console.log(`\n${bold(`Demo complete in ${((Date.now() - t0) / 1000).toFixed(1)}s.`)}`);
        if (exitAfter) return 0;

        console.log(`\nThe control plane and the operator keep running. In another shell:\n`);
        console.log(`    export KUBECONFIG=${cp.kubeconfigPath}`);
        console.log(`    export PATH=${cp.state.binDir}:$PATH`);
        console.log(`    kubectl get isolationprofiles; kubectl get netpol -A\n`);
        console.log(`Operator logs: ${operator.logPath}\nPress Ctrl-C to stop everything.`);
        await new Promise<void>((resolve) => {
            process.once('SIGINT', () => resolve());
            process.once('SIGTERM', () => resolve());
        });
        return 0;
    } finally {
        console.log('\nStopping the operator and the control plane...');
        await operator?.stop();
        await cp.stop();
    }
}

try {
    process.exitCode = await main();
} catch (err) {
    console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
}
