/**
 * A list-then-watch cache that moves forward, with client-go's Reflector semantics: LIST once, then WATCH from the
 * last resourceVersion seen — of the list, of any event, or of a BOOKMARK — and LIST again only when the API server
 * says that position is gone (HTTP 410, or an in-stream `ERROR` event with code 410, "too old resource version").
 *
 * Why not client-node's `ListWatch`: it never asks for bookmarks, so a watch on a quiet resource kept re-opening
 * at the resourceVersion of its first LIST; once that position fell out of the API server's window (watch cache or
 * etcd compaction) every reconnect became a full relist. Here every watch asks for `allowWatchBookmarks=true` and a
 * server-side `timeoutSeconds` (client-go: 5..10 min, randomised), the API server sends a bookmark about every
 * minute and two seconds before that deadline, and the client's inactivity timeout is set above the bookmark
 * period, so an idle watch ends cleanly at the server's deadline and re-opens at the bookmark's position.
 *
 * `resume` starts watching from a known position with a pre-filled cache instead of listing: the supervisor
 * (informer.ts) hands the dead instance's cache and resourceVersion to its replacement after a watch error, so an
 * API server restart or a reset connection costs a watch, not a relist.
 *
 * Any other failure (LIST error, watch HTTP error, connection error) fires `error` and stops; the supervisor
 * restarts it with backoff. `stop()` does not fire `error`. Handlers run synchronously; objects are shared with the
 * cache and must not be mutated.
 */
import type {
    ErrorCallback,
    KubernetesListObject,
    KubernetesObject,
    ListPromise,
    ObjectCallback,
} from '@kubernetes/client-node';
import { type Clock, type TimerHandle, realClock } from './clock.ts';

type Query = Record<string, string | number | boolean | undefined>;

/** What a watch request needs (`StreamWatch` in watch-stream.ts; tests use a fake). */
export interface WatchClient {
    watch(
        path: string,
        query: Query,
        onEvent: (phase: string, obj: unknown) => void,
        done: (err: unknown) => void,
    ): Promise<AbortController>;
}

/** A cache and the position to resume watching from. */
export interface ResumePoint<T> {
    resourceVersion: string;
    items: readonly T[];
}

export interface ResumableListWatchOptions<T extends KubernetesObject> {
    path: string;
    watch: WatchClient;
    listFn: ListPromise<T>;
    labelSelector?: string;
    fieldSelector?: string;
    /** Applied to each watched object before it is cached (listed objects are transformed by `listFn`). */
    transform?: (obj: T) => T;
    /** Server-side timeout of each watch request, asked anew for each request. Default 300..600 s, random. */
    watchTimeoutSeconds?: () => number;
    /** Start from this cache and position instead of listing. */
    resume?: ResumePoint<T>;
    /** Called each time a watch request was accepted (HTTP 200). */
    onWatching?: () => void;
    clock?: Clock;
}

/** client-go's reflector: a watch lasts minWatchTimeout (5 min) x [1, 2). */
export function defaultWatchTimeoutSeconds(): number {
    return Math.floor(300 * (1 + Math.random()));
}

/** A watch that ended this quickly without a single event backs off before the next one (client-go: 1 s). */
const SHORT_WATCH_MS = 1000;
const SHORT_WATCH_BACKOFF_MS = [1000, 2000, 4000, 8000, 16_000, 30_000];

interface StatusLike {
    code?: number;
    statusCode?: number;
    reason?: string;
    message?: string;
}

/** True for HTTP 410 Gone and for `ERROR` events saying the resourceVersion is too old. */
export function isExpired(status: unknown): boolean {
    if (!status || typeof status !== 'object') return false;
    const s = status as StatusLike;
    return (
        s.code === 410 ||
        s.statusCode === 410 ||
        s.reason === 'Expired' ||
        s.reason === 'Gone' ||
        (typeof s.message === 'string' && /too old resource version/i.test(s.message))
    );
}

interface Callbacks<T extends KubernetesObject> {
    add: ObjectCallback<T>[];
    update: ObjectCallback<T>[];
    delete: ObjectCallback<T>[];
    error: ErrorCallback[];
    connect: ErrorCallback[];
}

