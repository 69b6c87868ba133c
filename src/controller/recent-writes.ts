/**
 * Read-your-writes for the informer caches. After the operator writes an object, the watch event that brings the
 * new version into the cache arrives a little later; a reconcile that runs in between (often the one triggered by
 * the operator's own previous write) would see the old version and write again. This overlay keeps the object
 * each write returned (or a tombstone for a delete) until the cache holds that resourceVersion or a newer one.
 *
 * Design: resourceVersions are compared as integers. Kubernetes calls them opaque, but every etcd3-backed API
 * server issues them from one monotonic revision counter; if one does not parse, the cache wins, so the worst
 * case is the extra write this module exists to avoid, never a missed change. A newer version in the cache
 * (someone else's edit) always wins, so drift is never hidden; entries also expire after a minute, and the
 * manager's sweep (`expire`) re-queues the namespace of any entry the cache never confirmed by then: a write made
 * while the watch was blind leaves no other trace.
 */
import type { KubernetesObject } from '@kubernetes/client-node';

interface Entry {
    obj: KubernetesObject | undefined;
    rv: bigint;
    at: number;
}

/** How long an own write may stay unconfirmed by the cache; also the period of the manager's `expire` sweep. */
export const TTL_MS = 60_000;

/** An overlay entry the cache never confirmed (see `expire`). */
export interface Unconfirmed {
    kind: string;
    /** '' for cluster-scoped objects (the Namespace label write). */
    namespace: string;
    name: string;
}

function rvOf(obj: KubernetesObject | undefined): bigint | undefined {
    const rv = obj?.metadata?.resourceVersion;
    if (!rv || !/^\d+$/.test(rv)) return undefined;
    return BigInt(rv);
}

/** The informer cache's copy of an object ('' namespace for cluster-scoped kinds), if it holds one. */
export type CachedLookup = (kind: string, namespace: string, name: string) => KubernetesObject | undefined;

/** A write that has been sent and not answered yet, and the newest watch event seen for its object meanwhile. */
interface InFlight {
    count: number;
    /** An event arrived while the write was pending (its version in `seen`, if it parsed). */
    evented: boolean;
    seen?: bigint;
}

/** Called when an event held back during a pending write turns out not to be that write's echo. */
export type MissedEvent = (kind: string, namespace: string, name: string) => void;

export class RecentWrites {
    /** kind → namespace ('' for cluster-scoped) → name → entry */
    #m = new Map<string, Map<string, Map<string, Entry>>>();
    /** `kind\0namespace\0name` of writes sent and not answered yet. */
    #inFlight = new Map<string, InFlight>();
    #missed: MissedEvent | undefined;
    #now: () => number;
    #cached: CachedLookup | undefined;
    #lastSweep = 0;
    /** Writes not recorded because the watch had already brought them into the cache (`written`). */
    #alreadyCached = 0;

    /**
     * `cached` lets `written` skip a write whose watch event arrived before its response did: under load the
     * API server's watch often delivers an object before the POST that created it returns, and an entry for it
     * would then never be confirmed by an echo; at a 10,000-namespace converge such entries held about 25 MiB
     * for their minute (the live heap rose from 60 to 87 MiB right after the burst).
     */
    constructor(now: () => number = Date.now, cached?: CachedLookup, missed?: MissedEvent) {
        this.#now = now;
        this.#cached = cached;
        this.#missed = missed;
    }

    /**
     * A write of this object is being sent. Until `end`, a watch event for it is held back (`confirmEcho` says
     * echo): under load the watch often delivers the operator's own write before the write's response, and each
     * such event used to wake a reconcile of the namespace that could only find everything in place (about 6,600
     * of them in a 10,000-namespace converge). `end` compares the version held back with the one the write
     * returned and reports any other change through `missed`, so nobody else's edit is ever dropped.
     */
    begin(kind: string, namespace: string, name: string): void {
        const key = `${kind}\0${namespace}\0${name}`;
        const f = this.#inFlight.get(key);
        if (f) f.count++;
        else this.#inFlight.set(key, { count: 1, evented: false });
    }

