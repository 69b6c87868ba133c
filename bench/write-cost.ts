/**
 * What one write costs the API server, by verb (`npm run bench:write-cost -- --objects 2000`): the same
 * NetworkPolicies and RoleBindings created by POST (what HNC sends) and by server-side apply (what the operator
 * sends), alternated in rounds on one fresh local control plane, each round into fresh namespaces.
 *
 * Design choice: the figures are the server's — kube-apiserver and etcd CPU seconds from /proc over the round — and
 * the wall time, with the client held the same (the operator's Requester on one pooled HTTP/2 connection, the same
 * concurrency), because on a 2-core machine the API server's CPU per write is what bounds a controller's converge
 * rate, whatever the controller's own cost.
 */
import { execFileSync } from 'node:child_process';

import { Command } from 'commander';

import { plan } from '../src/plan/index.ts';
import type { DesiredObject } from '../src/plan/index.ts';
import { startControlPlane } from '../test/controlplane/controlplane.ts';
import { namespaceNames, namespaceObject } from './fixture.ts';
import { clientsFor, createNamespaces, nowMs, runPool } from './kube.ts';
import { int } from './options.ts';
import { peerProfile } from './peer/objects.ts';
import { cpuSeconds } from './proc.ts';
import { summarize } from './stats.ts';

const cmd = new Command()
    .name('bench-write-cost')
    .option('--objects <n>', 'objects written per round (5 per namespace)', int('objects', 5, 100_000), 2000)
    .option('--rounds <n>', 'rounds of each verb, alternated', int('rounds', 1, 20), 3)
    .option('--concurrency <n>', 'requests in flight', int('concurrency', 1, 256), 16)
    .exitOverride(); // prettier-ignore
cmd.parse(process.argv.slice(2), { from: 'user' });
const opts = cmd.opts<{ objects: number; rounds: number; concurrency: number }>();

const log = (msg: string) => console.error(`[write-cost] ${msg}`);
const cp = await startControlPlane({ log, controllerManager: false });
const pidOf = (name: string) =>
    Number(execFileSync('pgrep', ['-n', '-f', `^${cp.state.binDir}/${name} `], { encoding: 'utf8' }).trim());
const apiserver = pidOf('kube-apiserver');
const etcd = pidOf('etcd');
const admin = clientsFor(cp.kubeconfigPath);
const requester = admin.requester!;

function pathOf(o: DesiredObject, verb: 'post' | 'apply'): string {
    const base =
        o.kind === 'NetworkPolicy'
            ? `/apis/networking.k8s.io/v1/namespaces/${o.metadata.namespace}/networkpolicies`
            : `/apis/rbac.authorization.k8s.io/v1/namespaces/${o.metadata.namespace}/rolebindings`;
    return verb === 'post' ? base : `${base}/${o.metadata.name}`;
}

type Verb = 'post' | 'apply';
const results: Record<Verb, { wall: number; apiserver: number; etcd: number; client: number }[]> = {
    post: [],
    apply: [],
};
try {
    for (let round = 1; round <= opts.rounds; round++) {
        for (const verb of ['post', 'apply'] as const) {
            const names = namespaceNames(`wc-${verb}-${round}`, Math.ceil(opts.objects / 5));
            await createNamespaces(admin, names, {
                run: 'write-cost',
                member: 'wc',
                serviceAccounts: false,
                concurrency: 32,
                timeoutMs: 600_000,
            });
            const objects = names
                .flatMap((ns) =>
                    plan({
                        namespace: { name: ns, labels: namespaceObject(ns, '', 'wc').metadata!.labels! },
                        profile: peerProfile('wc'),
                        serviceAccounts: [],
                    }),
                )
                .slice(0, opts.objects);
            const a0 = cpuSeconds(apiserver)!;
            const e0 = cpuSeconds(etcd)!;
            const c0 = process.cpuUsage();
            const t0 = nowMs();
            await runPool(
                objects,
                opts.concurrency,
                async (o) => {
                    if (verb === 'post')
                        await requester.request(
                            'POST',
                            pathOf(o, verb),
                            { fieldManager: 'wc' },
                            o,
                            'application/json',
                        );
                    else await requester.apply(pathOf(o, verb), o, 'wc');
                },
                600_000,
            );
            const wall = (nowMs() - t0) / 1000;
            const c = process.cpuUsage(c0);
            const r = {
                wall,
                apiserver: cpuSeconds(apiserver)! - a0,
                etcd: cpuSeconds(etcd)! - e0,
                client: (c.user + c.system) / 1e6,
            };
            results[verb].push(r);
            log(
                `round ${round} ${verb}: ${objects.length} objects in ${wall.toFixed(2)} s ` +
                    `(${(objects.length / wall).toFixed(0)}/s), apiserver ${r.apiserver.toFixed(2)} s, ` +
                    `etcd ${r.etcd.toFixed(2)} s, client ${r.client.toFixed(2)} s`,
            );
        }
    }
    const med = (verb: Verb, k: 'wall' | 'apiserver' | 'etcd' | 'client') =>
        summarize(results[verb].map((r) => r[k] * 1000)).p50 / 1000;
    console.log('| figure (median) | POST | server-side apply | apply / POST |');
    console.log('|---|---|---|---|');
    for (const k of ['wall', 'apiserver', 'etcd', 'client'] as const) {
        const p = med('post', k);
        const a = med('apply', k);
        const ms = (s: number) => `${((s * 1000) / opts.objects).toFixed(2)} ms/object`;
        console.log(`| ${k} | ${ms(p)} | ${ms(a)} | ${(a / p).toFixed(2)} |`);
    }
} finally {
    await admin.close();
    await cp.stop();
}
