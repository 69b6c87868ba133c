/**
 * The manager wires the operator: informers → two workqueues (namespaces, profiles) → reconcilers → writes and
 * status, plus resync, leader election, metrics/health endpoints and graceful shutdown.
 *
 * Start-up order matters for the zero-write promise: informers start at once (standbys keep warm caches), but no
 * key is reconciled until every informer has synced AND this replica leads; then every namespace and profile is
 * enqueued once. Reconciling earlier would plan against a half-filled cache and re-apply objects that exist.
 * On SIGTERM the manager stops taking work, lets in-flight reconciles finish (bounded), releases the Lease so a
 * standby takes over at once, and closes the endpoints.
 */
import { AuthenticationV1Api, AuthorizationV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubernetesObject, V1Namespace } from '@kubernetes/client-node';

import { LABEL_PROFILE, NAMESPACE_NAME_LABEL } from '../api/types.ts';
import type { IsolationProfile } from '../api/types.ts';
import { NAME_DEFAULT_DENY, selects } from '../plan/index.ts';
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
import type { ReconcileReport, WorkqueueMetrics } from '../runtime/workqueue.ts';
import { allInformers, createInformers, viewOf, writerOf } from './cluster.ts';
import type { Informers } from './cluster.ts';
import { profileEvents } from './events.ts';
import { leaderElection } from './leader.ts';
import { NamespaceReconciler } from './namespace-reconciler.ts';
import { OutcomeStore } from './outcomes.ts';
import { AlignmentReport } from './alignment.ts';
import { ProfileReconciler } from './profile-reconciler.ts';
import type { ClusterView } from './ports.ts';
import { RecentWrites } from './recent-writes.ts';
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