    /**
     * The write begun with `begin` was answered: `obj` is the object it returned (recorded as by `written`), or
     * undefined when it failed. An event held back meanwhile that was not exactly this version goes to `missed`.
     */
    end(kind: string, namespace: string, name: string, obj?: KubernetesObject): void {
        const key = `${kind}\0${namespace}\0${name}`;
        const f = this.#inFlight.get(key);
        if (obj) this.written(kind, obj);
        if (!f) return;
        if (--f.count > 0) return; // the last pending write of this object decides
        this.#inFlight.delete(key);
        if (!f.evented) return;
        const rv = rvOf(obj);
        if (rv === undefined || f.seen !== rv) this.#missed?.(kind, namespace, name);
    }

    #bucket(kind: string, namespace: string, create: boolean): Map<string, Entry> | undefined {
        let byNs = this.#m.get(kind);
        if (!byNs) {
            if (!create) return undefined;
            byNs = new Map();
            this.#m.set(kind, byNs);
        }
        let b = byNs.get(namespace);
        if (!b && create) {
            b = new Map();
            byNs.set(namespace, b);
        }
        return b;
    }

    /** Drops expired entries of namespaces no reconcile read again (bounded memory). */
    #sweep(): void {
        const now = this.#now();
        if (now - this.#lastSweep < TTL_MS) return;
        this.#lastSweep = now;
        for (const byNs of this.#m.values()) {
            for (const [ns, b] of byNs) {
                for (const [name, e] of b) if (now - e.at > TTL_MS) b.delete(name);
                if (b.size === 0) byNs.delete(ns);
            }
        }
    }

    /**
     * Drops every entry older than the TTL and returns those the cache never confirmed: a write whose version (or
     * a newer one) the cache does not hold, or a delete of an object the cache still shows at that version. Such a
     * write happened while the watch was blind (refused, cut, expired and relisted): the relist cannot show its
     * deletion as an event, because the stale cache never held it, and the overlay would otherwise be the only
     * record of it. The manager re-queues their namespaces (docs/reliability.md, "watch expiry").
     */
    expire(
        cached: (kind: string, namespace: string, name: string) => KubernetesObject | undefined,
    ): Unconfirmed[] {
        const now = this.#now();
        const out: Unconfirmed[] = [];
        for (const [kind, byNs] of this.#m) {
            for (const [ns, b] of byNs) {
                for (const [name, e] of b) {
                    if (now - e.at <= TTL_MS) continue;
                    b.delete(name);
                    const cacheRv = rvOf(cached(kind, ns, name));
                    const confirmed =
                        e.obj === undefined
                            ? cacheRv === undefined || cacheRv > e.rv
                            : cacheRv !== undefined && cacheRv >= e.rv;
                    if (!confirmed) out.push({ kind, namespace: ns, name });
                }
                if (b.size === 0) byNs.delete(ns);
            }
        }
        return out;
    }

    /**
     * Records the object a write returned, unless the cache already shows this version or a newer one (its watch
     * event came first): then there is nothing to lay over the cache and no echo left to recognise.
     */
    written(kind: string, obj: KubernetesObject): void {
        this.#sweep();
        const rv = rvOf(obj);
        const name = obj.metadata?.name;
        if (rv === undefined || !name) return;
        const ns = obj.metadata?.namespace ?? '';
        const cacheRv = this.#cached ? rvOf(this.#cached(kind, ns, name)) : undefined;
        if (cacheRv !== undefined && cacheRv >= rv) {
            this.#alreadyCached++;
            return;
        }
        this.#bucket(kind, ns, true)!.set(name, { obj, rv, at: this.#now() });
    }

    /** How many writes `written` did not record because the cache already held them. */
    get alreadyCached(): number {
        return this.#alreadyCached;
    }

    /** Records a delete of the version the cache showed (`deleted`). */
    deleted(kind: string, deleted: KubernetesObject): void {
        this.#sweep();
        const rv = rvOf(deleted);
        const name = deleted.metadata?.name;
        if (rv === undefined || !name) return;
        this.#bucket(kind, deleted.metadata?.namespace ?? '', true)!.set(name, {
            obj: undefined,
            rv,
            at: this.#now(),
        });
    }

    /**
     * The watch saw `obj` deleted. A delete at or after the version one of our writes returned means that write is
     * gone: drop its entry, or the overlay would show the object for the rest of its minute while the cache, which
     * may never have held our version, shows nothing; the namespace would look converged until the resync.
     */
    deleteSeen(kind: string, obj: KubernetesObject): void {
        const name = obj.metadata?.name;
        const b = name ? this.#bucket(kind, obj.metadata?.namespace ?? '', false) : undefined;
        const e = name ? b?.get(name) : undefined;
        const rv = rvOf(obj);
        if (e?.obj !== undefined && rv !== undefined && rv >= e.rv) b!.delete(name!);
    }

    /**
     * The watch brought `obj` into the cache (the cache is updated before handlers run). An own write it confirms
     * (this version or a newer one) is forgotten now: the cache shows it, and the entry would otherwise hold the
     * returned object for the rest of its minute (a converge writes thousands per minute). True when `obj` is
     * exactly the version one of our writes returned: the echo of our own write, which needs no reconcile.
     * Someone else's change has another resourceVersion and is never an echo.
     */
    confirmEcho(kind: string, obj: KubernetesObject): boolean {
        const name = obj.metadata?.name;
        const ns = obj.metadata?.namespace ?? '';
        const rv = rvOf(obj);
        const pending = name ? this.#inFlight.get(`${kind}\0${ns}\0${name}`) : undefined;
        if (pending) {
            // Decided when the write is answered (`end`); the newest version seen is what counts.
            pending.evented = true;
            if (rv !== undefined && (pending.seen === undefined || rv > pending.seen)) pending.seen = rv;
            return true;
        }
        const b = name ? this.#bucket(kind, ns, false) : undefined;
        const e = name ? b?.get(name) : undefined;
        if (e?.obj === undefined || rv === undefined || rv < e.rv) return false;
        b!.delete(name!);
        if (b!.size === 0) this.#m.get(kind)?.delete(ns);
        return rv === e.rv;
    }

    /** The cache's objects of one kind and namespace, with newer own writes laid over them. */
    merge<T extends KubernetesObject>(kind: string, namespace: string, cached: readonly T[]): T[] {
        const b = this.#bucket(kind, namespace, false);
        if (!b || b.size === 0) return [...cached];
        const byName = new Map<string, T>();
        for (const o of cached) byName.set(o.metadata?.name ?? '', o);
        const now = this.#now();
        for (const [name, e] of b) {
            const cur = byName.get(name);
            const cacheRv = rvOf(cur);
            const fresh =
                e.obj === undefined
                    ? cacheRv !== undefined && cacheRv > e.rv
                    : cacheRv !== undefined && cacheRv >= e.rv;
            if (fresh || now - e.at > TTL_MS || (e.obj === undefined && cur === undefined)) {
                b.delete(name); // the cache caught up (or the entry is too old to trust)
                continue;
            }
            if (e.obj === undefined) byName.delete(name);
            else byName.set(name, e.obj as T);
        }
        return [...byName.values()];
    }

    /** One object: the cached one unless an own write is newer. */
    get<T extends KubernetesObject>(
        kind: string,
        namespace: string,
        name: string,
        cached: T | undefined,
    ): T | undefined {
        const b = this.#bucket(kind, namespace, false);
        if (!b?.has(name)) return cached;
        return this.merge(kind, namespace, cached ? [cached] : []).find((o) => o.metadata?.name === name);
    }

    get size(): number {
        let n = 0;
        for (const byNs of this.#m.values()) for (const b of byNs.values()) n += b.size;
        return n;
    }
}
