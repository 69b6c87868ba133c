/**
 * Leader election on a coordination.k8s.io/v1 Lease, following client-go's `leaderelection` algorithm.
 *
 * - Candidates try every `retryPeriodMs` (2 s, jittered by up to +120 %). A lease held by someone else counts as
 *   expired only when its `leaseDurationSeconds` (15 s) have passed on OUR clock since we last saw the lease
 *   record change (its resourceVersion), so clock skew between replicas does not matter.
 * - Writes are a create (no lease yet) or a replace carrying the resourceVersion we read: a 409 means another
 *   candidate won the race. `holderIdentity`, `acquireTime`, `renewTime` and `leaseTransitions` are maintained as
 *   client-go does (a new holder increments the transitions and sets acquireTime).
 * - The leader renews every retry period; if no renewal succeeds within `renewDeadlineMs` (10 s) - or the lease
 *   turns out to be held by someone else - it stops leading: the `signal` given to `onStartedLeading` aborts and
 *   `onStoppedLeading` runs. `run()` then returns; the process should exit (client-go semantics) rather than try
 *   to lead again with possibly stale state.
 * - `releaseOnCancel` (default true): when `run`'s signal aborts while leading, the lease is released (empty
 *   holder, 1 s duration) so another replica takes over at its next retry instead of after 15 s.
 *
 * Design choice: the decision (`decide`) is a pure function of (what we read, what we observed before, our clock);
 * the I/O is a `LeaseStore` (an in-memory one for tests, `KubeLeaseStore` over CoordinationV1Api for real).
 */
