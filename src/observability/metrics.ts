/**
 * Prometheus metrics of the operator (prom-client).
 *
 * Design: every `Metrics` instance owns a dedicated `Registry` (never prom-client's global one), so tests and
 * benchmarks can create as many as they like without "metric already registered" errors. Names mirror
 * controller-runtime and client-go (`controller_runtime_*`, `workqueue_*`, `leader_election_master_status`) so
 * existing dashboards and alerts work unchanged; operator-specific metrics live under `isolation_operator_`.
 *
 * Labels are bounded on purpose: controller name, queue name, result, kind, verb, condition type, informer
 * resource. Never an object name, a namespace, a reconcile ID or a timestamp — each distinct value is a new time
 * series kept in Prometheus' memory. Counters a dashboard divides or an alert rates are pre-initialised to 0 so
 * that `rate()` and `absent()` behave from the first scrape.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** `controller_runtime_reconcile_total{result}` values. */
export const RECONCILE_RESULTS = ['success', 'error', 'requeue', 'requeue_after'] as const;

/** Kinds the operator generates (`managed_objects`, drift and apply metrics). */
export const MANAGED_KINDS = ['NetworkPolicy', 'RoleBinding'] as const;

/** Profile condition types counted by `isolation_operator_profiles{condition}`. */
export const PROFILE_CONDITIONS = ['Ready', 'Stalled', 'Reconciling', 'Conflict', 'DriftDetected'] as const;

/** `isolation_operator_apply_total{result}` values: applied, skipped as already converged, or failed. */
export const APPLY_RESULTS = ['applied', 'unchanged', 'error'] as const;

/** `isolation_operator_writes_total{verb}`: every mutating request the operator sends. */
export const WRITE_VERBS = ['apply', 'create', 'update', 'patch', 'delete'] as const;

/** `isolation_operator_writes_total{kind}`, pre-initialised for the kinds the operator writes. */
export const WRITE_KINDS = [
    'NetworkPolicy',
    'RoleBinding',
    'Namespace',
    'IsolationProfile',
    'Event',
    'Lease',
] as const;

/** controller-runtime's reconcile-time buckets: 5 ms .. 60 s. */
export const RECONCILE_TIME_BUCKETS = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25,
    1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];

/** client-go's workqueue duration buckets: 10 ns .. 1000 s, factor 10. */
export const WORKQUEUE_DURATION_BUCKETS = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100, 1000];

/** Namespace created -> default-deny present. The targets are p50 <= 100 ms and p99 <= 1 s. */
export const ISOLATION_LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface MetricsOptions {
    /** Controllers whose reconcile series are pre-initialised now (more can be added with `registerController`). */
    controllers?: readonly string[];
    /** Add prom-client's process and Node.js metrics (default true; tests creating many registries may skip it). */
    defaultMetrics?: boolean;
}

type WorkqueueLabels = 'name' | 'controller';

/** What a workqueue reports about its in-flight work, read at each scrape. */
export interface WorkqueueProgress {
    unfinishedWorkSeconds(): number;
    longestRunningProcessorSeconds(): number;
}

/** All metrics of one operator process, on one registry. */
export class Metrics {
    readonly registry: Registry;

    // controller-runtime
    readonly reconcileTotal: Counter<'controller' | 'result'>;
    readonly reconcileErrors: Counter<'controller'>;
    readonly terminalReconcileErrors: Counter<'controller'>;
    readonly reconcilePanics: Counter<'controller'>;
    readonly reconcileTimeouts: Counter<'controller'>;
    readonly reconcileTime: Histogram<'controller'>;
    readonly maxConcurrentReconciles: Gauge<'controller'>;
    readonly activeWorkers: Gauge<'controller'>;

    // client-go workqueue
    readonly workqueueDepth: Gauge<WorkqueueLabels>;
    readonly workqueueAdds: Counter<WorkqueueLabels>;
    readonly workqueueRetries: Counter<WorkqueueLabels>;
    readonly workqueueQueueDuration: Histogram<WorkqueueLabels>;
    readonly workqueueWorkDuration: Histogram<WorkqueueLabels>;
    readonly workqueueUnfinishedWork: Gauge<WorkqueueLabels>;
    readonly workqueueLongestRunningProcessor: Gauge<WorkqueueLabels>;

    // leader election
    readonly leaderElectionMasterStatus: Gauge<'name'>;

    // isolation-operator
    readonly namespaceIsolationLatency: Histogram;
    readonly managedObjects: Gauge<'kind'>;
    readonly driftCorrections: Counter<'kind'>;
    readonly driftDetected: Counter<'kind'>;
    readonly conflicts: Gauge;
    readonly profiles: Gauge<'condition'>;
    readonly alignmentGaps: Gauge<'kind'>;
    readonly informerUp: Gauge<'resource'>;
    readonly informerRelists: Counter<'resource' | 'reason'>;
    readonly applyTotal: Counter<'kind' | 'result'>;
    readonly writesTotal: Counter<'verb' | 'kind'>;

