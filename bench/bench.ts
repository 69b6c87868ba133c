/**
 * The benchmark harness (`npm run bench -- --namespaces N`, `make bench NAMESPACES=N`): one run on one fresh
 * local control plane, measuring the DESIGN §7 targets in order —
 *   baseline  (a plain pooled client sends exactly the operator's writes: the API server's write rate here; the
 *              same without connection reuse is timed first, for reference),
 *   converge  (the operator, under its ServiceAccount, applies one profile to N namespaces),
 *   latency   (namespaces created at a steady rate → their default-deny present),
 *   steady    (operator writes over an idle window, and after a restart: both must be zero),
 *   cost      (RSS, V8 heap, CPU seconds, API requests per namespace from the audit log; a heap snapshot at
 *              steady state with --heap-snapshot).
 * Prints a table and writes bench/results/<date>-n<N>.json. Every wait is bounded; the control plane is always
 * stopped in `finally` (unless --keep).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../src/api/types.ts';
import { startControlPlane } from '../test/controlplane/controlplane.ts';
import { installCRDs } from '../test/controlplane/crds.ts';
import { installOperatorRbac, metricValue, OPERATOR_USER } from '../test/support/operator.ts';
import type { OperatorProcess } from '../test/support/operator.ts';
import { auditOffset, auditWindow } from './audit-window.ts';
import { cleanupBaseline, runBaseline } from './baseline.ts';
import { runConverge, runLatency, startTrackers } from './converge.ts';
import type { Trackers } from './converge.ts';
import { namespaceNames } from './fixture.ts';
import { clientsFor, createNamespaces, sleep } from './kube.ts';
import type { Clients } from './kube.ts';
import {
    buildOperatorBundle,
    deploymentEnv,
    imageNodeArgs,
    OPERATOR_BUNDLE,
    scrape,
    startBenchOperator,
    takeHeapSnapshot,
    waitSettled,
} from './operator.ts';
import { parseOptions } from './options.ts';
import { cpuSeconds, memoryBreakdown, RssSampler } from './proc.ts';
import { formatTable, tableRows, writeResult } from './report.ts';
import type { BenchResult } from './report.ts';
import { summarize } from './stats.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const RESULTS = join(HERE, 'results');
const PROFILES = join(RESULTS, 'profiles');
const MEMBER = 'converge';

const opts = parseOptions(process.argv.slice(2));
// The image runs the bundle (hack/bundle.ts): measure that, not the TypeScript loader and unbundled modules.
if (opts.operatorEntry === OPERATOR_BUNDLE) buildOperatorBundle();
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

/** The operator code measured: commit, and files of src/ and config/ changed in the working tree. */
function codeVersion(): { commit: string; uncommitted: string[] } {
    const git = (args: string[]) => {
        try {
            return execFileSync('git', args, { cwd: join(HERE, '..'), encoding: 'utf8' }).trim();
        } catch {
            return '';
        }
    };
    const uncommitted = git(['status', '--porcelain', '--', 'src', 'config', 'Dockerfile'])
        .split('\n')
        .filter((l) => l.length > 0);
    return { commit: git(['rev-parse', 'HEAD']) || 'unknown', uncommitted };
}
const code = codeVersion();

