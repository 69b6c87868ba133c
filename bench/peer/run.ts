/**
 * One run of the side-by-side benchmark: one controller setting (HNC or the operator) on its own fresh local
 * control plane, N namespaces, the same five objects per namespace, measured the same way for both:
 *   converge  (controller ready and idle → the trigger: the operator's profile gains the five objects, or HNC's
 *              five source objects are created in the parent → every N×5 object seen by the same watches),
 *   cost      (controller CPU seconds trigger → converged, peak RSS from /proc, write and API requests trigger →
 *              quiet from the audit log, under the controller's own user),
 *   latency   (namespaces created at a fixed rate → their default-deny seen),
 *   idle      (the controller's requests and writes in an idle window).
 *
 * Design choice: HNC's hierarchy is set with one HierarchyConfiguration per child namespace (`spec.parent`),
 * created by the bench before HNC starts, untimed, and HNC is waited for until every child carries the parent's
 * tree label and its queues are idle. That is the cheapest set-up (one request per namespace, no namespace
 * created by HNC) and it leaves in the timed window only what the operator's window holds: propagating the
 * objects. Subnamespace anchors would have HNC create the N namespaces itself, and those are the bench's fixtures.
 * The operator starts from the same state (`OperatorStart` 'member'): its profile already governs and labels the N
 * namespaces, generating nothing, and the trigger replaces the profile's spec with one declaring the five objects.
 * Until 2026-12-06 the trigger created the profile, which left the N namespace-label writes — HNC's tree labels'
 * counterpart — in the operator's timed window only (`--operator-start cold` still measures that).
 */
import { loadavg } from 'node:os';

import type { KubernetesObject } from '@kubernetes/client-node';

import { LABEL_MANAGED_BY, LABEL_PROFILE, MANAGED_BY_VALUE } from '../../src/api/types.ts';
import { GROUP, PLURAL, VERSION } from '../../src/api/types.ts';
import { startControlPlane } from '../../test/controlplane/controlplane.ts';
import type { ControlPlane } from '../../test/controlplane/controlplane.ts';
import { installCRDs } from '../../test/controlplane/crds.ts';
import { installOperatorRbac, OPERATOR_USER } from '../../test/support/operator.ts';
import { auditOffset, auditWindow } from '../audit-window.ts';
import { expectedObject, runLatency, startTrackers, timeArrivals } from '../converge.ts';
import type { Trackers } from '../converge.ts';
import { namespaceNames, namespaceObject } from '../fixture.ts';
import { clientsFor, createNamespaces, runPool, sleep, withRetry } from '../kube.ts';
import type { Clients } from '../kube.ts';
import { counters, OPERATOR_BUNDLE, startBenchOperator, waitIdle } from '../operator.ts';
import type { OperatorCounters } from '../operator.ts';
import { cpuSeconds, RssSampler } from '../proc.ts';
import { summarize } from '../stats.ts';
import type { Summary } from '../stats.ts';
import {
    HNC_GROUP,
    hierarchyConfiguration,
    installHnc,
    LABEL_INHERITED_FROM,
    HNC_USER,
    startHnc,
    treeLabel,
} from './hnc.ts';
import {
    hncSourceObjects,
    membershipProfile,
    PEER_PROFILE_NAME,
    peerObjects,
    peerProfile,
} from './objects.ts';

export const MEMBER = 'peer';
export const PARENT = 'peer-parent';

/** A controller setting measured side by side. */
export type Variant =
    | { name: string; kind: 'hnc'; qps: number; maxReconciles: number }
    | { name: string; kind: 'operator'; concurrency: number };

/**
 * How the operator's timed window starts. `member` (default): the profile already governs and labels the N
 * namespaces, nothing generated, and the trigger declares the five objects — the same state HNC starts from (its
 * hierarchy set and every child tree-labelled before the trigger). `cold`: no profile before the trigger, which is
 * then the profile's creation, so the window also holds the N namespace-label writes (the method of the runs up to
 * 2026-12-05).
 */