function key(obj: KubernetesObject): [string, string] {
    return [obj.metadata?.namespace ?? '', obj.metadata?.name ?? ''];
}

export class ResumableListWatch<T extends KubernetesObject> {
    readonly #o: ResumableListWatchOptions<T>;
    readonly #clock: Clock;
    readonly #objects = new Map<string, Map<string, T>>();
    /** Objects in `#objects`, kept by `#put`/`#remove` so a count never walks the cache. */
    #count = 0;
    readonly #cbs: Callbacks<T> = { add: [], update: [], delete: [], error: [], connect: [] };
    #resourceVersion = '';
    #stopped = false;
    #request: AbortController | undefined;
    #timer: TimerHandle | undefined;
    #shortWatches = 0;

    constructor(opts: ResumableListWatchOptions<T>) {
        this.#o = opts;
        this.#clock = opts.clock ?? realClock;
    }

    on(verb: 'add' | 'update' | 'delete' | 'change', cb: ObjectCallback<T>): void;
    on(verb: 'error' | 'connect', cb: ErrorCallback): void;
    on(verb: string, cb: ObjectCallback<T> | ErrorCallback): void {
        if (verb === 'change') {
            for (const v of ['add', 'update', 'delete'] as const) this.#cbs[v].push(cb as ObjectCallback<T>);
            return;
        }
        const list = this.#cbs[verb as keyof Callbacks<T>] as (ObjectCallback<T> | ErrorCallback)[];
        if (!list) throw new Error(`Unknown verb: ${verb}`);
        list.push(cb);
    }

    off(verb: 'add' | 'update' | 'delete' | 'change', cb: ObjectCallback<T>): void;
    off(verb: 'error' | 'connect', cb: ErrorCallback): void;
    off(verb: string, cb: ObjectCallback<T> | ErrorCallback): void {
        const verbs = verb === 'change' ? ['add', 'update', 'delete'] : [verb];
        for (const v of verbs) {
            const list = this.#cbs[v as keyof Callbacks<T>] as (ObjectCallback<T> | ErrorCallback)[];
            const i = list?.indexOf(cb) ?? -1;
            if (i >= 0) list.splice(i, 1);
        }
    }

    get(name: string, namespace?: string): T | undefined {
        return this.#objects.get(namespace ?? '')?.get(name);
    }

