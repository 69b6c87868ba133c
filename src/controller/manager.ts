/**
 * The manager runs the operator: the controller description (src/controller/watches.ts: which watched kind wakes
 * which key on which queue) over the informers, two controllers (a workqueue and its reconciler each: namespaces
 * and profiles), resync, leader election, metrics/health endpoints and graceful shutdown.
 *
 * Start-up order matters for the zero-write promise: informers start at once (standbys keep warm caches), but no
 * key is reconciled until every informer has synced AND this replica leads; then every namespace and profile is
 * enqueued once. Reconciling earlier would plan against a half-filled cache and re-apply objects that exist.
 * On SIGTERM the manager stops taking work, lets in-flight reconciles finish (bounded), releases the Lease so a
 * standby takes over at once, and closes the endpoints.
 */
import { AuthenticationV1Api, AuthorizationV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import type { V1Namespace } from '@kubernetes/client-node';

import { NAMESPACE_NAME_LABEL } from '../api/types.ts';
import { NAME_DEFAULT_DENY } from '../plan/index.ts';
import { createLogger, errorFields, reconcileLogger } from '../observability/logger.ts';
import type { Logger } from '../observability/logger.ts';
import { createMetrics } from '../observability/metrics.ts';
import type { Metrics } from '../observability/metrics.ts';
import { ObservabilityServer } from '../observability/server.ts';
import { servingCert, watchServingCert } from '../observability/serving-cert.ts';
import type { ServingCert } from '../observability/serving-cert.ts';
import { DelegatedAuth } from '../runtime/delegated-auth.ts';
import { realClock } from '../runtime/clock.ts';
import type { Clock, TimerHandle } from '../runtime/clock.ts';
import { loadPooledKubeConfig, PooledKubeConfig } from '../runtime/kubeconfig.ts';
import { Resync } from '../runtime/resync.ts';
import { Workqueue } from '../runtime/workqueue.ts';
import type { ReconcileFn } from '../runtime/workqueue.ts';
import type { InformerEventType } from '../runtime/informer.ts';
import type { ReconcileReport, WorkqueueMetrics } from '../runtime/workqueue.ts';
import { allInformers, createInformers, viewOf, writerOf } from './cluster.ts';
import type { Informers } from './cluster.ts';
import { profileEvents } from './events.ts';
import { leaderElection } from './leader.ts';
import type { Leadership } from './leader.ts';
import { NamespaceReconciler } from './namespace-reconciler.ts';
import { OutcomeStore } from './outcomes.ts';
import { AlignmentReport } from './alignment.ts';
import { ProfileReconciler } from './profile-reconciler.ts';
import type { ClusterView } from './ports.ts';
import { handlersFor, operatorWatches } from './watches.ts';
import type { QueueName, Watches } from './watches.ts';
import { type CachedLookup, RecentWrites, TTL_MS as OVERLAY_TTL_MS } from './recent-writes.ts';
import type { OperatorSettings } from './settings.ts';

const NS_CONTROLLER = 'namespace';
const PROFILE_CONTROLLER = 'isolationprofile';

export function loadKubeConfig(path: string): KubeConfig {
    return loadPooledKubeConfig(path);
}

function queueMetrics(m: Metrics, controller: string): Partial<WorkqueueMetrics> {
    const l = { name: controller, controller };
    return {
        add: () => m.workqueueAdds.inc(l),
        depth: (n) => m.workqueueDepth.set(l, n),
        retry: () => m.workqueueRetries.inc(l),
        queueDuration: (s) => m.workqueueQueueDuration.observe(l, s),
        workDuration: (s) => {
            m.workqueueWorkDuration.observe(l, s);
            m.reconcileTime.observe({ controller }, s);
        },
        reconcileResult: (r) => m.reconcileTotal.inc({ controller, result: r }),
        reconcileError: () => m.reconcileErrors.inc({ controller }),
        terminalError: () => m.terminalReconcileErrors.inc({ controller }),
        panic: () => m.reconcilePanics.inc({ controller }),
        timeout: () => m.reconcileTimeouts.inc({ controller }),
        activeWorkers: (n) => m.activeWorkers.set({ controller }, n),
    };
}

/** HTTPS and delegated authentication/authorization for `/metrics` (controller-runtime's secure metrics). */
function secureMetrics(kc: KubeConfig, tls: ServingCert) {
    const authn = kc.makeApiClient(AuthenticationV1Api);
    const authz = kc.makeApiClient(AuthorizationV1Api);
    return {
        metricsTls: { cert: tls.cert, key: tls.key },
        metricsAuthorizer: new DelegatedAuth({
            apis: {
                createTokenReview: (p) => authn.createTokenReview(p),
                createSubjectAccessReview: (p) => authz.createSubjectAccessReview(p),
            },
        }),
    };
}

/** One controller: a queue name, its worker count and the reconcile its workers run. */
interface ControllerSpec {
    name: string;
    concurrency: number;
    reconcile: ReconcileFn;
}

/** A workqueue for a controller, with its metrics and its failures logged with the reconcileID. */
function startController(spec: ControllerSpec, metrics: Metrics, log: Logger, clock: Clock): Workqueue {
    const queue = new Workqueue({
        name: spec.name,
        concurrency: spec.concurrency,
        clock,
        reconcile: spec.reconcile,
        metrics: queueMetrics(metrics, spec.name),
        onResult: (r: ReconcileReport) => {
            if (r.outcome !== 'error') return;
            log.warn('reconcile failed', {
                controller: spec.name,
                key: r.key,
                reconcileID: r.reconcileID,
                terminal: r.terminal === true,
                ...errorFields(r.error),
            });
        },
    });
    metrics.maxConcurrentReconciles.set({ controller: spec.name }, spec.concurrency);
    metrics.registerWorkqueue(spec.name, spec.name, queue);
    return queue;
}

/**
 * Where the description's keys go. The queues are registered once the reconcilers exist (which themselves enqueue
 * into the other queue), and keys flow only while `active` (this replica leads and every cache has synced).
 */
class Queues {
    active = false;
    #byName = new Map<QueueName, Workqueue>();

    register(name: QueueName, queue: Workqueue): Workqueue {
        this.#byName.set(name, queue);
        return queue;
    }
    add(name: QueueName, key: string, afterMs = 0): void {
        this.#byName.get(name)?.addAfter(key, afterMs);
    }
    all(): Workqueue[] {
        return [...this.#byName.values()];
    }
    /** Keys of one queue ready to run (0 before it is registered). */
    ready(name: QueueName): number {
        return this.#byName.get(name)?.len() ?? 0;
    }
}

/** The creation → default-deny latency of new namespaces (isolation_operator_namespace_isolation_latency_seconds). */
class IsolationLatency {
    /** When a new namespace was first seen. */
    readonly #firstSeen = new Map<string, number>();
    /** Per namespace being reconciled: how many profiles its reconcile touched (cleared when it ends). */
    readonly #touched = new Map<string, number>();
    readonly #clock: Clock;
    readonly #observe: (seconds: number) => void;

    constructor(clock: Clock, observe: (seconds: number) => void) {
        this.#clock = clock;
        this.#observe = observe;
    }
    /** A namespace event; only namespaces created within the last minute are timed. */
    seen(event: InformerEventType, ns: V1Namespace): void {
        const name = ns.metadata?.name;
        if (!name) return;
        if (event === 'delete') this.#firstSeen.delete(name);
        if (event !== 'add') return;
        const created = Date.parse(String(ns.metadata?.creationTimestamp ?? ''));
        if (Number.isFinite(created) && this.#clock.now() - created < 60_000)
            this.#firstSeen.set(name, this.#clock.now());
    }
    touched(namespace: string, profiles: number): void {
        this.#touched.set(namespace, profiles);
    }
    /** After a successful reconcile: observe once the default-deny exists, forget if no profile touches it. */
    reconciled(namespace: string, view: ClusterView): void {
        const seen = this.#firstSeen.get(namespace);
        if (seen === undefined) return;
        const hasDeny = view.networkPolicies(namespace).some((np) => np.metadata?.name === NAME_DEFAULT_DENY);
        if (hasDeny) this.#observe((this.#clock.now() - seen) / 1000);
        if (hasDeny || !this.#touched.get(namespace)) this.#firstSeen.delete(namespace);
    }
    done(namespace: string): void {
        this.#touched.delete(namespace);
    }
}

function updateProfileGauges(metrics: Metrics, view: ClusterView, informers: Informers): void {
    const counts: Record<string, number> = {
        Ready: 0,
        Stalled: 0,
        Reconciling: 0,
        Conflict: 0,
        DriftDetected: 0,
    };
    let conflicted = 0;
    for (const p of view.profiles()) {
        for (const c of p.status?.conditions ?? [])
            if (c.status === 'True' && c.type in counts) counts[c.type]!++;
        conflicted += p.status?.namespaces?.conflicted ?? 0;
    }
    for (const [condition, n] of Object.entries(counts)) metrics.profiles.set({ condition }, n);
    metrics.conflicts.set(conflicted);
    metrics.managedObjects.set({ kind: 'NetworkPolicy' }, informers.networkPolicies.size());
    metrics.managedObjects.set({ kind: 'RoleBinding' }, informers.roleBindings.size());
}

/** `/metrics` (HTTPS with delegated auth when secure) and the health probes; `/readyz` waits for every cache. */
async function serveEndpoints(
    settings: OperatorSettings,
    kc: KubeConfig,
    metrics: Metrics,
    informers: Informers,
    log: Logger,
): Promise<{ close(): Promise<void> }> {
    const metricsCert = settings.metricsSecure
        ? await servingCert(settings.metricsCertDir || undefined)
        : undefined;
    const server = new ObservabilityServer({
        ...(metricsCert ? secureMetrics(kc, metricsCert) : {}),
        metricsBindAddress: settings.metricsBindAddress,
        healthProbeBindAddress: settings.healthProbeBindAddress,
        registry: metrics.registry,
        logger: log,
        isReady: () => {
            const notSynced = allInformers(informers)
                .filter((i) => !i.synced())
                .map((i) => i.name);
            return notSynced.length === 0
                ? { ok: true }
                : { ok: false, reason: `informers not synced: ${notSynced.join(', ')}` };
        },
    });
    await server.start();
    if (metricsCert) log.info('metrics served over HTTPS', { certificate: metricsCert.source });
    const certWatch =
        metricsCert && settings.metricsCertDir
            ? watchServingCert(
                  settings.metricsCertDir,
                  metricsCert,
                  (c) => {
                      server.setMetricsTls(c);
                      log.info('metrics certificate reloaded', { dir: settings.metricsCertDir });
                  },
                  { onError: (err) => log.warn('metrics certificate not reloaded', errorFields(err)) },
              )
            : undefined;
    return {
        close: async () => {
            certWatch?.stop();
            await server.close();
        },
    };
}

/** Stop taking work and let in-flight reconciles finish; past `timeoutMs`, abort them. */
async function drainQueues(queues: Workqueue[], timeoutMs: number, clock: Clock, log: Logger): Promise<void> {
    log.info('shutting down: finishing in-flight reconciles');
    const drain = Promise.all(queues.map((q) => q.shutDown()));
    let timer: TimerHandle | undefined;
    const timedOut = await Promise.race([
        drain.then(() => false),
        new Promise<boolean>((r) => (timer = clock.setTimeout(() => r(true), timeoutMs))),
    ]);
    // A pending timer would keep the process alive for the whole grace period.
    if (timer) clock.clearTimeout(timer);
    if (timedOut) {
        log.warn('in-flight reconciles did not finish in time; aborting them');
        await Promise.all(queues.map((q) => q.shutDown({ abortInFlight: true })));
    }
}

export interface Operator {
    metrics: Metrics;
    informers: Informers;
    namespaceQueue: Workqueue;
    profileQueue: Workqueue;
    /** Resolves after shutdown completes. */
    stop(): Promise<void>;
    /** Resolves with the exit code once the operator stops (signal, lost leadership). */
    done: Promise<number>;
}

export interface StartOptions {
    kubeConfig?: KubeConfig;
    logger?: Logger;
    clock?: Clock;
    /** Install SIGTERM/SIGINT handlers (default true for the CLI). */
    handleSignals?: boolean;
}

export async function startOperator(settings: OperatorSettings, opts: StartOptions = {}): Promise<Operator> {
    const log = opts.logger ?? createLogger({ level: settings.logLevel, format: settings.logFormat });
    const clock = opts.clock ?? realClock;
    const kc = opts.kubeConfig ?? loadKubeConfig(settings.kubeconfig);
    const metrics = createMetrics({ controllers: [NS_CONTROLLER, PROFILE_CONTROLLER] });
    const outcomes = new OutcomeStore();
    const queues = new Queues();
    let stopping = false;
    const latency = new IsolationLatency(clock, (s) => metrics.namespaceIsolationLatency.observe(s));

    // The informers need their handlers, and the watches and the alignment report need the view on the
    // informers' caches: the handlers read both through `late`, filled right below, before any informer starts.
    const late: { watches?: Watches; alignment?: AlignmentReport } = {};
    const informers = createInformers(
        kc,
        handlersFor(() => late.watches!, {
            route: (e) => queues.add(e.queue, e.key),
            alignmentChanged: () => late.alignment?.touch(),
            observe: (kind, event, obj) => {
                if (kind === 'namespace' && (event === 'delete' || queues.active))
                    latency.seen(event, obj as V1Namespace);
            },
            active: () => queues.active,
        }),
        (resource) => {
            // Pre-initialised per resource so rate() and increase() work from the first scrape.
            for (const reason of ['expired', 'restart'] as const)
                metrics.informerRelists.inc({ resource, reason }, 0);
            return {
                onUp: () => metrics.informerUp.set({ resource }, 1),
                onRelist: (reason) => metrics.informerRelists.inc({ resource, reason }),
                onDown: (err, restartInMs) => {
                    metrics.informerUp.set({ resource }, 0);
                    if (!stopping)
                        log.warn('informer stopped; restarting', {
                            resource,
                            restartInMs,
                            ...errorFields(err),
                        });
                },
            };
        },
        settings.listPageSize,
    );
    const cachedOf: CachedLookup = (kind, ns, name) =>
        kind === 'Namespace'
            ? informers.namespaces.get(name)
            : kind === 'NetworkPolicy'
              ? informers.networkPolicies.get(name, ns)
              : kind === 'RoleBinding'
                ? informers.roleBindings.get(name, ns)
                : undefined;
    // Read-your-writes overlay; it also recognises the watch echo of the operator's own writes, which needs no
    // reconcile (at convergence that halves the reconciles: every write would otherwise come back as an event).
    // An event held back while an own write was pending that was not that write's echo: the namespace is looked
    // at again, as the event itself would have made it.
    const recent = new RecentWrites(
        () => clock.now(),
        cachedOf,
        (kind, ns, name) => {
            if (queues.active) queues.add('namespace', kind === 'Namespace' ? name : ns);
        },
    );
    const view = viewOf(informers, recent);
    late.watches = operatorWatches({
        view,
        outcomes,
        isEcho: (kind, obj) => recent.confirmEcho(kind, obj),
        deleteSeen: (kind, obj) => recent.deleteSeen(kind, obj),
    });
    const writer = writerOf(kc, recent, (verb, kind) =>
        metrics.writesTotal.inc({ verb: verb === 'status' ? 'patch' : verb, kind }),
    );
    const events = profileEvents(kc, log, clock);
    const alignment = new AlignmentReport({
        view,
        now: () => clock.now(),
        backlog: () => queues.ready('namespace') > 0,
        onComputed: (byKind) => {
            for (const [kind, n] of Object.entries(byKind)) metrics.alignmentGaps.set({ kind }, n);
        },
    });
    late.alignment = alignment;

    const namespaces = new NamespaceReconciler({
        view,
        writer,
        outcomes,
        events,
        settings: settings.plan,
        profilesTouched: (ns, profiles) => {
            for (const p of profiles) queues.add('profile', p, settings.statusDelayMs);
            latency.touched(ns, profiles.length);
        },
        onDriftCorrected: (kind) => metrics.driftCorrections.inc({ kind }),
        onDriftDetected: (kind) => metrics.driftDetected.inc({ kind }),
        onApplyResult: (kind, result) => metrics.applyTotal.inc({ kind, result }),
        bindableRoles: settings.bindableRoles,
    });
    const profiles = new ProfileReconciler({
        view,
        writer,
        outcomes,
        events,
        settings: settings.plan,
        now: () => new Date(clock.now()),
        namespacesChanged: (list) => list.forEach((ns) => queues.add('namespace', ns)),
        onStatusWritten: () => updateProfileGauges(metrics, view, informers),
        alignment: (profile) => alignment.gapsFor(profile),
    });

    const namespaceQueue = queues.register(
        'namespace',
        startController(
            {
                name: NS_CONTROLLER,
                concurrency: settings.concurrency,
                reconcile: async (key, ctx) => {
                    const rlog = reconcileLogger(log, {
                        controller: NS_CONTROLLER,
                        namespace: key,
                        reconcileID: ctx.reconcileID,
                    });
                    try {
                        const result = await namespaces.reconcile(key, rlog);
                        latency.reconciled(key, view);
                        return result;
                    } finally {
                        latency.done(key);
                    }
                },
            },
            metrics,
            log,
            clock,
        ),
    );
    const profileQueue = queues.register(
        'profile',
        startController(
            { name: PROFILE_CONTROLLER, concurrency: 1, reconcile: (key) => profiles.reconcile(key) },
            metrics,
            log,
            clock,
        ),
    );

    const enqueueAll = () => {
        for (const ns of view.namespaces()) if (ns.metadata?.name) namespaceQueue.add(ns.metadata.name);
        for (const p of view.profiles()) profileQueue.add(p.metadata.name);
        updateProfileGauges(metrics, view, informers);
    };
    const resync = new Resync({
        intervalMs: settings.resyncPeriodMs,
        clock,
        callback: () => (queues.active ? enqueueAll() : undefined),
    });
    // Own writes the cache never confirmed within the overlay's TTL (made while the watches were blind) get their
    // namespace reconciled again from the cache alone; without this only the resync would notice one deleted since.
    const overlaySweep = new Resync({
        intervalMs: OVERLAY_TTL_MS,
        clock,
        callback: () => {
            for (const u of recent.expire(cachedOf)) {
                if (!queues.active) continue;
                const ns = u.kind === 'Namespace' ? u.name : u.namespace;
                if (ns) namespaceQueue.add(ns);
            }
        },
    });

    const endpoints = await serveEndpoints(settings, kc, metrics, informers, log);

    for (const inf of allInformers(informers)) inf.start();

    let resolveDone: (code: number) => void = () => {};
    const done = new Promise<number>((r) => (resolveDone = r));
    const abort = new AbortController();

    const activate = async () => {
        await Promise.all(allInformers(informers).map((i) => i.waitForSync(abort.signal)));
        if (stopping) return;
        queues.active = true;
        log.info('caches synced; reconciling', {
            namespaces: view.namespaces().length,
            profiles: view.profiles().length,
        });
        enqueueAll();
        resync.start();
        overlaySweep.start();
    };

    let leader: Leadership | undefined;
    let stopped: Promise<void> | undefined;
    const stop = (code = 0): Promise<void> => {
        stopped ??= (async () => {
            stopping = true;
            queues.active = false;
            abort.abort();
            resync.stop();
            overlaySweep.stop();
            await drainQueues(queues.all(), settings.shutdownTimeoutMs, clock, log);
            if (leader) await leader.release();
            await Promise.all(allInformers(informers).map((i) => i.stop()));
            await events.flush();
            await endpoints.close();
            if (kc instanceof PooledKubeConfig) await kc.closePool();
            // Own writes whose watch event came before their response (the overlay did not need to hold them).
            log.info('stopped', {
                writesSeenByWatchFirst: recent.alreadyCached,
                overlayEntries: recent.size,
            });
            resolveDone(code);
        })();
        return stopped;
    };

    if (settings.leaderElect) {
        leader = leaderElection(kc, settings, log, clock, {
            onStartedLeading: () => {
                metrics.leaderElectionMasterStatus.set({ name: settings.leaseName }, 1);
                log.info('became leader', { identity: settings.identity });
                activate().catch((err: unknown) => log.error('activation failed', errorFields(err)));
            },
            onStoppedLeading: () => {
                metrics.leaderElectionMasterStatus.set({ name: settings.leaseName }, 0);
                if (!stopping) {
                    log.error('lost leadership; exiting so a fresh process can stand by', {
                        identity: settings.identity,
                    });
                    void stop(1);
                }
            },
        });
        leader.start();
    } else activate().catch((err: unknown) => log.error('activation failed', errorFields(err)));

    if (opts.handleSignals ?? true) {
        const onSignal = (sig: string) => {
            log.info('signal received', { signal: sig });
            void stop(0);
        };
        process.once('SIGTERM', () => onSignal('SIGTERM'));
        process.once('SIGINT', () => onSignal('SIGINT'));
    }

    log.info('operator started', {
        concurrency: settings.concurrency,
        leaderElect: settings.leaderElect,
        identity: settings.identity,
        neverGovern: [...settings.plan.neverGovern, settings.plan.operatorNamespace],
        dns: `${settings.plan.dnsNamespace} ${NAMESPACE_NAME_LABEL}`,
    });
    return { metrics, informers, namespaceQueue, profileQueue, stop: () => stop(0), done };
}

/** CLI entry: runs until a signal or lost leadership; returns the exit code. */
export async function runOperator(settings: OperatorSettings): Promise<number> {
    const op = await startOperator(settings);
    return op.done;
}