export type OperatorStart = 'member' | 'cold';

export interface RunOptions {
    namespaces: number;
    idleSeconds: number;
    latencySeconds: number;
    rate: number;
    fixtureConcurrency: number;
    operatorStart: OperatorStart;
    /** HNC's cache folder (bench/peer/build.sh); needed for HNC variants. */
    hncDir?: string;
    log: (msg: string) => void;
}

export interface PeerRun {
    variant: string;
    round: number;
    namespaces: number;
    startedAt: string;
    loadAvgAtStart: number[];
    converge: {
        seconds: number;
        expected: number;
        arrived: number;
        firstObjectSeconds: number;
        /** Trigger → the controller idle again (its queues empty, its writes quiet for 3 s). */
        settledSeconds: number;
    };
    convergeCpuSeconds: number;
    peakRssMiB: number;
    writesToQuiet: number;
    requestsToQuiet: number;
    requestsPerNamespace: number;
    requestsByVerb: Record<string, number>;
    latency: Summary & { rate: number; created: number; missing: number; createErrors: number };
    idle: { seconds: number; writes: number; requests: number; writeList: string[] };
    notes: string[];
}

interface Running {
    pid: number;
    user: string;
    logPath: string;
    read: () => Promise<OperatorCounters>;
    stop: () => Promise<unknown>;
}

/** The generated objects' selector in the watches: the operator's managed-by label, or HNC's inherited-from. */
function generatedSelector(v: Variant): string {
    return v.kind === 'hnc' ? `${LABEL_INHERITED_FROM}=${PARENT}` : `${LABEL_MANAGED_BY}=${MANAGED_BY_VALUE}`;
}

async function createHierarchy(c: Clients, names: readonly string[], o: RunOptions, timeoutMs: number) {
    await runPool(
        names,
        o.fixtureConcurrency,
        (ns) => withRetry(() => createHierarchyConfiguration(c, ns)).then(() => undefined),
        timeoutMs,
    );
}

function createHierarchyConfiguration(c: Clients, ns: string) {
    return c.custom.createNamespacedCustomObject({
        group: HNC_GROUP,
        version: 'v1alpha2',
        namespace: ns,
        plural: 'hierarchyconfigurations',
        body: hierarchyConfiguration(ns, PARENT),
    });
}

/**
 * Until `count` namespaces match `labelSelector` — every child carries the parent's tree label (HNC has read the
 * whole hierarchy), or the profile's label (the operator governs every member); false at the timeout.
 */
async function waitLabelled(
    c: Clients,
    labelSelector: string,
    count: number,
    timeoutMs: number,
): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        const list = await c.core.listNamespace({ labelSelector });
        if (list.items.length >= count) return true;
        await sleep(1000);
    }
    return false;
}

/**
 * The timed window's first request: HNC's five source objects created in the parent (in parallel); the profile's
 * spec replaced by the one declaring the five objects (`member`, its resourceVersion read before the clock), or the
 * profile created (`cold`).
 */
async function triggerFor(v: Variant, admin: Clients, start: OperatorStart): Promise<() => Promise<unknown>> {
    if (v.kind === 'hnc')
        return () =>
            Promise.all(
                hncSourceObjects(PARENT, MEMBER).map((s: KubernetesObject) => admin.objects.create(s)),
            );
    const ref = { group: GROUP, version: VERSION, plural: PLURAL };
    if (start === 'cold')
        return () => admin.custom.createClusterCustomObject({ ...ref, body: peerProfile(MEMBER) });
    const current = (await admin.custom.getClusterCustomObject({ ...ref, name: PEER_PROFILE_NAME })) as {
        metadata: { resourceVersion: string };
    };
    const full = peerProfile(MEMBER);
    const body = {
        ...full,
        metadata: { ...full.metadata, resourceVersion: current.metadata.resourceVersion },
    };
    return () => admin.custom.replaceClusterCustomObject({ ...ref, name: PEER_PROFILE_NAME, body });
}

