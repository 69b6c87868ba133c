/**
 * The benchmark's own Kubernetes client side (admin kubeconfig, 127.0.0.1 only): typed clients, a bounded worker
 * pool, fixture creation, and an arrival tracker that records when objects first appear through a watch.
 *
 * Design choice: timing is observed from outside the operator. Arrival of a generated object is taken from a
 * list+watch with the managed-by label selector (a watch adds no polling load on the API server the operator is
 * competing for, and its delivery delay is the same for every phase).
 */
import {
    CoreV1Api,
    CustomObjectsApi,
    KubeConfig,
    KubernetesObjectApi,
    ListWatch,
    NetworkingV1Api,
    RbacAuthorizationV1Api,
    Watch,
} from '@kubernetes/client-node';
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import PQueue from 'p-queue';

import { PooledKubeConfig } from '../src/runtime/kubeconfig.ts';
import { Requester } from '../src/runtime/request.ts';
import { namespaceObject, serviceAccountObjects } from './fixture.ts';

export interface Clients {
    kc: KubeConfig;
    core: CoreV1Api;
    net: NetworkingV1Api;
    rbac: RbacAuthorizationV1Api;
    custom: CustomObjectsApi;
    objects: KubernetesObjectApi;
    /** The operator's lean request path (src/runtime/request.ts) on the pool; only for pooled clients. */
    requester?: Requester;
    /** Closes the shared connection pool, if any. */
    close(): Promise<void>;
}

/**
 * Clients for a kubeconfig. `pooled` (the default) shares one connection pool across requests, as the operator
 * does (`PooledKubeConfig` from src/runtime/kubeconfig.ts); unpooled, client-node 2.0.1 opens a new TLS
 * connection per request (kept only for the secondary, reference baseline).
 */
export function clientsFor(kubeconfigPath: string, pooled = true): Clients {
    const kc = pooled ? new PooledKubeConfig() : new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    const server = kc.getCurrentCluster()?.server ?? '';
    if (!/^https?:\/\/127\.0\.0\.1:/.test(server))
        throw new Error(`refusing non-loopback API server ${server}`);
    return {
        kc,
        core: kc.makeApiClient(CoreV1Api),
        net: kc.makeApiClient(NetworkingV1Api),
        rbac: kc.makeApiClient(RbacAuthorizationV1Api),
        custom: kc.makeApiClient(CustomObjectsApi),
        objects: KubernetesObjectApi.makeApiClient(kc),
        ...(kc instanceof PooledKubeConfig
            ? { requester: new Requester(kc, { retryAfter: kc.retryAfter }) }
            : {}),
        close: async () => {
            if (kc instanceof PooledKubeConfig) await kc.closePool();
        },
    };
}

/** Milliseconds since the epoch with sub-millisecond resolution. */
export function nowMs(): number {
    return performance.timeOrigin + performance.now();
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs `fn` over `items` with at most `concurrency` in flight; rejects on the first failure or the deadline. */
export async function runPool<T>(
    items: readonly T[],
    concurrency: number,
    fn: (item: T) => Promise<void>,
    timeoutMs: number,
): Promise<void> {
    const queue = new PQueue({ concurrency });
    let failure: unknown;
    const deadline = setTimeout(() => {
        failure ??= new Error(`pool did not finish within ${timeoutMs} ms`);
        queue.clear();
    }, timeoutMs);
    try {
        for (const item of items) {
            void queue.add(async () => {
                if (failure) return;
                try {
                    await fn(item);
                } catch (err) {
                    failure ??= err;
                    queue.clear();
                }
            });
        }
        await queue.onIdle();
    } finally {
        clearTimeout(deadline);
    }
    if (failure) throw failure instanceof Error ? failure : new Error(JSON.stringify(failure));
}

/** Retries a request a few times on 429/5xx/connection errors (fixture creation only, never timed phases). */
export async function withRetry<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
    for (let i = 1; ; i++) {
        try {
            return await fn();
        } catch (err) {
            const code = (err as { code?: unknown }).code;
            const retriable = typeof code !== 'number' || code === 429 || code >= 500;
            if (!retriable || i >= attempts) throw err;
            await sleep(200 * i);
        }
    }
}

