/**
 * An aggregating Kubernetes Events recorder (events.k8s.io/v1).
 *
 * A reconcile that runs for 10,000 namespaces must not write 10,000 Events. Three mechanisms bound the writes:
 * 1. Aggregation: occurrences with the same (regarding object, type, reason, action) within `windowMs` (default
 *    10 min since the last occurrence) become ONE Event whose `series.count` grows. The first occurrence's note
 *    is kept: events.k8s.io/v1 makes `note` immutable on update, so callers should keep notes generic and put
 *    specifics in the object's status.
 * 2. Per-series throttle: an existing series is written at most once per `seriesUpdateIntervalMs` (default 30 s);
 *    occurrences in between only bump the in-memory count, flushed later.
 * 3. A global token bucket (default burst 25, 1 write/s, on the injected clock) over creates and updates. Writes
 *    without a token stay pending and are retried by `flush()`; at most `maxEntries` series are tracked, beyond
 *    that new series are dropped (and counted).
 *
 * Design choice: `EventAggregator` is pure bookkeeping (clock in, write decisions out) and is unit-tested alone;
 * `EventRecorder` drives it and performs I/O through an `EventSink`; `KubeEventSink` is the events.k8s.io/v1
 * implementation. Events about cluster-scoped objects go to the `default` namespace: the API server accepts
 * `default` (or `kube-system`) for an Event whose regarding object has no namespace, and `kubectl describe` of a
 * cluster-scoped object searches Events across namespaces by involvedObject, so it finds them there.
 */
import {
    type EventsV1Api,
    type EventsV1Event,
    PatchStrategy,
    V1MicroTime,
    setHeaderOptions,
} from '@kubernetes/client-node';
import { type Clock, type TimerHandle, realClock } from './clock.ts';
import { isNotFound } from './errors.ts';

export type EventType = 'Normal' | 'Warning';

export interface ObjectRef {
    apiVersion: string;
    kind: string;
    name: string;
    /** Empty/undefined for cluster-scoped objects. */
    namespace?: string;
    uid?: string;
}

export interface EventInput {
    regarding: ObjectRef;
    type: EventType;
    /** CamelCase, machine-readable, ≤ 128 chars. */
    reason: string;
    /** What was done or failed, ≤ 128 chars. Defaults to the reason. */
    action?: string;
    /** Human-readable; truncated to 1024 chars. */
    note: string;
}

/** A write the recorder must perform. */
export type EventWrite =
    | {
          op: 'create';
          key: string;
          namespace: string;
          name: string;
          input: EventInput;
          firstTime: number;
          count: number;
          lastObservedTime: number;
      }
    | { op: 'update'; key: string; namespace: string; name: string; count: number; lastObservedTime: number };

/** A token bucket on an injected clock. */
export class TokenBucket {
    readonly #burst: number;
    readonly #perMs: number;
    readonly #clock: Clock;
    #tokens: number;
    #last: number;
    constructor(opts: { burst: number; perSecond: number; clock: Clock }) {
        this.#burst = opts.burst;
        this.#perMs = opts.perSecond / 1000;
        this.#clock = opts.clock;
        this.#tokens = opts.burst;
        this.#last = opts.clock.now();
    }
    tryTake(): boolean {
        this.#refill();
        if (this.#tokens < 1) return false;
        this.#tokens -= 1;
        return true;
    }
    available(): number {
        this.#refill();
        return Math.floor(this.#tokens);
    }
    #refill(): void {
        const now = this.#clock.now();
        this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#last) * this.#perMs);
        this.#last = now;
    }
}

export interface AggregatorOptions {
    clock?: Clock;
    /** A series ends this long after its last occurrence; the next one starts a new Event. Default 10 min. */
    windowMs?: number;
    /** Minimum time between two writes of one series. Default 30 s. */
    seriesUpdateIntervalMs?: number;
    /** Global write bucket. Defaults 25 and 1/s. */
    burst?: number;
    writesPerSecond?: number;
    /** Series tracked at most. Default 1000. */
    maxEntries?: number;
}

interface Series {
    key: string;
    input: EventInput;
    namespace: string;
    name: string;
    created: boolean;
    inFlight: boolean;
    count: number;
    writtenCount: number;
    firstTime: number;
    lastObservedTime: number;
    lastWriteAt: number;
    failures: number;
}

/** Consecutive failed writes after which a series is given up (e.g. RBAC forbids Events). */
const MAX_FAILURES = 3;

const NOTE_LIMIT = 1024;

export function eventNamespace(ref: ObjectRef): string {
    return ref.namespace ? ref.namespace : 'default';
}

export function aggregationKey(e: EventInput): string {
    const r = e.regarding;
    return [
        r.apiVersion,
        r.kind,
        r.namespace ?? '',
        r.name,
        r.uid ?? '',
        e.type,
        e.reason,
        e.action ?? e.reason,
    ].join('\u0000');
}

export class EventAggregator {
    readonly #clock: Clock;
    readonly #windowMs: number;
    readonly #intervalMs: number;
    readonly #maxEntries: number;
    readonly #bucket: TokenBucket;
    readonly #series = new Map<string, Series>();
    #seq = 0;
    #dropped = 0;