async function startController(
    cp: ControlPlane,
    admin: Clients,
    v: Variant,
    kubeconfig: string,
    o: RunOptions,
    timeoutMs: number,
    notes: string[],
): Promise<Running> {
    if (v.kind === 'hnc') {
        const hnc = await startHnc(cp, o.hncDir!, {
            kubeconfig,
            qps: v.qps,
            maxReconciles: v.maxReconciles,
            readyTimeoutMs: timeoutMs,
        });
        const running = {
            pid: hnc.pid,
            user: HNC_USER,
            logPath: hnc.logPath,
            read: () => hnc.counters(),
            stop: () => hnc.stop(),
        };
        if (!(await waitLabelled(admin, `${treeLabel(PARENT)}=1`, o.namespaces, timeoutMs)))
            notes.push('HNC did not label every child with the parent within the bound');
        if (!(await waitIdle(running.read, { timeoutMs })))
            notes.push('HNC did not settle after start-up within the bound');
        return running;
    }
    const op = await startBenchOperator(cp, {
        kubeconfig,
        concurrency: v.concurrency,
        readyTimeoutMs: timeoutMs,
        entry: OPERATOR_BUNDLE,
    });
    const running = {
        pid: op.pid,
        user: OPERATOR_USER,
        logPath: op.logPath,
        read: () => counters(op),
        stop: () => op.stop(),
    };
    if (
        o.operatorStart === 'member' &&
        !(await waitLabelled(admin, `${LABEL_PROFILE}=${PEER_PROFILE_NAME}`, o.namespaces, timeoutMs))
    )
        notes.push('the operator did not label every member within the bound');
    const systemNamespaces = (await admin.core.listNamespace()).items.length;
    if (!(await waitIdle(running.read, { timeoutMs, minReconciles: systemNamespaces })))
        notes.push('operator did not settle after start-up within the bound');
    return running;
}

