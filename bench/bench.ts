/**
 * The benchmark harness (`npm run bench -- --namespaces N`, `make bench NAMESPACES=N`): one run on one fresh
 * local control plane, measuring the DESIGN §7 targets in order —
 *   baseline  (a plain client writes exactly the operator's objects: the API server's write-rate limit here),
 *   converge  (the operator, under its ServiceAccount, applies one profile to N namespaces),
 *   latency   (namespaces created at a steady rate → their default-deny present),
 *   steady    (operator writes over an idle window, and after a restart: both must be zero),
 *   cost      (RSS, CPU seconds, API requests per namespace from the audit log).
 * Prints a table and writes bench/results/<date>-n<N>.json. Every wait is bounded; the control plane is always
 * stopped in `finally` (unless --keep).
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../src/api/types.ts';
import { startControlPlane } from '../test/controlplane/controlplane.ts';
import { installCRDs } from '../test/controlplane/crds.ts';
import { installOperatorRbac, metricValue, OPERATOR_USER } from '../test/support/operator.ts';
import type { OperatorProcess } from '../test/support/operator.ts';
import { auditWindow } from './audit-window.ts';
import { cleanupBaseline, runBaseline } from './baseline.ts';
import { runConverge, runLatency, startTrackers } from './converge.ts';
import type { Trackers } from './converge.ts';
import { namespaceNames } from './fixture.ts';
import { clientsFor, createNamespaces, sleep } from './kube.ts';
import { bridgeClusterRoleGap, startBenchOperator, waitSettled } from './operator.ts';
import { parseOptions } from './options.ts';
import { cpuSeconds, RssSampler } from './proc.ts';
import { formatTable, tableRows, writeResult } from './report.ts';
import type { BenchResult } from './report.ts';
import { summarize } from './stats.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const RESULTS = join(HERE, 'results');
const MEMBER = 'converge';

const opts = parseOptions(process.argv.slice(2));
const t0 = Date.now();
const log = (msg: string) => console.error(`[bench +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
const startedAt = new Date().toISOString();
const run = startedAt.replace(/\D/g, '').slice(0, 14);
const notes: string[] = [];
const N = opts.namespaces;
/** Generous per-phase bounds that scale with N (a 2-core machine does a few hundred writes/s). */
const phaseTimeoutMs = Math.max(300_000, N * 300);

function nproc(): number {
    try {
        return Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
    } catch {
        return cpus().length;
    }
}