import { type CoordinationV1Api, type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import { type Clock, realClock } from './clock.ts';
import { isConflict, isNotFound } from './errors.ts';

export interface LeaseRecord {
    /** Empty when released. */
    holderIdentity: string;
    leaseDurationSeconds: number;
    /** Epoch ms. */
    acquireTime?: number;
    /** Epoch ms. */
    renewTime?: number;
    leaseTransitions: number;
}

export interface VersionedLease {
    record: LeaseRecord;
    /** The object's resourceVersion. */
    version: string;
}

/** Thrown by a store when a create finds the lease existing or an update's version is stale (HTTP 409). */
export class LeaseConflictError extends Error {
    constructor(message = 'lease was modified concurrently') {
        super(message);
        this.name = 'LeaseConflictError';
    }
}

export interface LeaseStore {
    get(): Promise<VersionedLease | undefined>;
    create(record: LeaseRecord): Promise<VersionedLease>;
    update(record: LeaseRecord, version: string): Promise<VersionedLease>;
}

/** What we last saw of the lease, and when (on our clock). */
export interface Observation {
    version: string;
    record: LeaseRecord;
    observedAt: number;
}

export type Decision =
    | { action: 'create'; record: LeaseRecord }
    | { action: 'update'; record: LeaseRecord; version: string }
    | { action: 'wait'; holder: string; expiresAt: number };

/** The pure core of tryAcquireOrRenew: given the lease read now, what to write (or to wait). */
export function decide(args: {
    identity: string;
    now: number;
    leaseDurationSeconds: number;
    current: VersionedLease | undefined;
    observed: Observation | undefined;
}): { decision: Decision; observed: Observation | undefined } {
    const { identity, now, leaseDurationSeconds, current } = args;
    if (!current) {
        const record: LeaseRecord = {
            holderIdentity: identity,
            leaseDurationSeconds,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: 0,
        };
        return { decision: { action: 'create', record }, observed: args.observed };
    }
    let observed = args.observed;
    if (!observed || observed.version !== current.version) {
        observed = { version: current.version, record: current.record, observedAt: now };
    }
    const old = current.record;
    const heldByOther = old.holderIdentity !== '' && old.holderIdentity !== identity;
    const expiresAt = observed.observedAt + (old.leaseDurationSeconds || leaseDurationSeconds) * 1000;
    if (heldByOther && expiresAt > now) {
        return { decision: { action: 'wait', holder: old.holderIdentity, expiresAt }, observed };
    }
    const renewing = old.holderIdentity === identity;
    const record: LeaseRecord = {
        holderIdentity: identity,
        leaseDurationSeconds,
        renewTime: now,
        leaseTransitions: renewing ? old.leaseTransitions : old.leaseTransitions + 1,
        acquireTime: renewing ? (old.acquireTime ?? now) : now,
    };
    return { decision: { action: 'update', record, version: current.version }, observed };
}

export interface LeaderCallbacks {
    /** Start the controllers; `signal` aborts when leadership is lost or run() is cancelled. Not awaited. */
    onStartedLeading(signal: AbortSignal): void | Promise<void>;
    onStoppedLeading?(): void;
    /** A different holder was observed (including ourselves). */
    onNewLeader?(identity: string): void;
}

export interface LeaderElectorOptions {
    store: LeaseStore;
    /** Unique per replica, e.g. the pod name. */
    identity: string;
    callbacks: LeaderCallbacks;
    /** Default 15 s. */
    leaseDurationMs?: number;
    /** Default 10 s; must be < leaseDurationMs. */
    renewDeadlineMs?: number;
    /** Default 2 s; must be < renewDeadlineMs. */
    retryPeriodMs?: number;
    /** Acquire retries wait retryPeriod * (1 + random * jitterFactor). Default 1.2 (client-go). */
    jitterFactor?: number;
    releaseOnCancel?: boolean;
    clock?: Clock;
    random?: () => number;
    /** Metric hook: leader_election_master_status. */
    onLeaderChange?: (leading: boolean) => void;
    /** Store errors (other than conflicts), for logs. */
    onError?: (err: unknown) => void;
}

type Attempt = 'ok' | 'held' | 'conflict' | 'error';

export class LeaderElector {
    readonly identity: string;
    readonly #store: LeaseStore;
    readonly #cb: LeaderCallbacks;
    readonly #clock: Clock;
    readonly #random: () => number;
    readonly #leaseMs: number;
    readonly #renewDeadlineMs: number;
    readonly #retryMs: number;
    readonly #jitter: number;
    readonly #releaseOnCancel: boolean;
    readonly #onLeaderChange: (leading: boolean) => void;
    readonly #onError: (err: unknown) => void;
    #observed: Observation | undefined;
    #leading = false;
    #lastHolder: string | undefined;

    constructor(opts: LeaderElectorOptions) {
        this.identity = opts.identity;
        this.#store = opts.store;
        this.#cb = opts.callbacks;
        this.#clock = opts.clock ?? realClock;
        this.#random = opts.random ?? Math.random;
        this.#leaseMs = opts.leaseDurationMs ?? 15_000;
        this.#renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
        this.#retryMs = opts.retryPeriodMs ?? 2_000;
        this.#jitter = opts.jitterFactor ?? 1.2;
        this.#releaseOnCancel = opts.releaseOnCancel ?? true;
        this.#onLeaderChange = opts.onLeaderChange ?? (() => undefined);
        this.#onError = opts.onError ?? (() => undefined);
        if (!(this.#leaseMs > this.#renewDeadlineMs && this.#renewDeadlineMs > this.#retryMs)) {
            throw new Error('leader election needs leaseDuration > renewDeadline > retryPeriod');
        }
    }

    isLeader(): boolean {
        return this.#leading;
    }

    /** The last holder we saw ('' if released), if any. */
    leader(): string | undefined {
        return this.#lastHolder;
    }

    /**
     * Acquire (retrying until `signal` aborts), lead, renew; returns once leadership is lost or `signal` aborted
     * (after releasing the lease if `releaseOnCancel`).
     */
    async run(signal: AbortSignal): Promise<void> {
        // Acquire.
        for (;;) {
            if (signal.aborted) return;
            if ((await this.#attempt()) === 'ok') break;
            const wait = this.#retryMs * (1 + this.#random() * this.#jitter);
            if (!(await this.#sleep(wait, signal))) return;
        }
        // Lead.
        this.#leading = true;
        const leading = new AbortController();
        this.#onLeaderChange(true);
        try {
            void Promise.resolve(this.#cb.onStartedLeading(leading.signal)).catch((err: unknown) =>
                this.#onError(err),
            );
        } catch (err) {
            this.#onError(err);
        }
        let lastRenew = this.#clock.now();
        let cancelled = false;
        for (;;) {
            if (!(await this.#sleep(this.#retryMs, signal))) {
                cancelled = true;
                break;
            }
            if (!(await this.#renewUntil(lastRenew + this.#renewDeadlineMs, signal))) {
                cancelled = signal.aborted;
                break;
            }
            lastRenew = this.#clock.now();
        }
        // Stop.
        this.#leading = false;
        leading.abort(new DOMException('leadership lost', 'AbortError'));
        if (cancelled && this.#releaseOnCancel) await this.release();
        this.#onLeaderChange(false);
        this.#cb.onStoppedLeading?.();
    }

    /** Give up the lease if we hold it: empty holder, 1 s duration, so the next candidate acquires at once. */
    async release(): Promise<boolean> {
        const obs = this.#observed;
        if (!obs || obs.record.holderIdentity !== this.identity) return false;
        const now = this.#clock.now();
        const record: LeaseRecord = {
            ...obs.record,
            holderIdentity: '',
            leaseDurationSeconds: 1,
            renewTime: now,
            acquireTime: now,
        };
        try {
            const written = await this.#store.update(record, obs.version);
            this.#observed = { ...written, observedAt: now };
            return true;
        } catch (err) {
            this.#onError(err);
            return false;
        }
    }

    /** Renew (immediately, then every retry period) until success, a foreign holder, or the deadline. */
    async #renewUntil(deadline: number, signal: AbortSignal): Promise<boolean> {
        for (;;) {
            const remaining = deadline - this.#clock.now();
            if (remaining <= 0 || signal.aborted) return false;
            const result = await this.#withTimeout(this.#attempt(), remaining);
            if (result === 'ok') return true;
            if (result === 'held' || result === 'timeout') return false;
            const left = deadline - this.#clock.now();
            if (left <= 0) return false;
            if (!(await this.#sleep(Math.min(this.#retryMs, left), signal))) return false;
        }
    }

    async #attempt(): Promise<Attempt> {
        try {
            const current = await this.#store.get();
            const now = this.#clock.now();
            const { decision, observed } = decide({
                identity: this.identity,
                now,
                leaseDurationSeconds: Math.round(this.#leaseMs / 1000),
                current,
                observed: this.#observed,
            });
            this.#observed = observed;
            if (observed) this.#noteHolder(observed.record.holderIdentity);
            if (decision.action === 'wait') return 'held';
            const written =
                decision.action === 'create'
                    ? await this.#store.create(decision.record)
                    : await this.#store.update(decision.record, decision.version);
            this.#observed = { ...written, observedAt: this.#clock.now() };
            this.#noteHolder(this.identity);
            return 'ok';
        } catch (err) {
            if (err instanceof LeaseConflictError) return 'conflict';
            this.#onError(err);
            return 'error';
        }
    }

    #noteHolder(holder: string): void {
        if (holder !== this.#lastHolder) {
            this.#lastHolder = holder;
            if (holder) this.#cb.onNewLeader?.(holder);
        }
    }

    /** Sleep on the clock; false if `signal` aborted. */
    async #sleep(ms: number, signal: AbortSignal): Promise<boolean> {
        try {
            await this.#clock.sleep(ms, signal);
            return true;
        } catch {
            return false;
        }
    }

    async #withTimeout<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
        const ac = new AbortController();
        const timeout = this.#clock.sleep(ms, ac.signal).then(
            () => 'timeout' as const,
            () => 'timeout' as const,
        );
        try {
            return await Promise.race([p, timeout]);
        } finally {
            ac.abort();
        }
    }
}

function toMs(t: unknown): number | undefined {
    if (t instanceof Date) return t.getTime();
    if (typeof t === 'string') {
        const ms = Date.parse(t);
        return Number.isNaN(ms) ? undefined : ms;
    }
    return undefined;
}

/** The Lease `namespace/name` through CoordinationV1Api (RBAC: leases get/create/update). */
export class KubeLeaseStore implements LeaseStore {
    readonly #api: Pick<
        CoordinationV1Api,
        'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'
    >;
    readonly namespace: string;
    readonly name: string;

    constructor(
        api: Pick<
            CoordinationV1Api,
            'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'
        >,
        namespace: string,
        name: string,
    ) {
        this.#api = api;
        this.namespace = namespace;
        this.name = name;
    }

    async get(): Promise<VersionedLease | undefined> {
        try {
            return this.#fromLease(
                await this.#api.readNamespacedLease({ name: this.name, namespace: this.namespace }),
            );
        } catch (err) {
            if (isNotFound(err)) return undefined;
            throw err;
        }
    }

    async create(record: LeaseRecord): Promise<VersionedLease> {
        try {
            const body = this.#toLease(record);
            return this.#fromLease(
                await this.#api.createNamespacedLease({ namespace: this.namespace, body }),
            );
        } catch (err) {
            if (isConflict(err)) throw new LeaseConflictError('lease already exists');
            throw err;
        }
    }

    async update(record: LeaseRecord, version: string): Promise<VersionedLease> {
        try {
            const body = this.#toLease(record, version);
            return this.#fromLease(
                await this.#api.replaceNamespacedLease({ name: this.name, namespace: this.namespace, body }),
            );
        } catch (err) {
            if (isConflict(err)) throw new LeaseConflictError();
            throw err;
        }
    }

    #toLease(r: LeaseRecord, resourceVersion?: string): V1Lease {
        return {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: {
                name: this.name,
                namespace: this.namespace,
                ...(resourceVersion ? { resourceVersion } : {}),
            },
            spec: {
                holderIdentity: r.holderIdentity,
                leaseDurationSeconds: r.leaseDurationSeconds,
                leaseTransitions: r.leaseTransitions,
                ...(r.acquireTime !== undefined ? { acquireTime: new V1MicroTime(r.acquireTime) } : {}),
                ...(r.renewTime !== undefined ? { renewTime: new V1MicroTime(r.renewTime) } : {}),
            },
        };
    }

    #fromLease(lease: V1Lease): VersionedLease {
        const s = lease.spec ?? {};
        const record: LeaseRecord = {
            holderIdentity: s.holderIdentity ?? '',
            leaseDurationSeconds: s.leaseDurationSeconds ?? 0,
            leaseTransitions: s.leaseTransitions ?? 0,
        };
        const acquire = toMs(s.acquireTime);
        const renew = toMs(s.renewTime);
        if (acquire !== undefined) record.acquireTime = acquire;
        if (renew !== undefined) record.renewTime = renew;
        return { record, version: lease.metadata?.resourceVersion ?? '' };
    }
}