export async function runOnce(v: Variant, round: number, o: RunOptions): Promise<PeerRun> {
    const { log } = o;
    const N = o.namespaces;
    const timeoutMs = Math.max(300_000, N * 300);
    const notes: string[] = [];
    const startedAt = new Date().toISOString();
    const runId = `${v.name}-${startedAt.replace(/\D/g, '').slice(0, 14)}`;
    const loadAvgAtStart = loadavg();
    const cp = await startControlPlane({
        log,
        watchdog: true,
        beforeControllerManager: (s) => installCRDs(s.binDir, s.kubeconfigPath),
    });
    const sampler = new RssSampler(500);
    const admin = clientsFor(cp.kubeconfigPath);
    let trackers: Trackers | undefined;
    let ctl: Running | undefined;
    try {
        const kubeconfig = v.kind === 'hnc' ? await installHnc(cp, o.hncDir!) : await installOperatorRbac(cp);
        const names = namespaceNames(MEMBER, N);
        log(`${v.name}: creating ${N} namespaces (untimed)`);
        if (v.kind === 'hnc') await admin.core.createNamespace({ body: namespaceObject(PARENT, runId) });
        await createNamespaces(admin, names, {
            run: runId,
            member: MEMBER,
            serviceAccounts: false,
            concurrency: o.fixtureConcurrency,
            timeoutMs,
        });
        if (v.kind === 'hnc') {
            log(`${v.name}: setting ${PARENT} as the parent of each (untimed)`);
            await createHierarchy(admin, names, o, timeoutMs);
        } else if (o.operatorStart === 'member') {
            log(`${v.name}: a profile governing each, generating nothing (untimed)`);
            await admin.custom.createClusterCustomObject({
                group: GROUP,
                version: VERSION,
                plural: PLURAL,
                body: membershipProfile(MEMBER),
            });
        }
        trackers = await startTrackers(admin, generatedSelector(v));
        ctl = await startController(cp, admin, v, kubeconfig, o, timeoutMs, notes);
        sampler.track(ctl.pid, 'startup');
        log(`${v.name}: ready (pid ${ctl.pid}); converge`);

        for (const t of trackers.all()) t.reset();
        sampler.phase('converge');
        const expected = names.flatMap((ns) =>
            peerObjects(ns, MEMBER).map((d) => expectedObject(trackers!, d.kind, ns, d.metadata.name)),
        );
        const trigger = await triggerFor(v, admin, o.operatorStart);
        const cpuStart = cpuSeconds(ctl.pid) ?? Number.NaN;
        const offset = auditOffset(cp.state.auditLogPath);
        const converge = await timeArrivals(expected, trigger, timeoutMs);
        const convergeCpuSeconds = (cpuSeconds(ctl.pid) ?? Number.NaN) - cpuStart;
        log(
            `${v.name}: ${converge.arrived}/${converge.expected} objects in ${converge.seconds.toFixed(2)} s`,
        );
        if (converge.arrived < converge.expected)
            notes.push('converge timed out before every object appeared');
        if (!(await waitIdle(ctl.read, { timeoutMs })))
            notes.push('controller did not settle after converge');
        const settledAt = new Date();
        const audit = await auditWindow(cp.state.auditLogPath, ctl.user, converge.startedAt, settledAt, {
            start: offset,
        });

        sampler.phase('latency');
        const latNames = namespaceNames('lat', o.rate * o.latencySeconds);
        log(`${v.name}: latency, ${latNames.length} namespaces at ${o.rate}/s`);
        const create =
            v.kind === 'hnc'
                ? async (ns: string) => {
                      await admin.core.createNamespace({ body: namespaceObject(ns, runId, MEMBER) });
                      await createHierarchyConfiguration(admin, ns);
                  }
                : undefined;
        const latency = await runLatency(admin, trackers, latNames, {
            run: runId,
            member: MEMBER,
            rate: o.rate,
            graceMs: 30_000,
            ...(create ? { create } : {}),
        });
        if (!(await waitIdle(ctl.read, { timeoutMs }))) notes.push('controller did not settle after latency');

        sampler.phase('idle');
        log(`${v.name}: ${o.idleSeconds} s idle`);
        const idleOffset = auditOffset(cp.state.auditLogPath);
        const idleFrom = new Date();
        await sleep(o.idleSeconds * 1000);
        const idle = await auditWindow(cp.state.auditLogPath, ctl.user, idleFrom, undefined, {
            start: idleOffset,
        });

        return {
            variant: v.name,
            round,
            namespaces: N,
            startedAt,
            loadAvgAtStart,
            converge: {
                seconds: converge.seconds,
                expected: converge.expected,
                arrived: converge.arrived,
                firstObjectSeconds: converge.firstObjectSeconds,
                settledSeconds: (settledAt.getTime() - converge.startedAt.getTime()) / 1000,
            },
            convergeCpuSeconds,
            peakRssMiB: sampler.peak(['startup', 'converge', 'latency', 'idle']),
            writesToQuiet: audit.writes,
            requestsToQuiet: audit.requests,
            requestsPerNamespace: audit.requests / N,
            requestsByVerb: audit.byVerb,
            latency: {
                ...summarize(latency.latenciesMs),
                rate: latency.rate,
                created: latency.created,
                missing: latency.missing,
                createErrors: latency.createErrors,
            },
            idle: {
                seconds: o.idleSeconds,
                writes: idle.writes,
                requests: idle.requests,
                writeList: idle.writeList,
            },
            notes,
        };
    } finally {
        sampler.stop();
        await Promise.all(trackers?.all().map((t) => t.stop()) ?? []).catch(() => undefined);
        if (ctl) await ctl.stop().catch(() => undefined);
        await admin.close().catch(() => undefined);
        if (ctl) log(`${v.name}: controller log ${ctl.logPath} (removed with the control plane)`);
        await cp.stop();
    }
}