const cp = await startControlPlane({
    log,
    watchdog: !opts.keep,
    beforeControllerManager: (s) => installCRDs(s.binDir, s.kubeconfigPath),
});
let op: OperatorProcess | undefined;
/** Logs of every operator process started; copied to bench/results/profiles at the end (the run dir is removed). */
const operatorLogs: string[] = [];
let trackers: Trackers | undefined;
const openClients: Clients[] = [];
const sampler = new RssSampler(500, undefined, memoryBreakdown);
let exitCode = 0;
try {
    const admin = clientsFor(cp.kubeconfigPath);
    openClients.push(admin);
    // Exactly config/rbac: the operator must run with the permissions it ships with.
    const operatorKubeconfig = await installOperatorRbac(cp);

    const names = namespaceNames('bench', N);
    log(
        `creating ${N} namespaces and ${2 * N} ServiceAccounts (untimed, concurrency ${opts.fixtureConcurrency})`,
    );
    await createNamespaces(admin, names, {
        run,
        member: MEMBER,
        serviceAccounts: true,
        concurrency: opts.fixtureConcurrency,
        timeoutMs: phaseTimeoutMs,
    });

    trackers = await startTrackers(admin);
    const timeBaseline = async (label: string, c: Clients) => {
        log(`baseline (${label}): plain client, concurrency ${opts.concurrency}`);
        const b = await runBaseline(c, names, MEMBER, opts.concurrency, phaseTimeoutMs);
        log(`baseline (${label}): ${b.requests} writes in ${b.seconds.toFixed(2)} s`);
        await cleanupBaseline(admin, names, phaseTimeoutMs, opts.fixtureConcurrency);
        await c.close();
        return b;
    };
    // The reference first, so that the headline (pooled) baseline runs right before the operator does.
    const unpooled = opts.unpooledBaseline
        ? await timeBaseline('unpooled, reference', clientsFor(cp.kubeconfigPath, false))
        : null;
    const baseline = await timeBaseline('pooled, headline', clientsFor(cp.kubeconfigPath, true));

    const cpuProfDir = opts.cpuProf ? PROFILES : undefined;
    const heapSnapshotDir = opts.heapSnapshot ? PROFILES : undefined;
    if (cpuProfDir ?? heapSnapshotDir) mkdirSync(PROFILES, { recursive: true });
    const operatorOptions = {
        kubeconfig: operatorKubeconfig,
        concurrency: opts.concurrency,
        cpuProfDir,
        heapSnapshotDir,
        nodeArgs: opts.operatorNodeArg,
        readyTimeoutMs: phaseTimeoutMs,
        entry: opts.operatorEntry,
    };
    op = await startBenchOperator(cp, operatorOptions);
    operatorLogs.push(op.logPath);
    sampler.track(op.pid, 'startup');
    const systemNamespaces = (await admin.core.listNamespace()).items.length;
    if (!(await waitSettled(op, { timeoutMs: phaseTimeoutMs, minReconciles: systemNamespaces })))
        notes.push('operator did not settle after start-up within the bound');
    log(`operator ready (pid ${op.pid}); converge: applying one profile to ${N} namespaces`);

    for (const t of trackers.all()) t.reset();
    sampler.phase('converge');
    const cpuStart = cpuSeconds(op.pid) ?? Number.NaN;
    const convergeOffset = auditOffset(cp.state.auditLogPath);
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
        { start: convergeOffset },
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
    const idleOffset = auditOffset(cp.state.auditLogPath);
    const idleFrom = new Date();
    await sleep(opts.idleSeconds * 1000);
    const idle = await auditWindow(cp.state.auditLogPath, OPERATOR_USER, idleFrom, undefined, {
        start: idleOffset,
    });
    const idleMetrics = await scrape(op);
    const heapMiB = (text: string, name: string) => metricValue(text, name) / 2 ** 20;
    const totalCpu = cpuSeconds(op.pid) ?? Number.NaN;
    const steadyRss = sampler.last('idle');
    const steadyMemory = memoryBreakdown(op.pid) ?? null;

    let heapSnapshot: string | null = null;
    if (heapSnapshotDir) {
        sampler.phase('snapshot'); // writing a snapshot costs memory itself: kept out of the peaks
        log('heap snapshot of the operator at steady state (SIGUSR2)');
        heapSnapshot = (await takeHeapSnapshot(op, heapSnapshotDir, Math.max(120_000, N * 30))) ?? null;
        if (!heapSnapshot) notes.push('the heap snapshot was not written within the bound');
        log(`heap snapshot: ${heapSnapshot ?? 'none'}`);
    }

    log('restart: stopping the operator and starting a fresh process');
    await op.stop();
    const restartOffset = auditOffset(cp.state.auditLogPath);
    const restartFrom = new Date();
    op = await startBenchOperator(cp, { ...operatorOptions, heapSnapshotDir: undefined });
    operatorLogs.push(op.logPath);
    sampler.track(op.pid, 'restart');
    const allNamespaces = (await admin.core.listNamespace()).items.length;
    const restartSettled = await waitSettled(op, {
        timeoutMs: phaseTimeoutMs,
        minReconciles: allNamespaces,
        quietMs: 5000,
    });
    const restartCpu = cpuSeconds(op.pid) ?? Number.NaN;
    const restart = await auditWindow(cp.state.auditLogPath, OPERATOR_USER, restartFrom, undefined, {
        start: restartOffset,
    });
    sampler.phase('restart-settled');
    const restartMetrics = await scrape(op);

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
        options: { ...opts, operatorEnv: deploymentEnv(), operatorImageNodeArgs: imageNodeArgs() },
        code,
        baselineConnections: 'pooled',
        baseline,
        unpooledBaseline: unpooled,
        converge: {
            seconds: converge.seconds,
            ratio: converge.seconds / baseline.seconds,
            unpooledRatio: unpooled ? converge.seconds / unpooled.seconds : null,
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
            idleHeapUsedMiB: heapMiB(idleMetrics, 'nodejs_heap_size_used_bytes'),
            idleHeapTotalMiB: heapMiB(idleMetrics, 'nodejs_heap_size_total_bytes'),
            idleExternalMiB: heapMiB(idleMetrics, 'nodejs_external_memory_bytes'),
            restartSettledRssMiB: sampler.last('restart-settled'),
            restartHeapUsedMiB: heapMiB(restartMetrics, 'nodejs_heap_size_used_bytes'),
            heapSnapshot,
            steadyMemory,
            peakMemory: sampler.peakDetail(['startup', 'converge', 'latency', 'idle']) ?? null,
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
    await Promise.all(openClients.map((c) => c.close())).catch(() => undefined);
    for (const path of operatorLogs) {
        const kept = join(PROFILES, `${run}-${basename(path)}`);
        await mkdir(PROFILES, { recursive: true })
            .then(() => copyFile(path, kept))
            .then(
                () => console.error(`operator log kept: ${kept}`),
                () => undefined,
            );
    }
    if (opts.keep) {
        console.error(`control plane kept running: ${cp.state.runDir} (kubeconfig ${cp.kubeconfigPath});`);
        console.error(`stop it with: CONTROLPLANE_DIR=${cp.state.runDir} npm run controlplane -- down`);
    } else {
        await cp.stop();
    }
}
process.exit(exitCode);