const cp = await startControlPlane({
    log,
    watchdog: !opts.keep,
    beforeControllerManager: (s) => installCRDs(s.binDir, s.kubeconfigPath),
});
let op: OperatorProcess | undefined;
let trackers: Trackers | undefined;
const sampler = new RssSampler(500);
let exitCode = 0;
try {
    const admin = clientsFor(cp.kubeconfigPath);
    const operatorKubeconfig = await installOperatorRbac(cp);
    if (await bridgeClusterRoleGap(cp))
        notes.push(
            'config/rbac lacks get/list/watch on clusterroles; the bench granted it (bench/operator.ts)',
        );

    const names = namespaceNames('bench', N);
    log(`creating ${N} namespaces and ${2 * N} ServiceAccounts (untimed)`);
    await createNamespaces(admin, names, {
        run,
        member: MEMBER,
        serviceAccounts: true,
        concurrency: opts.fixtureConcurrency,
        timeoutMs: phaseTimeoutMs,
    });

    log(`baseline: plain client, concurrency ${opts.concurrency}`);
    const baseline = await runBaseline(admin, names, MEMBER, opts.concurrency, phaseTimeoutMs);
    log(`baseline: ${baseline.requests} writes in ${baseline.seconds.toFixed(2)} s`);
    await cleanupBaseline(admin, names, phaseTimeoutMs);
    log('baseline (pooled connections): the same writes over one shared connection pool');
    const pooled = await runBaseline(
        clientsFor(cp.kubeconfigPath, true),
        names,
        MEMBER,
        opts.concurrency,
        phaseTimeoutMs,
    );
    log(`baseline (pooled): ${pooled.requests} writes in ${pooled.seconds.toFixed(2)} s`);
    await cleanupBaseline(admin, names, phaseTimeoutMs);

    trackers = await startTrackers(admin);
    const cpuProfDir = opts.cpuProf ? join(RESULTS, 'profiles') : undefined;
    op = await startBenchOperator(cp, {
        kubeconfig: operatorKubeconfig,
        concurrency: opts.concurrency,
        cpuProfDir,
    });
    sampler.track(op.pid, 'startup');
    const systemNamespaces = (await admin.core.listNamespace()).items.length;
    if (!(await waitSettled(op, { timeoutMs: phaseTimeoutMs, minReconciles: systemNamespaces })))
        notes.push('operator did not settle after start-up within the bound');
    log(`operator ready (pid ${op.pid}); converge: applying one profile to ${N} namespaces`);

    sampler.phase('converge');
    const cpuStart = cpuSeconds(op.pid) ?? Number.NaN;
    const converge = await runConverge(admin, trackers, names, MEMBER, phaseTimeoutMs);
    log(`converge: ${converge.arrived}/${converge.expected} in ${converge.seconds.toFixed(2)} s`);
    if (converge.arrived < converge.expected) notes.push('converge timed out before every object appeared');
    if (!(await waitSettled(op, { timeoutMs: phaseTimeoutMs })))
        notes.push('operator did not settle after converge');
    const settledAt = new Date();
    const cpuConverge = (cpuSeconds(op.pid) ?? Number.NaN) - cpuStart;
    const convergeAudit = await auditWindow(
        cp.state.auditLogPath,
        OPERATOR_USER,
        converge.startedAt,
        settledAt,
    );

    sampler.phase('latency');
    const latNames = namespaceNames('lat', opts.rate * opts.latencySeconds);
    log(`latency: creating ${latNames.length} namespaces at ${opts.rate}/s`);
    const latency = await runLatency(admin, trackers, latNames, {
        run,
        member: MEMBER,
        rate: opts.rate,
        graceMs: 30_000,
    });
    if (!(await waitSettled(op, { timeoutMs: phaseTimeoutMs })))
        notes.push('operator did not settle after latency');

    sampler.phase('idle');
    log(`steady state: ${opts.idleSeconds} s idle`);
    const idleFrom = new Date();
    await sleep(opts.idleSeconds * 1000);
    const idle = await auditWindow(cp.state.auditLogPath, OPERATOR_USER, idleFrom);
    const idleMetrics = await op.metrics();
    const heapMiB = (name: string) => metricValue(idleMetrics, name) / 2 ** 20;
    const totalCpu = cpuSeconds(op.pid) ?? Number.NaN;
    const steadyRss = sampler.last('idle');

    log('restart: stopping the operator and starting a fresh process');
    await op.stop();
    const restartFrom = new Date();
    op = await startBenchOperator(cp, {
        kubeconfig: operatorKubeconfig,
        concurrency: opts.concurrency,
        cpuProfDir,
    });
    sampler.track(op.pid, 'restart');
    const allNamespaces = (await admin.core.listNamespace()).items.length;
    const restartSettled = await waitSettled(op, {
        timeoutMs: phaseTimeoutMs,
        minReconciles: allNamespaces,
        quietMs: 5000,
    });
    const restartCpu = cpuSeconds(op.pid) ?? Number.NaN;
    const restart = await auditWindow(cp.state.auditLogPath, OPERATOR_USER, restartFrom);

    const managed = `${LABEL_MANAGED_BY}=${MANAGED_BY_VALUE}`;
    const generated =
        (await admin.net.listNetworkPolicyForAllNamespaces({ labelSelector: managed })).items.length +
        (await admin.rbac.listRoleBindingForAllNamespaces({ labelSelector: managed })).items.length;
    const serviceAccounts = (await admin.core.listServiceAccountForAllNamespaces()).items.length;

    const result: BenchResult = {
        startedAt,
        machine: {
            nproc: nproc(),
            memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
            node: process.version,
            cpuModel: cpus()[0]?.model ?? 'unknown',
            loadAvgAtStart: loadavg(),
        },
        options: { ...opts },
        baseline,
        pooledBaseline: pooled,
        converge: {
            seconds: converge.seconds,
            ratio: converge.seconds / baseline.seconds,
            expected: converge.expected,
            arrived: converge.arrived,
            firstObjectSeconds: converge.firstObjectSeconds,
            settledSeconds: (settledAt.getTime() - converge.startedAt.getTime()) / 1000,
        },
        latency: {
            ...summarize(latency.latenciesMs),
            rate: latency.rate,
            created: latency.created,
            missing: latency.missing,
            createErrors: latency.createErrors,
        },
        steady: {
            idleSeconds: opts.idleSeconds,
            idleWrites: idle.writes,
            idleWriteList: idle.writeList,
            restartWrites: restart.writes,
            restartWriteList: restart.writeList,
            restartSettled,
        },
        cost: {
            peakRssMiB: sampler.peak(['startup', 'converge', 'latency', 'idle']),
            steadyRssMiB: steadyRss,
            restartPeakRssMiB: sampler.peak(['restart']),
            convergeCpuSeconds: cpuConverge,
            totalCpuSeconds: totalCpu,
            restartCpuSeconds: restartCpu,
            apiRequestsPerNamespace: convergeAudit.requests / N,
            writesPerNamespace: convergeAudit.writes / N,
            convergeRequestsByVerb: convergeAudit.byVerb,
            restartRequests: restart.requests,
            idleHeapUsedMiB: heapMiB('nodejs_heap_size_used_bytes'),
            idleHeapTotalMiB: heapMiB('nodejs_heap_size_total_bytes'),
            idleExternalMiB: heapMiB('nodejs_external_memory_bytes'),
            operatorWriteCounter: metricValue(idleMetrics, 'isolation_operator_writes_total'),
            cluster: { namespaces: allNamespaces, serviceAccounts, generatedObjects: generated },
        },
        notes,
    };
    console.log(formatTable(tableRows(result)));
    for (const n of notes) console.log(`note: ${n}`);
    for (const w of idle.writeList) console.log(`idle write: ${w}`);
    for (const w of restart.writeList.slice(0, 10)) console.log(`restart write: ${w}`);
    console.log(`result: ${await writeResult(RESULTS, result)}`);
} catch (err) {
    exitCode = 1;
    console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
} finally {
    sampler.stop();
    await Promise.all(trackers?.all().map((t) => t.stop()) ?? []).catch(() => undefined);
    if (op) await op.stop().catch(() => undefined);
    if (opts.keep) {
        console.error(`control plane kept running: ${cp.state.runDir} (kubeconfig ${cp.kubeconfigPath});`);
        console.error(`stop it with: CONTROLPLANE_DIR=${cp.state.runDir} npm run controlplane -- down`);
    } else {
        await cp.stop();
    }
}
process.exit(exitCode);