    /** Queues whose in-flight work the two progress gauges read at scrape time, by `name/controller`. */
    readonly #progress = new Map<
        string,
        { labels: Record<WorkqueueLabels, string>; source: WorkqueueProgress }
    >();

    constructor(options: MetricsOptions = {}) {
        const progress = this.#progress;
        const registry = new Registry();
        this.registry = registry;
        const registers = [registry];
        if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

        this.reconcileTotal = new Counter({
            name: 'controller_runtime_reconcile_total',
            help: 'Total number of reconciliations per controller, by result.',
            labelNames: ['controller', 'result'],
            registers,
        });
        this.reconcileErrors = new Counter({
            name: 'controller_runtime_reconcile_errors_total',
            help: 'Total number of reconciliation errors per controller.',
            labelNames: ['controller'],
            registers,
        });
        this.terminalReconcileErrors = new Counter({
            name: 'controller_runtime_terminal_reconcile_errors_total',
            help: 'Total number of terminal (not retried) reconciliation errors per controller.',
            labelNames: ['controller'],
            registers,
        });
        this.reconcilePanics = new Counter({
            name: 'controller_runtime_reconcile_panics_total',
            help: 'Total number of reconciliations that threw unexpectedly (recovered) per controller.',
            labelNames: ['controller'],
            registers,
        });
        this.reconcileTimeouts = new Counter({
            name: 'controller_runtime_reconcile_timeouts_total',
            help: 'Total number of reconciliations aborted by the per-reconcile timeout, per controller.',
            labelNames: ['controller'],
            registers,
        });
        this.reconcileTime = new Histogram({
            name: 'controller_runtime_reconcile_time_seconds',
            help: 'Length of time per reconciliation per controller.',
            labelNames: ['controller'],
            buckets: RECONCILE_TIME_BUCKETS,
            registers,
        });
        this.maxConcurrentReconciles = new Gauge({
            name: 'controller_runtime_max_concurrent_reconciles',
            help: 'Maximum number of concurrent reconciles per controller.',
            labelNames: ['controller'],
            registers,
        });
        this.activeWorkers = new Gauge({
            name: 'controller_runtime_active_workers',
            help: 'Number of currently used workers per controller.',
            labelNames: ['controller'],
            registers,
        });

        const wq: WorkqueueLabels[] = ['name', 'controller'];
        this.workqueueDepth = new Gauge({
            name: 'workqueue_depth',
            help: 'Current depth of the workqueue.',
            labelNames: wq,
            registers,
        });
        this.workqueueAdds = new Counter({
            name: 'workqueue_adds_total',
            help: 'Total number of adds handled by the workqueue.',
            labelNames: wq,
            registers,
        });
        this.workqueueRetries = new Counter({
            name: 'workqueue_retries_total',
            help: 'Total number of retries (rate-limited re-adds) handled by the workqueue.',
            labelNames: wq,
            registers,
        });
        this.workqueueQueueDuration = new Histogram({
            name: 'workqueue_queue_duration_seconds',
            help: 'How long in seconds an item stays in the workqueue before being requested.',
            labelNames: wq,
            buckets: WORKQUEUE_DURATION_BUCKETS,
            registers,
        });
        this.workqueueWorkDuration = new Histogram({
            name: 'workqueue_work_duration_seconds',
            help: 'How long in seconds processing an item from the workqueue takes.',
            labelNames: wq,
            buckets: WORKQUEUE_DURATION_BUCKETS,
            registers,
        });
        this.workqueueUnfinishedWork = new Gauge({
            name: 'workqueue_unfinished_work_seconds',
            help:
                'How many seconds of work has been done that is in progress and has not been observed by ' +
                'work_duration. Large values indicate stuck workers.',
            labelNames: wq,
            registers,
            // client-go refreshes these every 500 ms; reading the queue at scrape time is exact and costs nothing
            // between scrapes.
            collect() {
                for (const { labels, source } of progress.values())
                    this.set(labels, source.unfinishedWorkSeconds());
            },
        });
        this.workqueueLongestRunningProcessor = new Gauge({
            name: 'workqueue_longest_running_processor_seconds',
            help: 'How many seconds the longest running processor of the workqueue has been running.',
            labelNames: wq,
            registers,
            collect() {
                for (const { labels, source } of progress.values())
                    this.set(labels, source.longestRunningProcessorSeconds());
            },
        });

        this.leaderElectionMasterStatus = new Gauge({
            name: 'leader_election_master_status',
            help: 'Whether this process is the leader (1) or not (0), per lease name.',
            labelNames: ['name'],
            registers,
        });

        this.namespaceIsolationLatency = new Histogram({
            name: 'isolation_operator_namespace_isolation_latency_seconds',
            help: 'Time from a namespace being created (creationTimestamp) to its default-deny NetworkPolicy existing.',
            buckets: ISOLATION_LATENCY_BUCKETS,
            registers,
        });
        this.managedObjects = new Gauge({
            name: 'isolation_operator_managed_objects',
            help: 'Number of generated objects the operator currently manages, by kind.',
            labelNames: ['kind'],
            registers,
        });
        this.driftDetected = new Counter({
            name: 'isolation_operator_drift_detected_total',
            help: 'Generated objects found changed by someone else, by kind.',
            labelNames: ['kind'],
            registers,
        });
        this.driftCorrections = new Counter({
            name: 'isolation_operator_drift_corrections_total',
            help: 'Drifted generated objects re-applied (driftPolicy Correct), by kind.',
            labelNames: ['kind'],
            registers,
        });
        this.conflicts = new Gauge({
            name: 'isolation_operator_conflicts',
            help: 'Number of namespaces selected by more than one profile (governed by the winner only).',
            registers,
        });
        this.profiles = new Gauge({
            name: 'isolation_operator_profiles',
            help: 'Number of IsolationProfiles whose condition of this type is True.',
            labelNames: ['condition'],
            registers,
        });
        this.alignmentGaps = new Gauge({
            name: 'isolation_operator_alignment_gaps',
            help: 'Alignment gaps over all profiles: GrantWithoutPath (a ServiceAccount granted rights it cannot reach) and OneSidedAllow (a profile peer whose own policies deny the other half).',
            labelNames: ['kind'],
            registers,
        });
        this.informerUp = new Gauge({
            name: 'isolation_operator_informer_up',
            help: 'Whether the informer for this resource is running and has listed (1) or is down (0).',
            labelNames: ['resource'],
            registers,
        });
        this.informerRelists = new Counter({
            // client-go's reflector once exported reflector_lists_total; it was removed (unbounded labels), and
            // controller-runtime has no equivalent, so this is the operator's own, labelled by resource as above.
            name: 'isolation_operator_informer_relists_total',
            help:
                'LISTs an informer sent after its first, by resource and reason: expired (the API server answered ' +
                '410 Gone to a watch position) or restart (a restart had no position to resume from).',
            labelNames: ['resource', 'reason'],
            registers,
        });
        this.applyTotal = new Counter({
            name: 'isolation_operator_apply_total',
            help: 'Desired objects considered for server-side apply, by kind and result.',
            labelNames: ['kind', 'result'],
            registers,
        });
        this.writesTotal = new Counter({
            name: 'isolation_operator_writes_total',
            help: 'Mutating API requests sent by the operator, by verb and kind (zero in a converged steady state).',
            labelNames: ['verb', 'kind'],
            registers,
        });

        for (const kind of MANAGED_KINDS) {
            this.managedObjects.set({ kind }, 0);
            this.driftDetected.inc({ kind }, 0);
            this.driftCorrections.inc({ kind }, 0);
            for (const result of APPLY_RESULTS) this.applyTotal.inc({ kind, result }, 0);
        }
        for (const verb of WRITE_VERBS) {
            for (const kind of WRITE_KINDS) this.writesTotal.inc({ verb, kind }, 0);
        }
        for (const condition of PROFILE_CONDITIONS) this.profiles.set({ condition }, 0);
        this.conflicts.set(0);
        for (const controller of options.controllers ?? []) this.registerController(controller);
    }

