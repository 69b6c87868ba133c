/**
 * The generic controller runtime: clock, workqueue + worker pool, supervised informers, resync, apply/prune
 * client, aggregated events, and Lease-based leader election. Nothing here knows about IsolationProfiles; the
 * controller layer wires these pieces (and their metric hooks) together.
 */
export { type Clock, type TimerHandle, RealClock, FakeClock, realClock, flush } from './clock.ts';
export {
    Workqueue,
    TerminalError,
    PanicError,
    type WorkqueueOptions,
    type WorkqueueMetrics,
    type ReconcileFn,
    type ReconcileContext,
    type ReconcileResult,
    type ReconcileOutcome,
    type ReconcileReport,
} from './workqueue.ts';
export {
    SupervisedInformer,
    listWatchFactory,
    type CachedInformer,
    type InformerFactory,
    type InformerFactoryArgs,
    type InformerHandlers,
    type InformerHooks,
    type InformerEventType,
    type BackoffOptions,
    type SelectorOptions,
    type SupervisedInformerOptions,
    type ListWatchFactoryOptions,
    type RelistReason,
} from './informer.ts';
export {
    ResumableListWatch,
    BookmarkAwareWatch,
    isExpired,
    defaultWatchTimeoutSeconds,
    type ResumableListWatchOptions,
    type ResumePoint,
    type WatchClient,
} from './list-watch.ts';
export { Resync, type ResyncOptions } from './resync.ts';
export {
    ApplyClient,
    httpStatus,
    isNotFound,
    isConflict,
    type ApplyClientOptions,
    type DeletePreconditions,
    type MetadataPatch,
    type ObjectApi,
    type StatusApi,
    type WriteCounts,
    type WriteVerb,
} from './apply.ts';
export {
    EventRecorder,
    EventAggregator,
    KubeEventSink,
    TokenBucket,
    eventNamespace,
    aggregationKey,
    type EventInput,
    type EventType,
    type EventSink,
    type EventWrite,
    type ObjectRef,
    type ReportingInfo,
    type AggregatorOptions,
    type EventRecorderOptions,
} from './events.ts';
export {
    LeaderElector,
    LeaseConflictError,
    MemoryLeaseStore,
    KubeLeaseStore,
    decide as decideLease,
    type LeaderCallbacks,
    type LeaderElectorOptions,
    type LeaseRecord,
    type LeaseStore,
    type VersionedLease,
    type Observation,
    type Decision,
} from './leader.ts';
