/**
 * A supervised informer: a list-then-watch cache (list-watch.ts) plus what controller-runtime's cache adds on top.
 *
 * The underlying list-watch resumes its watch from the last resourceVersion it saw (events and bookmarks) and
 * relists only on 410 Gone, but stops for good on other errors (LIST failure, 403, 5xx, ECONNRESET). This module:
 * - detects "synced" by wrapping the list function (first successful LIST, after the cache has been filled);
 * - restarts after ANY error except our own stop, with full-jitter exponential backoff (1 s .. 30 s by default, as client-go's reflector:
 *   reset once an informer stayed up for `resetAfterMs`), on an injected clock and random source;
 * - passes the label/field selector to BOTH the list call and the watch;
 * - counts every LIST after the first (`hooks.onRelist`): `expired` when the API server said the position is gone
 *   (410), `restart` when a restart had no position to resume from (the LIST itself had failed).
 *
 * Design choice: every (re)start uses a FRESH list-watch instance (each is started once and stopped once). When the
 * dead instance had a position (it listed, or resumed, and knows a resourceVersion), the new one RESUMES from it:
 * it starts with the dead instance's cache and only watches, so an API server restart or a reset connection costs
 * one watch request, not a relist (client-go's reflector does the same). Without a position, the new instance
 * lists; while it does, the old instance's cache keeps serving reads (reconciles never see an empty cache and
 * prune everything). Once the new list is in its cache, the caches are swapped and the difference is emitted:
 * `onDelete` for objects that vanished while we were down (missed deletes), `onUpdate` for changed
 * resourceVersions, `onAdd` for new objects, nothing for unchanged ones - so a restart does not flood the queue.
 *
 * Handlers are called synchronously and should only compute keys and enqueue; the objects are shared with the
 * cache and must not be mutated. A throwing handler is reported through `hooks.onHandlerError`, never propagated.
 */
import type {
    Informer,
    KubeConfig,
    KubernetesListObject,
    KubernetesObject,
    ListPromise,
    ObjectCache,
} from '@kubernetes/client-node';
import { type Clock, type TimerHandle, realClock } from './clock.ts';
import { httpStatus } from './errors.ts';
import { ResumableListWatch, type ResumePoint } from './list-watch.ts';
import { StreamWatch } from './watch-stream.ts';

/** A list-watch cache; `latestResourceVersion` is where its watch would resume ('' when it has no position). */
export type CachedInformer<T extends KubernetesObject> = Informer<T> &
    ObjectCache<T> & { latestResourceVersion(): string; size(): number };

export interface SelectorOptions {
    labelSelector?: string;
    fieldSelector?: string;
}

export interface InformerFactoryArgs<T extends KubernetesObject> extends SelectorOptions {
    listFn: ListPromise<T>;
    /** Applied to every object of a watch event before it enters the cache (the list is transformed by the caller). */
    transform?: (obj: T) => T;
    /** Start from this cache and position: watch only, no LIST (unless the position turns out to be gone). */
    resume?: ResumePoint<T>;
    /** To be called each time a watch request was accepted. */
    onWatching?: () => void;
}

/** Objects kept in a cache can be trimmed to what the controller reads (e.g. without managedFields). */
export type Transform<T> = (obj: T) => T;

/** Builds one (not yet started) informer; called once per (re)start. */
export type InformerFactory<T extends KubernetesObject> = (args: InformerFactoryArgs<T>) => CachedInformer<T>;

export interface ListWatchFactoryOptions {
    /** Server-side timeout of each watch request in seconds; default 300..600, random (client-go). */
    watchTimeoutSeconds?: () => number;
}

/** The production factory: a resumable list-watch on `path` (e.g. `/api/v1/namespaces`), watch with the selectors. */
export function listWatchFactory<T extends KubernetesObject>(
    kc: KubeConfig,
    path: string,
    opts: ListWatchFactoryOptions = {},
): InformerFactory<T> {
    return ({ listFn, labelSelector, fieldSelector, transform, resume, onWatching }) =>
        new ResumableListWatch<T>({
            path,
            watch: new StreamWatch(kc),
            listFn,
            ...(labelSelector !== undefined ? { labelSelector } : {}),
            ...(fieldSelector !== undefined ? { fieldSelector } : {}),
            ...(transform ? { transform } : {}),
            ...(resume ? { resume } : {}),
            ...(onWatching ? { onWatching } : {}),
            ...(opts.watchTimeoutSeconds ? { watchTimeoutSeconds: opts.watchTimeoutSeconds } : {}),
        });
}