    /**
     * Pre-initialise every per-controller series to 0 (controller-runtime does the same at controller start) and
     * record its worker-pool size.
     */
    registerController(controller: string, maxConcurrentReconciles = 1): void {
        for (const result of RECONCILE_RESULTS) this.reconcileTotal.inc({ controller, result }, 0);
        this.reconcileErrors.inc({ controller }, 0);
        this.terminalReconcileErrors.inc({ controller }, 0);
        this.reconcilePanics.inc({ controller }, 0);
        this.reconcileTimeouts.inc({ controller }, 0);
        this.maxConcurrentReconciles.set({ controller }, maxConcurrentReconciles);
        this.activeWorkers.set({ controller }, 0);
    }

    /**
     * Pre-initialise the series of one workqueue (`name` is the queue, `controller` its owner); with `progress`,
     * `workqueue_unfinished_work_seconds` and `workqueue_longest_running_processor_seconds` report its in-flight
     * work at every scrape.
     */
    registerWorkqueue(name: string, controller: string, progress?: WorkqueueProgress): void {
        const labels = { name, controller };
        if (progress) this.#progress.set(`${name}/${controller}`, { labels, source: progress });
        this.workqueueDepth.set(labels, 0);
        this.workqueueAdds.inc(labels, 0);
        this.workqueueRetries.inc(labels, 0);
        this.workqueueUnfinishedWork.set(labels, 0);
        this.workqueueLongestRunningProcessor.set(labels, 0);
    }

    /** The text exposition of every metric, as served on `/metrics`. */
    async text(): Promise<string> {
        return this.registry.metrics();
    }
}

/** A fresh set of metrics on a fresh registry. */
export function createMetrics(options: MetricsOptions = {}): Metrics {
    return new Metrics(options);
}