/** Creates the namespaces (and, with `serviceAccounts`, two SAs in each). 409 Already Exists is fine. */
export async function createNamespaces(
    c: Clients,
    names: readonly string[],
    opts: { run: string; member?: string; serviceAccounts: boolean; concurrency: number; timeoutMs: number },
): Promise<void> {
    const tolerate409 = async (p: () => Promise<unknown>) => {
        try {
            await withRetry(p);
        } catch (err) {
            if ((err as { code?: unknown }).code !== 409) throw err;
        }
    };
    await runPool(
        names,
        opts.concurrency,
        async (name) => {
            await tolerate409(() =>
                c.core.createNamespace({ body: namespaceObject(name, opts.run, opts.member) }),
            );
            if (!opts.serviceAccounts) return;
            for (const sa of serviceAccountObjects(name))
                await tolerate409(() => c.core.createNamespacedServiceAccount({ namespace: name, body: sa }));
        },
        opts.timeoutMs,
    );
}

/**
 * Records when each object matching a label selector (and `accept`) is first seen (initial list or watch event),
 * keyed by `key(obj)`. Restarts the list+watch with a fresh ListWatch after an error, at most `maxRestarts` times.
 * `reset()` forgets what was seen, so a tracker can run through the baseline (the same watch load as in the
 * operator's phase) and then time the operator from a clean slate.
 */
export class ArrivalTracker<T extends KubernetesObject> {
    readonly arrivals = new Map<string, number>();
    restarts = 0;
    #lw: ListWatch<T> | undefined;
    #stopped = false;
    #waiters = new Set<() => void>();
    readonly #make: () => ListWatch<T>;
    readonly #key: (o: T) => string;
    readonly #maxRestarts: number;
    readonly #accept: (o: T) => boolean;

    constructor(
        c: Clients,
        path: string,
        list: (labelSelector: string) => Promise<KubernetesListObject<T>>,
        labelSelector: string,
        key: (o: T) => string,
        accept: (o: T) => boolean = () => true,
        maxRestarts = 20,
    ) {
        this.#key = key;
        this.#accept = accept;
        this.#maxRestarts = maxRestarts;
        this.#make = () =>
            new ListWatch<T>(path, new Watch(c.kc), () => list(labelSelector), false, labelSelector);
    }

    async start(): Promise<void> {
        const lw = this.#make();
        this.#lw = lw;
        const onObj = (o: T) => {
            if (!this.#accept(o)) return;
            const k = this.#key(o);
            if (!this.arrivals.has(k)) {
                this.arrivals.set(k, nowMs());
                for (const w of this.#waiters) w();
            }
        };
        lw.on('add', onObj);
        lw.on('update', onObj);
        lw.on('error', () => {
            if (this.#stopped || this.#lw !== lw || this.restarts >= this.#maxRestarts) return;
            this.restarts++;
            setTimeout(() => void this.start(), 100);
        });
        await lw.start();
    }

    /** Forgets every arrival seen so far. */
    reset(): void {
        this.arrivals.clear();
    }

    /** Resolves true once `done()` holds, false at the timeout. */
    async waitUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
        if (done()) return true;
        return new Promise<boolean>((resolve) => {
            const finish = (ok: boolean) => {
                clearTimeout(timer);
                this.#waiters.delete(check);
                resolve(ok);
            };
            const check = () => {
                if (done()) finish(true);
            };
            const timer = setTimeout(() => finish(done()), timeoutMs);
            this.#waiters.add(check);
        });
    }

    async stop(): Promise<void> {
        this.#stopped = true;
        this.#waiters.clear();
        await this.#lw?.stop();
    }
}