export interface InformerHandlers<T> {
    onAdd?(obj: T): void;
    onUpdate?(obj: T): void;
    onDelete?(obj: T): void;
}

export type InformerEventType = 'add' | 'update' | 'delete';

/** Why an informer listed again: its watch position was gone (410), or a restart had no position to resume. */
export type RelistReason = 'expired' | 'restart';

/** Observability hooks (all optional): wire to `informer_up`, last-event-time gauges and logs. */
export interface InformerHooks {
    /** The informer listed successfully (first sync or after a restart). */
    onUp?(): void;
    /** The informer stopped on an error and a restart is scheduled after `restartInMs`. */
    onDown?(err: unknown, restartInMs: number): void;
    onEvent?(type: InformerEventType): void;
    onHandlerError?(err: unknown, type: InformerEventType): void;
    /** A LIST other than the very first is being sent. */
    onRelist?(reason: RelistReason): void;
}

export interface BackoffOptions {
    /** Cap of the first restart delay. Default 1 s. */
    initialMs?: number;
    /** Largest cap. Default 30 s (after a long API outage the next attempt comes at most 30 s late). */
    maxMs?: number;
    /** An informer that stayed up this long resets the backoff. Default 60 s. */
    resetAfterMs?: number;
}

export interface SupervisedInformerOptions<T extends KubernetesObject> extends SelectorOptions {
    /** For logs and metric labels (e.g. the resource plural). */
    name: string;
    /** The LIST call; receives the selectors so list and watch always agree. */
    list: (opts: SelectorOptions) => Promise<KubernetesListObject<T>>;
    factory: InformerFactory<T>;
    handlers: InformerHandlers<T>;
    /**
     * Trims each object (listed or watched) before it is cached and handed to handlers, e.g. dropping
     * managedFields. Caches dominate an operator's memory; keep only what reconciles read. Must not mutate its input.
     */
    transform?: Transform<T>;
    hooks?: InformerHooks;
    backoff?: BackoffOptions;
    clock?: Clock;
    /** Uniform in [0, 1). Default Math.random. */
    random?: () => number;
    /** Runs `fn` after the current microtasks (the informer fills its cache right after the list resolves). */
    defer?: (fn: () => void) => void;
}

interface Generation<T extends KubernetesObject> {
    informer: CachedInformer<T>;
    /** Events of this instance reach the handlers (false while a restarted instance does its initial list). */
    passThrough: boolean;
    listedAt?: number;
    dead: boolean;
    /** Started from the previous instance's cache and position instead of a LIST. */
    resumed: boolean;
    lists: number;
}

function abortError(message: string): DOMException {
    return new DOMException(message, 'AbortError');
}

function reasonOf(signal: AbortSignal | undefined): Error {
    return signal?.reason instanceof Error ? signal.reason : abortError('aborted');
}