/** Namespaces a profile event must revisit: selected now, labelled with it, or holding an outcome of it. */
export function namespacesOfProfile(
    view: ClusterView,
    outcomes: OutcomeStore,
    profile: IsolationProfile,
): string[] {
    const out = new Set<string>();
    const name = profile.metadata.name;
    for (const ns of view.namespaces()) {
        const n = ns.metadata?.name;
        if (!n) continue;
        const labels = ns.metadata?.labels ?? {};
        if (labels[LABEL_PROFILE] === name || selects(profile, { name: n, labels })) out.add(n);
    }
    for (const o of outcomes.forProfile(name)) out.add(o.namespace);
    return [...out];
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
    metrics.maxConcurrentReconciles.set({ controller: NS_CONTROLLER }, settings.concurrency);
    metrics.maxConcurrentReconciles.set({ controller: PROFILE_CONTROLLER }, 1);

    const outcomes = new OutcomeStore();
    let active = false;
    let stopping = false;
    /** When a namespace was first seen, for the creation → default-deny latency histogram. */
    const firstSeen = new Map<string, number>();
    /** Per namespace being reconciled: how many profiles its reconcile touched (cleared when it ends). */
    const touchedBy = new Map<string, number>();

    // The queues are created before the informers so handlers can enqueue; nothing runs until `active`.
    const reconcilers: { ns?: NamespaceReconciler; profile?: ProfileReconciler } = {};
    const onResult = (controller: string) => (r: ReconcileReport) => {
        if (r.outcome !== 'error') return;
        log.warn('reconcile failed', {
            controller,
            key: r.key,
            reconcileID: r.reconcileID,
            terminal: r.terminal === true,
            ...errorFields(r.error),
        });
    };
    const namespaceQueue: Workqueue = new Workqueue({
        name: NS_CONTROLLER,
        concurrency: settings.concurrency,
        clock,
        metrics: queueMetrics(metrics, NS_CONTROLLER),
        onResult: onResult(NS_CONTROLLER),
        reconcile: async (key, ctx) => {
            try {
                const result = await reconcilers.ns!.reconcile(
                    key,
                    reconcileLogger(log, {
                        controller: NS_CONTROLLER,
                        namespace: key,
                        reconcileID: ctx.reconcileID,
                    }),
                );
                const seen = firstSeen.get(key);
                if (seen !== undefined) {
                    const hasDeny = view
                        .networkPolicies(key)
                        .some((np) => np.metadata?.name === NAME_DEFAULT_DENY);
                    if (hasDeny || !touchedBy.get(key)) {
                        if (hasDeny) metrics.namespaceIsolationLatency.observe((clock.now() - seen) / 1000);
                        firstSeen.delete(key);
                    }
                }
                return result;
            } finally {
                touchedBy.delete(key);
            }
        },
    });
    const profileQueue: Workqueue = new Workqueue({
        name: PROFILE_CONTROLLER,
        concurrency: 1,
        clock,
        metrics: queueMetrics(metrics, PROFILE_CONTROLLER),
        onResult: onResult(PROFILE_CONTROLLER),
        reconcile: (key) => reconcilers.profile!.reconcile(key),
    });

    metrics.registerWorkqueue(NS_CONTROLLER, NS_CONTROLLER, namespaceQueue);
    metrics.registerWorkqueue(PROFILE_CONTROLLER, PROFILE_CONTROLLER, profileQueue);

    // Set once the alignment report exists (below); every event it depends on marks it stale.
    let alignmentTouch: () => void = () => undefined;
    const enqueueNs = (name: string | undefined) => {
        alignmentTouch();
        if (active && name) namespaceQueue.add(name);
    };
    const onProfile = (p: IsolationProfile) => {
        alignmentTouch();
        if (!active) return;
        profileQueue.add(p.metadata.name);
        for (const ns of namespacesOfProfile(view, outcomes, p)) namespaceQueue.add(ns);
    };
    // Generation filter (controller-runtime's GenerationChangedPredicate, plus deletion): an update that changes
    // neither the spec (metadata.generation) nor the deletion state — the echo of a status write, a finalizer,
    // a label — changes nothing any reconcile reads, so it enqueues nothing. Without it every status write came
    // back as an event that re-enqueued every namespace of the profile.
    const profileState = new Map<string, string>();
    const stateOf = (p: IsolationProfile) =>
        `${p.metadata.generation ?? 0}|${p.metadata.deletionTimestamp ?? ''}`;
    const onProfileChange = (p: IsolationProfile) => {
        const state = stateOf(p);
        if (profileState.get(p.metadata.name) === state) return;
        profileState.set(p.metadata.name, state);
        onProfile(p);
    };
    const onProfileDelete = (p: IsolationProfile) => {
        profileState.delete(p.metadata.name);
        onProfile(p);
    };
    // Read-your-writes overlay; it also recognises the watch echo of the operator's own writes, which needs no
    // reconcile (at convergence that halves the reconciles: every write would otherwise come back as an event).
    const recent = new RecentWrites(() => clock.now());
    const byNamespace = {
        onAdd: (o: KubernetesObject) => enqueueNs(o.metadata?.namespace),
        onUpdate: (o: KubernetesObject) => enqueueNs(o.metadata?.namespace),
        onDelete: (o: KubernetesObject) => enqueueNs(o.metadata?.namespace),
    };
    const generated = (kind: 'NetworkPolicy' | 'RoleBinding') => ({
        // Echoes of our own writes need no reconcile but do change what the alignment check reads.
        onAdd: (o: KubernetesObject) =>
            (alignmentTouch(), recent.isEcho(kind, o)) || enqueueNs(o.metadata?.namespace),
        onUpdate: (o: KubernetesObject) =>
            (alignmentTouch(), recent.isEcho(kind, o)) || enqueueNs(o.metadata?.namespace),
        onDelete: (o: KubernetesObject) => enqueueNs(o.metadata?.namespace),
    });
    const informers = createInformers(
        kc,
        {
            profile: { onAdd: onProfileChange, onUpdate: onProfileChange, onDelete: onProfileDelete },
            namespace: {
                onAdd: (ns: V1Namespace) => {
                    const name = ns.metadata?.name;
                    const created = Date.parse(String(ns.metadata?.creationTimestamp ?? ''));
                    if (name && active && Number.isFinite(created) && clock.now() - created < 60_000)
                        firstSeen.set(name, clock.now());
                    enqueueNs(name);
                },
                onUpdate: (ns: V1Namespace) =>
                    (alignmentTouch(), recent.isEcho('Namespace', ns)) || enqueueNs(ns.metadata?.name),
                onDelete: (ns: V1Namespace) => {
                    firstSeen.delete(ns.metadata?.name ?? '');
                    enqueueNs(ns.metadata?.name);
                },
            },
            serviceAccount: byNamespace,
            networkPolicy: generated('NetworkPolicy'),
            roleBinding: generated('RoleBinding'),
            clusterRole: {
                onAdd: () => active && view.profiles().forEach((p) => profileQueue.add(p.metadata.name)),
                onDelete: () => active && view.profiles().forEach((p) => profileQueue.add(p.metadata.name)),
            },
        },
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
    const view = viewOf(informers, recent);
    const writer = writerOf(kc, recent, (verb, kind) =>
        metrics.writesTotal.inc({ verb: verb === 'status' ? 'patch' : verb, kind }),
    );
    const events = profileEvents(kc, log, clock);
    reconcilers.ns = new NamespaceReconciler({
        view,
        writer,
        outcomes,
        events,
        settings: settings.plan,
        profilesTouched: (ns, profiles) => {
            for (const p of profiles) profileQueue.addAfter(p, settings.statusDelayMs);
            touchedBy.set(ns, profiles.length);
        },
        onDriftCorrected: (kind) => metrics.driftCorrections.inc({ kind }),
        onDriftDetected: (kind) => metrics.driftDetected.inc({ kind }),
        onApplyResult: (kind, result) => metrics.applyTotal.inc({ kind, result }),
        bindableRoles: settings.bindableRoles,
    });
    const alignment = new AlignmentReport({
        view,
        now: () => clock.now(),
        onComputed: (byKind) => {
            for (const [kind, n] of Object.entries(byKind)) metrics.alignmentGaps.set({ kind }, n);
        },
    });
    alignmentTouch = () => alignment.touch();
    reconcilers.profile = new ProfileReconciler({
        view,
        writer,
        outcomes,
        events,
        settings: settings.plan,
        now: () => new Date(clock.now()),
        namespacesChanged: (namespaces) => namespaces.forEach((ns) => namespaceQueue.add(ns)),
        onStatusWritten: () => updateProfileGauges(),
        alignment: (profile) => alignment.gapsFor(profile),
    });

    function updateProfileGauges(): void {
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
        metrics.managedObjects.set({ kind: 'NetworkPolicy' }, informers.networkPolicies.list().length);
        metrics.managedObjects.set({ kind: 'RoleBinding' }, informers.roleBindings.list().length);
    }

    const enqueueAll = () => {
        for (const ns of view.namespaces()) if (ns.metadata?.name) namespaceQueue.add(ns.metadata.name);
        for (const p of view.profiles()) profileQueue.add(p.metadata.name);
        updateProfileGauges();
    };
    const resync = new Resync({
        intervalMs: settings.resyncPeriodMs,
        clock,
        callback: () => (active ? enqueueAll() : undefined),
    });

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

    for (const inf of allInformers(informers)) inf.start();

    let resolveDone: (code: number) => void = () => {};
    const done = new Promise<number>((r) => (resolveDone = r));
    const abort = new AbortController();

    const activate = async () => {
        await Promise.all(allInformers(informers).map((i) => i.waitForSync(abort.signal)));
        if (stopping) return;
        active = true;
        log.info('caches synced; reconciling', {
            namespaces: view.namespaces().length,
            profiles: view.profiles().length,
        });
        enqueueAll();
        resync.start();
    };

    const leader = settings.leaderElect
        ? leaderElection(kc, settings, log, clock, {
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
          })
        : undefined;
    if (leader) leader.start();
    else activate().catch((err: unknown) => log.error('activation failed', errorFields(err)));

    let stopped: Promise<void> | undefined;
    const stop = (code = 0): Promise<void> => {
        stopped ??= (async () => {
            stopping = true;
            active = false;
            abort.abort();
            resync.stop();
            log.info('shutting down: finishing in-flight reconciles');
            const drain = Promise.all([namespaceQueue.shutDown(), profileQueue.shutDown()]);
            let timer: TimerHandle | undefined;
            const timedOut = await Promise.race([
                drain.then(() => false),
                new Promise<boolean>(
                    (r) => (timer = clock.setTimeout(() => r(true), settings.shutdownTimeoutMs)),
                ),
            ]);
            // A pending timer would keep the process alive for the whole grace period.
            if (timer) clock.clearTimeout(timer);
            if (timedOut) {
                log.warn('in-flight reconciles did not finish in time; aborting them');
                await Promise.all([
                    namespaceQueue.shutDown({ abortInFlight: true }),
                    profileQueue.shutDown({ abortInFlight: true }),
                ]);
            }
            if (leader) await leader.release();
            await Promise.all(allInformers(informers).map((i) => i.stop()));
            await events.flush();
            certWatch?.stop();
            await server.close();
            if (kc instanceof PooledKubeConfig) await kc.closePool();
            log.info('stopped');
            resolveDone(code);
        })();
        return stopped;
    };

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