    constructor(opts: AggregatorOptions = {}) {
        this.#clock = opts.clock ?? realClock;
        this.#windowMs = opts.windowMs ?? 600_000;
        this.#intervalMs = opts.seriesUpdateIntervalMs ?? 30_000;
        this.#maxEntries = opts.maxEntries ?? 1000;
        this.#bucket = new TokenBucket({
            burst: opts.burst ?? 25,
            perSecond: opts.writesPerSecond ?? 1,
            clock: this.#clock,
        });
    }

    /** Occurrences dropped (too many series tracked) plus series given up after repeated write failures. */
    dropped(): number {
        return this.#dropped;
    }

    /** Series tracked now. */
    size(): number {
        return this.#series.size;
    }

    /** Record one occurrence; returns the write to do now, if any (otherwise it is pending or throttled). */
    observe(input: EventInput): EventWrite | undefined {
        const now = this.#clock.now();
        const key = aggregationKey(input);
        let s = this.#series.get(key);
        if (s && !s.inFlight && now - s.lastObservedTime > this.#windowMs) {
            this.#series.delete(key);
            s = undefined;
        }
        if (!s) {
            if (this.#series.size >= this.#maxEntries) this.#sweep(now);
            if (this.#series.size >= this.#maxEntries) {
                this.#dropped++;
                return undefined;
            }
            s = {
                key,
                input: { ...input, note: input.note.slice(0, NOTE_LIMIT) },
                namespace: eventNamespace(input.regarding),
                name: this.#newName(input.regarding, now),
                created: false,
                inFlight: false,
                count: 0,
                writtenCount: 0,
                firstTime: now,
                lastObservedTime: now,
                lastWriteAt: 0,
                failures: 0,
            };
            this.#series.set(key, s);
        }
        s.count++;
        s.lastObservedTime = now;
        return this.#tryWrite(s, now);
    }

    /** Writes that are due now and fit in the bucket (pending creates first, then throttled updates). */
    due(): EventWrite[] {
        const now = this.#clock.now();
        this.#sweep(now);
        const out: EventWrite[] = [];
        const candidates = [...this.#series.values()].sort(
            (a, b) => Number(a.created) - Number(b.created) || a.lastObservedTime - b.lastObservedTime,
        );
        for (const s of candidates) {
            const w = this.#tryWrite(s, now);
            if (w) out.push(w);
            else if (this.#bucket.available() < 1) break;
        }
        return out;
    }

    /** Whether any series has occurrences not yet written (and no write in flight). */
    hasPending(): boolean {
        for (const s of this.#series.values()) if (!s.inFlight && s.count > s.writtenCount) return true;
        return false;
    }

    /** The sink finished `w` successfully. */
    succeeded(w: EventWrite): void {
        const s = this.#series.get(w.key);
        if (!s) return;
        s.inFlight = false;
        s.created = true;
        s.failures = 0;
        s.writtenCount = Math.max(s.writtenCount, w.count);
    }

    /** The sink failed `w`. `gone` = the Event no longer exists (404 on update; expired by the event TTL). */
    failed(w: EventWrite, gone = false): void {
        const s = this.#series.get(w.key);
        if (!s) return;
        s.inFlight = false;
        if (++s.failures >= MAX_FAILURES) {
            this.#series.delete(w.key);
            this.#dropped++;
            return;
        }
        if (gone || w.op === 'create') {
            s.created = false;
            s.writtenCount = 0;
            s.name = this.#newName(s.input.regarding, this.#clock.now());
        }
    }

    #tryWrite(s: Series, now: number): EventWrite | undefined {
        if (s.inFlight || s.count <= s.writtenCount) return undefined;
        if (s.created && now - s.lastWriteAt < this.#intervalMs) return undefined;
        if (!this.#bucket.tryTake()) return undefined;
        s.inFlight = true;
        s.lastWriteAt = now;
        if (!s.created) {
            return {
                op: 'create',
                key: s.key,
                namespace: s.namespace,
                name: s.name,
                input: s.input,
                firstTime: s.firstTime,
                count: s.count,
                lastObservedTime: s.lastObservedTime,
            };
        }
        return {
            op: 'update',
            key: s.key,
            namespace: s.namespace,
            name: s.name,
            count: s.count,
            lastObservedTime: s.lastObservedTime,
        };
    }

    /** Forget finished series whose window has passed. */
    #sweep(now: number): void {
        for (const [key, s] of this.#series) {
            if (!s.inFlight && s.count <= s.writtenCount && now - s.lastObservedTime > this.#windowMs) {
                this.#series.delete(key);
            }
        }
    }

    #newName(ref: ObjectRef, now: number): string {
        // Like client-go: <object name>.<unique hex>, kept within the 253-char DNS subdomain limit.
        const suffix = `${now.toString(16)}${(this.#seq++).toString(16).padStart(4, '0')}`;
        return `${ref.name.slice(0, 253 - suffix.length - 1)}.${suffix}`;
    }
}

/** Where Events are written. */
export interface EventSink {
    create(w: Extract<EventWrite, { op: 'create' }>, reporting: ReportingInfo): Promise<void>;
    update(w: Extract<EventWrite, { op: 'update' }>): Promise<void>;
}

export interface ReportingInfo {
    /** e.g. `isolation.dev/isolation-operator` (a qualified name). */
    controller: string;
    /** e.g. the pod name; ≤ 128 chars. */
    instance: string;
}

/** events.k8s.io/v1 sink: create, then merge-patch `series` on repeats. */
export class KubeEventSink implements EventSink {
    readonly #api: Pick<EventsV1Api, 'createNamespacedEvent' | 'patchNamespacedEvent'>;
    constructor(api: Pick<EventsV1Api, 'createNamespacedEvent' | 'patchNamespacedEvent'>) {
        this.#api = api;
    }

    async create(w: Extract<EventWrite, { op: 'create' }>, reporting: ReportingInfo): Promise<void> {
        const r = w.input.regarding;
        const body: EventsV1Event = {
            apiVersion: 'events.k8s.io/v1',
            kind: 'Event',
            metadata: { name: w.name, namespace: w.namespace },
            eventTime: new V1MicroTime(w.firstTime),
            type: w.input.type,
            reason: w.input.reason,
            action: w.input.action ?? w.input.reason,
            note: w.input.note,
            reportingController: reporting.controller,
            reportingInstance: reporting.instance.slice(0, 128),
            regarding: {
                apiVersion: r.apiVersion,
                kind: r.kind,
                name: r.name,
                ...(r.namespace ? { namespace: r.namespace } : {}),
                ...(r.uid ? { uid: r.uid } : {}),
            },
        };
        if (w.count >= 2)
            body.series = { count: w.count, lastObservedTime: new V1MicroTime(w.lastObservedTime) };
        await this.#api.createNamespacedEvent({ namespace: w.namespace, body });
    }

    async update(w: Extract<EventWrite, { op: 'update' }>): Promise<void> {
        await this.#api.patchNamespacedEvent(
            {
                namespace: w.namespace,
                name: w.name,
                body: {
                    series: {
                        count: w.count,
                        lastObservedTime: new V1MicroTime(w.lastObservedTime).toISOString(),
                    },
                },
            },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
    }
}

export interface EventRecorderOptions extends AggregatorOptions {
    sink: EventSink;
    reporting: ReportingInfo;
    /** How often pending writes are retried while any exist. Default 5 s. */
    flushIntervalMs?: number;
    onError?: (err: unknown, w: EventWrite) => void;
    /** Called for every write attempted (metrics). */
    onWrite?: (op: EventWrite['op']) => void;
}

/** Fire-and-forget recorder: `event()` never throws and never blocks the caller. */
export class EventRecorder {
    readonly aggregator: EventAggregator;
    readonly #sink: EventSink;
    readonly #reporting: ReportingInfo;
    readonly #clock: Clock;
    readonly #flushIntervalMs: number;
    readonly #onError: (err: unknown, w: EventWrite) => void;
    readonly #onWrite: (op: EventWrite['op']) => void;
    readonly #inFlight = new Set<Promise<void>>();
    #timer: TimerHandle | undefined;
    #stopped = false;
    #failures = 0;

    constructor(opts: EventRecorderOptions) {
        this.#clock = opts.clock ?? realClock;
        this.aggregator = new EventAggregator({ ...opts, clock: this.#clock });
        this.#sink = opts.sink;
        this.#reporting = opts.reporting;
        this.#flushIntervalMs = opts.flushIntervalMs ?? 5000;
        this.#onError = opts.onError ?? (() => undefined);
        this.#onWrite = opts.onWrite ?? (() => undefined);
    }

    /** Record an occurrence. */
    event(input: EventInput): void {
        if (this.#stopped) return;
        const w = this.aggregator.observe(input);
        if (w) this.#perform(w);
        this.#armFlush();
    }

    normal(regarding: ObjectRef, reason: string, note: string, action?: string): void {
        this.event({ regarding, type: 'Normal', reason, note, ...(action ? { action } : {}) });
    }

    warning(regarding: ObjectRef, reason: string, note: string, action?: string): void {
        this.event({ regarding, type: 'Warning', reason, note, ...(action ? { action } : {}) });
    }

    /** Perform due writes (as far as the rate cap allows) until none is left, waiting for in-flight writes. */
    async flush(): Promise<void> {
        for (;;) {
            const failuresBefore = this.#failures;
            for (const w of this.aggregator.due()) this.#perform(w);
            if (this.#inFlight.size === 0) return;
            await Promise.all([...this.#inFlight]);
            // A failed write is retried by the flush timer, not in a tight loop here.
            if (this.#failures !== failuresBefore) return;
        }
    }

    /** Stop the timer after a last flush (pending series beyond the rate cap are dropped). */
    async stop(): Promise<void> {
        this.#stopped = true;
        if (this.#timer) this.#clock.clearTimeout(this.#timer);
        this.#timer = undefined;
        await this.flush();
    }

    #armFlush(): void {
        if (this.#timer || this.#stopped || !this.aggregator.hasPending()) return;
        this.#timer = this.#clock.setTimeout(() => {
            this.#timer = undefined;
            for (const w of this.aggregator.due()) this.#perform(w);
            this.#armFlush();
        }, this.#flushIntervalMs);
    }

    #perform(w: EventWrite): void {
        this.#onWrite(w.op);
        const p = (w.op === 'create' ? this.#sink.create(w, this.#reporting) : this.#sink.update(w))
            .then(
                () => this.aggregator.succeeded(w),
                (err: unknown) => {
                    this.#failures++;
                    this.aggregator.failed(w, w.op === 'update' && isNotFound(err));
                    this.#onError(err, w);
                },
            )
            .finally(() => {
                this.#inFlight.delete(p);
                this.#armFlush();
            });
        this.#inFlight.add(p);
    }
}