    list(namespace?: string): T[] {
        if (namespace) return [...(this.#objects.get(namespace)?.values() ?? [])];
        const out: T[] = [];
        for (const m of this.#objects.values()) out.push(...m.values());
        return out;
    }

    /** Objects in the cache, without copying them out (a gauge read on every status write). */
    size(): number {
        return this.#count;
    }

    /** The position the next watch starts from ('' before the first list, and after a 410 until the relist). */
    latestResourceVersion(): string {
        return this.#resourceVersion;
    }

    async start(): Promise<void> {
        this.#stopped = false;
        const resume = this.#o.resume;
        if (resume && resume.resourceVersion) {
            for (const obj of resume.items) this.#put(obj);
            this.#resourceVersion = resume.resourceVersion;
        } else if (!(await this.#list())) {
            return;
        }
        await this.#watch();
    }

    stop(): Promise<void> {
        this.#stopped = true;
        if (this.#timer) this.#clock.clearTimeout(this.#timer);
        this.#timer = undefined;
        this.#request?.abort();
        this.#request = undefined;
        return Promise.resolve();
    }

    #fire(verb: 'add' | 'update' | 'delete', obj: T): void {
        for (const cb of this.#cbs[verb].slice()) cb(obj);
    }

    #fail(err: unknown): void {
        this.#stopped = true;
        for (const cb of this.#cbs.error.slice()) cb(err);
    }

    #put(obj: T): T | undefined {
        const [ns, name] = key(obj);
        let m = this.#objects.get(ns);
        if (!m) this.#objects.set(ns, (m = new Map<string, T>()));
        const before = m.get(name);
        m.set(name, obj);
        if (before === undefined) this.#count++;
        return before;
    }

    #remove(obj: T): T | undefined {
        const [ns, name] = key(obj);
        const m = this.#objects.get(ns);
        const before = m?.get(name);
        if (before) {
            m?.delete(name);
            this.#count--;
            if (m?.size === 0) this.#objects.delete(ns);
        }
        return before;
    }

    /** LIST, replace the cache, and emit the difference. False (after `error`) when the list failed. */
    async #list(): Promise<boolean> {
        for (const cb of this.#cbs.connect.slice()) cb(undefined);
        let res: KubernetesListObject<T>;
        try {
            res = await this.#o.listFn();
        } catch (err) {
            if (!this.#stopped) this.#fail(err);
            return false;
        }
        if (this.#stopped) return false;
        const fresh = new Set<string>();
        for (const obj of res.items) {
            const [ns, name] = key(obj);
            fresh.add(`${ns}/${name}`);
            const before = this.#put(obj);
            if (!before) this.#fire('add', obj);
            else if (before.metadata?.resourceVersion !== obj.metadata?.resourceVersion)
                this.#fire('update', obj);
        }
        for (const obj of this.list()) {
            const [ns, name] = key(obj);
            if (!fresh.has(`${ns}/${name}`)) {
                this.#remove(obj);
                this.#fire('delete', obj);
            }
        }
        this.#resourceVersion = res.metadata?.resourceVersion ?? '';
        return true;
    }

    async #watch(): Promise<void> {
        if (this.#stopped) return;
        const query: Query = {
            resourceVersion: this.#resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds: (this.#o.watchTimeoutSeconds ?? defaultWatchTimeoutSeconds)(),
        };
        if (this.#o.labelSelector !== undefined) query.labelSelector = this.#o.labelSelector;
        if (this.#o.fieldSelector !== undefined) query.fieldSelector = this.#o.fieldSelector;
        const openedAt = this.#clock.now();
        let events = 0;
        let expired = false;
        let ended = false;
        const onEvent = (phase: string, raw: unknown): void => {
            if (this.#stopped || ended) return;
            if (phase === 'ERROR') {
                if (isExpired(raw)) expired = true;
                return;
            }
            const obj = raw as T;
            const rv = obj?.metadata?.resourceVersion;
            events++;
            if (phase === 'ADDED' || phase === 'MODIFIED') {
                const t = this.#o.transform ? this.#o.transform(obj) : obj;
                const before = this.#put(t);
                if (!before) this.#fire('add', t);
                else if (before.metadata?.resourceVersion !== t.metadata?.resourceVersion)
                    this.#fire('update', t);
            } else if (phase === 'DELETED') {
                const t = this.#o.transform ? this.#o.transform(obj) : obj;
                if (this.#remove(t)) this.#fire('delete', t);
            } else if (phase !== 'BOOKMARK') {
                events--;
                return;
            }
            if (rv) this.#resourceVersion = rv;
        };
        const done = (err: unknown): void => {
            if (ended) return;
            ended = true;
            this.#request = undefined;
            if (this.#stopped) return;
            if (expired || isExpired(err)) {
                // The position is gone: relist (the only reason to LIST again), then watch from the new list.
                this.#resourceVersion = '';
                this.#shortWatches = 0;
                void this.#list().then((ok) => (ok ? this.#watch() : undefined));
                return;
            }
            const name = err instanceof Error || err instanceof DOMException ? err.name : undefined;
            if (err && name !== 'TimeoutError') {
                this.#fail(err);
                return;
            }
            // Clean end (the server's timeoutSeconds) or client inactivity timeout: resume from where we are.
            const short = events === 0 && this.#clock.now() - openedAt < SHORT_WATCH_MS;
            this.#shortWatches = short ? this.#shortWatches + 1 : 0;
            if (this.#shortWatches === 0) {
                void this.#watch();
                return;
            }
            const delay =
                SHORT_WATCH_BACKOFF_MS[Math.min(this.#shortWatches, SHORT_WATCH_BACKOFF_MS.length) - 1] ??
                30_000;
            this.#timer = this.#clock.setTimeout(() => {
                this.#timer = undefined;
                void this.#watch();
            }, delay);
        };
        for (const cb of this.#cbs.connect.slice()) cb(undefined);
        let request: AbortController;
        try {
            request = await this.#o.watch.watch(this.#o.path, query, onEvent, done);
        } catch (err) {
            done(err);
            return;
        }
        if (ended || this.#stopped) {
            request.abort();
            return;
        }
        this.#request = request;
        this.#o.onWatching?.();
    }
}