function keyOf(obj: KubernetesObject): string {
    return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

export class SupervisedInformer<T extends KubernetesObject> {
    readonly name: string;
    readonly #opts: SupervisedInformerOptions<T>;
    readonly #clock: Clock;
    readonly #random: () => number;
    readonly #defer: (fn: () => void) => void;
    readonly #initialMs: number;
    readonly #maxMs: number;
    readonly #resetAfterMs: number;

    #current: Generation<T> | undefined;
    #serving: CachedInformer<T> | undefined;
    #started = false;
    #stopping = false;
    #synced = false;
    #attempt = 0;
    #restarts = 0;
    #restartTimer: TimerHandle | undefined;
    #resume: ResumePoint<T> | undefined;
    #syncWaiters = new Set<{ resolve: () => void; reject: (e: Error) => void }>();

    constructor(opts: SupervisedInformerOptions<T>) {
        this.name = opts.name;
        this.#opts = opts;
        this.#clock = opts.clock ?? realClock;
        this.#random = opts.random ?? Math.random;
        this.#defer = opts.defer ?? ((fn) => void setImmediate(fn));
        this.#initialMs = opts.backoff?.initialMs ?? 1000;
        this.#maxMs = opts.backoff?.maxMs ?? 30_000;
        this.#resetAfterMs = opts.backoff?.resetAfterMs ?? 60_000;
    }

    /** Start listing and watching; returns at once (use `waitForSync`). Idempotent. */
    start(): void {
        if (this.#started || this.#stopping) return;
        this.#started = true;
        this.#launch();
    }

    /** Stop for good: no restart, the error fired by the informer's own stop is ignored. */
    async stop(): Promise<void> {
        this.#stopping = true;
        if (this.#restartTimer) this.#clock.clearTimeout(this.#restartTimer);
        this.#restartTimer = undefined;
        for (const w of this.#syncWaiters) w.reject(abortError(`informer ${this.name} stopped`));
        this.#syncWaiters.clear();
        const gen = this.#current;
        if (gen && !gen.dead) {
            gen.dead = true;
            await gen.informer.stop().catch(() => undefined);
        }
    }

    /** True once the first LIST has succeeded and its objects are in the cache (stays true across restarts). */
    synced(): boolean {
        return this.#synced;
    }

    /** True while the current informer has listed and not failed. */
    up(): boolean {
        const gen = this.#current;
        return gen !== undefined && !gen.dead && gen.listedAt !== undefined;
    }

    /** The position a watch would resume from now ('' before the first list). */
    latestResourceVersion(): string {
        return this.#current?.informer.latestResourceVersion() ?? '';
    }

    /** Number of restarts after errors so far. */
    restarts(): number {
        return this.#restarts;
    }

    /** Resolves when synced; rejects with an AbortError when `signal` aborts or the informer is stopped. */
    waitForSync(signal?: AbortSignal): Promise<void> {
        if (this.#synced) return Promise.resolve();
        if (this.#stopping) return Promise.reject(abortError(`informer ${this.name} stopped`));
        return new Promise<void>((resolve, reject) => {
            if (signal?.aborted) {
                reject(reasonOf(signal));
                return;
            }
            const onAbort = (): void => {
                this.#syncWaiters.delete(waiter);
                reject(reasonOf(signal));
            };
            const waiter = {
                resolve: () => {
                    signal?.removeEventListener('abort', onAbort);
                    resolve();
                },
                reject: (e: Error) => {
                    signal?.removeEventListener('abort', onAbort);
                    reject(e);
                },
            };
            this.#syncWaiters.add(waiter);
            signal?.addEventListener('abort', onAbort, { once: true });
        });
    }

    /** Objects in the cache, optionally of one namespace. Shared references: do not mutate. */
    list(namespace?: string): ReadonlyArray<T> {
        return this.#serving?.list(namespace) ?? [];
    }

    /** How many objects the cache holds (O(1)). */
    size(): number {
        return this.#serving?.size() ?? 0;
    }

    get(name: string, namespace?: string): T | undefined {
        return this.#serving?.get(name, namespace);
    }

    #launch(): void {
        const { labelSelector, fieldSelector } = this.#opts;
        const selectors: SelectorOptions = {};
        if (labelSelector !== undefined) selectors.labelSelector = labelSelector;
        if (fieldSelector !== undefined) selectors.fieldSelector = fieldSelector;
        const transform = this.#opts.transform;
        const listFn: ListPromise<T> = async () => {
            const reason: RelistReason | undefined =
                gen.lists > 0 || gen.resumed ? 'expired' : this.#synced ? 'restart' : undefined;
            gen.lists++;
            if (reason) this.#hook(() => this.#opts.hooks?.onRelist?.(reason));
            const result = await this.#opts.list(selectors);
            if (transform) result.items = result.items.map(transform);
            // The informer fills its cache in the continuation of this promise; look after that.
            this.#defer(() => this.#onListed(gen));
            return result;
        };
        const resume = this.#resume;
        this.#resume = undefined;
        const informer = this.#opts.factory({
            listFn,
            ...selectors,
            ...(transform ? { transform } : {}),
            ...(resume ? { resume, onWatching: () => this.#onResumed(gen) } : {}),
        });
        const gen: Generation<T> = {
            informer,
            // A resumed instance starts with the old cache, so its events are live at once.
            passThrough: this.#serving === undefined || resume !== undefined,
            dead: false,
            resumed: resume !== undefined,
            lists: 0,
        };
        if (this.#serving === undefined || resume) this.#serving = informer;
        this.#current = gen;
        const forward = (type: InformerEventType) => (obj: T) => {
            if (gen.dead || !gen.passThrough) return;
            this.#emit(type, obj);
        };
        informer.on('add', forward('add'));
        informer.on('update', forward('update'));
        informer.on('delete', forward('delete'));
        informer.on('error', (err?: unknown) => this.#onError(gen, err));
        informer.start().catch((err: unknown) => this.#onError(gen, err));
    }

    #emit(type: InformerEventType, obj: T): void {
        const h = this.#opts.handlers;
        try {
            this.#opts.hooks?.onEvent?.(type);
            if (type === 'add') h.onAdd?.(obj);
            else if (type === 'update') h.onUpdate?.(obj);
            else h.onDelete?.(obj);
        } catch (err) {
            try {
                this.#opts.hooks?.onHandlerError?.(err, type);
            } catch {
                // never let a hook break the informer
            }
        }
    }

    #onListed(gen: Generation<T>): void {
        if (gen.dead || this.#stopping || gen.listedAt !== undefined) return;
        gen.listedAt = this.#clock.now();
        const old = this.#serving;
        if (old !== gen.informer) {
            this.#serving = gen.informer;
            if (old) this.#emitDiff(old, gen.informer);
            gen.passThrough = true;
        }
        this.#opts.hooks?.onUp?.();
        if (!this.#synced) {
            this.#synced = true;
            for (const w of this.#syncWaiters) w.resolve();
            this.#syncWaiters.clear();
        }
    }

    /** A resumed instance's watch was accepted: it is up (its cache was current when the old one died). */
    #onResumed(gen: Generation<T>): void {
        if (gen.dead || this.#stopping || gen.listedAt !== undefined) return;
        gen.listedAt = this.#clock.now();
        this.#hook(() => this.#opts.hooks?.onUp?.());
    }

    #hook(fn: () => void): void {
        try {
            fn();
        } catch {
            // never let a hook break the informer
        }
    }

    /** Emit what changed between the stale cache and the fresh one. */
    #emitDiff(old: ObjectCache<T>, fresh: ObjectCache<T>): void {
        const freshKeys = new Set<string>();
        for (const obj of fresh.list()) {
            freshKeys.add(keyOf(obj));
            const before = old.get(obj.metadata?.name ?? '', obj.metadata?.namespace);
            if (!before) this.#emit('add', obj);
            else if (before.metadata?.resourceVersion !== obj.metadata?.resourceVersion)
                this.#emit('update', obj);
        }
        for (const obj of old.list()) {
            if (!freshKeys.has(keyOf(obj))) this.#emit('delete', obj);
        }
    }

    #onError(gen: Generation<T>, err: unknown): void {
        if (this.#stopping || gen.dead) return;
        gen.dead = true;
        // It has already stopped itself; stop() marks it stopped for good and aborts any request left.
        void gen.informer.stop().catch(() => undefined);
        // Resume from its position if it has one (its cache is complete up to that resourceVersion) - unless the
        // API server answered a resumed watch with an HTTP error before accepting it (e.g. 504 "resource version too
        // large" after an etcd restore): then that position is suspect, and listing is the way out.
        const resourceVersion = gen.informer.latestResourceVersion();
        const refused = gen.resumed && gen.listedAt === undefined && (httpStatus(err) ?? 0) >= 400;
        this.#resume =
            resourceVersion && gen.informer === this.#serving && !refused
                ? { resourceVersion, items: gen.informer.list() }
                : undefined;
        if (gen.listedAt !== undefined && this.#clock.now() - gen.listedAt >= this.#resetAfterMs)
            this.#attempt = 0;
        const cap = Math.min(this.#maxMs, this.#initialMs * 2 ** this.#attempt);
        const delay = Math.floor(this.#random() * cap);
        this.#attempt++;
        try {
            this.#opts.hooks?.onDown?.(err, delay);
        } catch {
            // ignore
        }
        this.#restartTimer = this.#clock.setTimeout(() => {
            this.#restartTimer = undefined;
            if (this.#stopping) return;
            this.#restarts++;
            this.#launch();
        }, delay);
    }
}
