import assert from 'node:assert/strict';
import type {
    ErrorCallback,
    KubernetesListObject,
    KubernetesObject,
    ListPromise,
    ObjectCallback,
} from '@kubernetes/client-node';
import { FakeClock, flush } from '../../support/fake-clock.ts';
import {
    type CachedInformer,
    type InformerFactoryArgs,
    type SelectorOptions,
    SupervisedInformer,
    type SupervisedInformerOptions,
} from '../../../src/runtime/informer.ts';

type Obj = KubernetesObject;
type Cb = (arg?: unknown) => void;

function obj(name: string, rv: string, namespace?: string): Obj {
    return {
        apiVersion: 'v1',
        kind: 'Thing',
        metadata: { name, resourceVersion: rv, ...(namespace ? { namespace } : {}) },
    };
}

/**
 * A stand-in for client-node's ListWatch with the same observable contract: start() lists through listFn, fills
 * the cache and emits add for each item; any failure fires `error` and it stops for good; stop() fires `error`
 * with an AbortError.
 */
class FakeInformer implements CachedInformer<Obj> {
    readonly cache = new Map<string, Obj>();
    readonly cbs: Record<string, Cb[]> = { add: [], update: [], delete: [], error: [], connect: [] };
    started = 0;
    stopped = false;
    rv = '';
    readonly args: InformerFactoryArgs<Obj>;
    readonly listFn: ListPromise<Obj>;
    constructor(args: InformerFactoryArgs<Obj>) {
        this.args = args;
        this.listFn = args.listFn;
    }
    on(verb: string, cb: ObjectCallback<Obj> | ErrorCallback): void {
        this.cbs[verb]?.push(cb as Cb);
    }
    off(): void {}
    async start(): Promise<void> {
        this.started++;
        const resume = this.args.resume;
        if (resume) {
            for (const o of resume.items) this.cache.set(key(o), o);
            this.rv = resume.resourceVersion;
            await Promise.resolve();
            this.args.onWatching?.();
            return;
        }
        await this.relist();
    }
    /** LIST (first, or after 410), replacing the cache and emitting adds, updates and deletes as ListWatch does. */
    async relist(): Promise<void> {
        this.rv = '';
        let list: KubernetesListObject<Obj>;
        try {
            list = await this.listFn();
        } catch (err) {
            this.fire('error', err);
            return;
        }
        const fresh = new Set(list.items.map(key));
        for (const o of [...this.cache.values()]) {
            if (!fresh.has(key(o))) {
                this.cache.delete(key(o));
                this.fire('delete', o);
            }
        }
        for (const o of list.items) {
            const before = this.cache.get(key(o));
            this.cache.set(key(o), o);
            if (!before) this.fire('add', o);
            else if (before.metadata?.resourceVersion !== o.metadata?.resourceVersion) this.fire('update', o);
        }
        this.rv = list.metadata?.resourceVersion ?? '';
    }
    latestResourceVersion(): string {
        return this.rv;
    }
    /** A BOOKMARK: only the position moves. */
    bookmark(rv: string): void {
        this.rv = rv;
    }
    stop(): Promise<void> {
        if (!this.stopped) {
            this.stopped = true;
            this.fire('error', new DOMException('This operation was aborted', 'AbortError'));
        }
        return Promise.resolve();
    }
    get(name: string, namespace?: string): Obj | undefined {
        return this.cache.get(`${namespace ?? ''}/${name}`);
    }
    size(): number {
        return this.cache.size;
    }
    list(namespace?: string): ReadonlyArray<Obj> {
        return [...this.cache.values()].filter(
            (o) => namespace === undefined || o.metadata?.namespace === namespace,
        );
    }
    fire(verb: string, arg: unknown): void {
        for (const cb of this.cbs[verb] ?? []) cb(arg);
    }
    /** A watch event. */
    watch(type: 'add' | 'update' | 'delete', o: Obj): void {
        if (type === 'delete') this.cache.delete(key(o));
        else this.cache.set(key(o), o);
        this.rv = o.metadata?.resourceVersion ?? this.rv;
        this.fire(type, o);
    }
}

function key(o: Obj): string {
    return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

function setup(over: Partial<SupervisedInformerOptions<Obj>> = {}) {
    const clock = new FakeClock();
    const instances: FakeInformer[] = [];
    const listCalls: SelectorOptions[] = [];
    let server: Obj[] = [];
    let serverRV: string | undefined;
    let failList: Error | undefined;
    const relists: string[] = [];
    const events: string[] = [];
    const down: { err: unknown; delay: number }[] = [];
    let ups = 0;
    const inf = new SupervisedInformer<Obj>({
        name: 'things',
        clock,
        random: () => 0.5,
        list: (opts) => {
            listCalls.push(opts);
            if (failList) return Promise.reject(failList);
            return Promise.resolve({
                items: [...server],
                ...(serverRV ? { metadata: { resourceVersion: serverRV } } : {}),
            });
        },
        factory: (args) => {
            const f = new FakeInformer(args);
            instances.push(f);
            return f;
        },
        handlers: {
            onAdd: (o) => events.push(`add ${o.metadata?.name}`),
            onUpdate: (o) => events.push(`update ${o.metadata?.name}`),
            onDelete: (o) => events.push(`delete ${o.metadata?.name}`),
        },
        hooks: {
            onUp: () => ups++,
            onDown: (err, delay) => down.push({ err, delay }),
            onRelist: (reason) => relists.push(reason),
        },
        ...over,
    });
    return {
        inf,
        clock,
        instances,
        listCalls,
        events,
        down,
        ups: () => ups,
        relists,
        setServer: (objs: Obj[], rv?: string) => {
            server = objs;
            serverRV = rv;
        },
        setFailList: (e: Error | undefined) => (failList = e),
    };
}

describe('runtime/informer supervisor', () => {
    it('is synced only after the first successful list is in the cache, and emits adds', async () => {
        const t = setup();
        t.setServer([obj('a', '1'), obj('b', '2', 'ns1')]);
        assert.equal(t.inf.synced(), false);
        const wait = t.inf.waitForSync();
        t.inf.start();
        await wait;
        assert.equal(t.inf.synced(), true);
        assert.equal(t.inf.up(), true);
        assert.deepEqual(t.events, ['add a', 'add b']);
        assert.equal(t.inf.list().length, 2);
        assert.equal(t.inf.list('ns1').length, 1);
        assert.equal(t.inf.get('b', 'ns1')?.metadata?.resourceVersion, '2');
        assert.equal(t.ups(), 1);
    });

    it('passes the label and field selectors to both the list call and the watch', async () => {
        const t = setup({
            labelSelector: 'app.kubernetes.io/managed-by=x',
            fieldSelector: 'metadata.name=a',
        });
        t.inf.start();
        await t.inf.waitForSync();
        assert.deepEqual(t.listCalls[0], {
            labelSelector: 'app.kubernetes.io/managed-by=x',
            fieldSelector: 'metadata.name=a',
        });
        assert.equal(t.instances[0]?.args.labelSelector, 'app.kubernetes.io/managed-by=x');
        assert.equal(t.instances[0]?.args.fieldSelector, 'metadata.name=a');
    });

    it('restarts after a failed initial list with jittered backoff, then syncs', async () => {
        const t = setup();
        t.setFailList(Object.assign(new Error('Internal Server Error'), { code: 500 }));
        t.inf.start();
        await flush();
        assert.equal(t.inf.synced(), false);
        assert.equal(t.down.length, 1);
        assert.equal(t.down[0]?.delay, 500, 'random 0.5 x cap 1 s');
        t.setFailList(undefined);
        t.setServer([obj('a', '1')]);
        await t.clock.advanceAsync(499);
        assert.equal(t.instances.length, 1);
        await t.clock.advanceAsync(1);
        assert.equal(t.instances.length, 2, 'a fresh informer is started');
        await t.inf.waitForSync();
        assert.equal(t.inf.restarts(), 1);
        assert.deepEqual(t.events, ['add a']);
    });

    it('grows the backoff cap exponentially up to the maximum (full jitter)', async () => {
        const t = setup({ random: () => 0.999999 });
        t.setFailList(new Error('down'));
        t.inf.start();
        await flush();
        for (let i = 0; i < 8; i++) {
            const d = t.down.at(-1)?.delay ?? 0;
            await t.clock.advanceAsync(d);
        }
        const delays = t.down.map((d) => d.delay);
        assert.deepEqual(delays.slice(0, 8), [999, 1999, 3999, 7999, 15999, 29999, 29999, 29999]);
    });

    it('ignores the error fired by its own stop and never restarts after stop()', async () => {
        const t = setup();
        t.inf.start();
        await t.inf.waitForSync();
        await t.inf.stop();
        assert.equal(t.instances[0]?.stopped, true);
        await t.clock.advanceAsync(120_000);
        assert.equal(t.instances.length, 1);
        assert.equal(t.down.length, 0);
    });

    it('cancels a pending restart on stop()', async () => {
        const t = setup();
        t.setFailList(new Error('x'));
        t.inf.start();
        await flush();
        assert.equal(t.clock.pendingTimers(), 1);
        await t.inf.stop();
        assert.equal(t.clock.pendingTimers(), 0);
        await assert.rejects(t.inf.waitForSync(), { name: 'AbortError' });
    });

    it('rejects waitForSync when the signal aborts', async () => {
        const t = setup();
        t.setFailList(new Error('x'));
        t.inf.start();
        const ac = new AbortController();
        const p = t.inf.waitForSync(ac.signal);
        ac.abort();
        await assert.rejects(p, { name: 'AbortError' });
        await t.inf.stop();
    });

    it('after a watch error with no position to resume from, re-lists and emits only the difference', async () => {
        const t = setup();
        t.setServer([obj('keep', '1'), obj('change', '1'), obj('gone', '1')]);
        t.inf.start();
        await t.inf.waitForSync();
        t.events.length = 0;
        const first = t.instances[0] as FakeInformer;
        first.fire('error', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
        assert.equal(t.inf.up(), false);
        // While down, the server changes and the stale cache keeps serving.
        t.setServer([obj('keep', '1'), obj('change', '2'), obj('new', '1')]);
        assert.equal(t.inf.list().length, 3);
        await t.clock.advanceAsync(t.down[0]?.delay ?? 0);
        await flush();
        assert.equal(t.instances.length, 2);
        assert.deepEqual(t.events.sort(), ['add new', 'delete gone', 'update change']);
        assert.deepEqual(
            t.inf
                .list()
                .map((o) => o.metadata?.name)
                .sort(),
            ['change', 'keep', 'new'],
        );
        assert.equal(t.inf.up(), true);
        // Events of the new instance now reach the handlers.
        t.events.length = 0;
        (t.instances[1] as FakeInformer).watch('delete', obj('keep', '1'));
        assert.deepEqual(t.events, ['delete keep']);
    });

    it('ignores late events and errors from a replaced informer', async () => {
        const t = setup();
        t.inf.start();
        await t.inf.waitForSync();
        const first = t.instances[0] as FakeInformer;
        first.fire('error', new Error('boom'));
        first.fire('error', new Error('again'));
        assert.equal(t.down.length, 1);
        await t.clock.advanceAsync(t.down[0]?.delay ?? 0);
        await flush();
        t.events.length = 0;
        first.fire('add', obj('zombie', '9'));
        assert.deepEqual(t.events, []);
    });

    it('resets the backoff after the informer stayed up long enough', async () => {
        const t = setup({ random: () => 0.999999, backoff: { resetAfterMs: 10_000 } });
        t.inf.start();
        await t.inf.waitForSync();
        (t.instances[0] as FakeInformer).fire('error', new Error('1'));
        await t.clock.advanceAsync(999);
        await flush();
        (t.instances[1] as FakeInformer).fire('error', new Error('2'));
        assert.equal(t.down[1]?.delay, 1999, 'flapping: the cap grows');
        await t.clock.advanceAsync(1999);
        await flush();
        await t.clock.advanceAsync(10_000);
        (t.instances[2] as FakeInformer).fire('error', new Error('3'));
        assert.equal(t.down[2]?.delay, 999, 'stable for 10 s: back to the initial cap');
    });

    it('restarts when start() itself rejects', async () => {
        let calls = 0;
        const t2 = setup({
            factory: (args) => {
                calls++;
                const f = new FakeInformer(args);
                if (calls === 1) f.start = () => Promise.reject(new Error('No currently active cluster'));
                return f;
            },
        });
        t2.inf.start();
        await flush();
        assert.equal(t2.down.length, 1);
        await t2.clock.advanceAsync(t2.down[0]?.delay ?? 0);
        await t2.inf.waitForSync();
        assert.equal(calls, 2);
    });

    it('reports a throwing handler without breaking the informer', async () => {
        const errors: unknown[] = [];
        const t = setup({
            handlers: {
                onAdd: () => {
                    throw new Error('handler bug');
                },
            },
            hooks: { onHandlerError: (e) => errors.push(e) },
        });
        t.setServer([obj('a', '1'), obj('b', '1')]);
        t.inf.start();
        await t.inf.waitForSync();
        assert.equal(errors.length, 2);
        assert.equal(t.inf.list().length, 2);
    });

    describe('watch position', () => {
        it('after a watch error, resumes from the last resourceVersion seen (event or bookmark) without a LIST', async () => {
            const t = setup();
            t.setServer([obj('a', '10'), obj('b', '10')], '10');
            t.inf.start();
            await t.inf.waitForSync();
            const first = t.instances[0] as FakeInformer;
            first.watch('update', obj('a', '11'));
            first.bookmark('15');
            assert.equal(t.inf.latestResourceVersion(), '15');
            t.events.length = 0;
            first.fire('error', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
            assert.equal(t.inf.up(), false);
            await t.clock.advanceAsync(t.down[0]?.delay ?? 0);
            await flush();
            const second = t.instances[1] as FakeInformer;
            assert.equal(second.args.resume?.resourceVersion, '15');
            assert.deepEqual(
                second.args.resume?.items
                    .map((o) => `${o.metadata?.name}@${o.metadata?.resourceVersion}`)
                    .sort(),
                ['a@11', 'b@10'],
            );
            assert.equal(t.listCalls.length, 1, 'no second LIST');
            assert.deepEqual(t.relists, []);
            assert.equal(t.inf.up(), true, 'up once the resumed watch is accepted');
            assert.equal(t.ups(), 2);
            assert.deepEqual(t.events, [], 'nothing re-emitted: the cache is carried over');
            assert.equal(t.inf.get('a')?.metadata?.resourceVersion, '11');
            // The resumed instance's events reach the handlers at once.
            second.watch('delete', obj('b', '16'));
            assert.deepEqual(t.events, ['delete b']);
            assert.equal(t.inf.list().length, 1);
        });

        it('keeps the position across restarts that fail again (API server still down)', async () => {
            const t = setup();
            t.setServer([obj('a', '10')], '10');
            t.inf.start();
            await t.inf.waitForSync();
            (t.instances[0] as FakeInformer).bookmark('20');
            (t.instances[0] as FakeInformer).fire('error', new Error('ECONNREFUSED'));
            await t.clock.advanceAsync(t.down[0]?.delay ?? 0);
            await flush();
            (t.instances[1] as FakeInformer).fire('error', new Error('ECONNREFUSED'));
            await t.clock.advanceAsync(t.down[1]?.delay ?? 0);
            await flush();
            assert.equal((t.instances[2] as FakeInformer).args.resume?.resourceVersion, '20');
            assert.equal(t.listCalls.length, 1);
        });

        it('a 410 Gone relists once and counts it as expired; the difference reaches the handlers', async () => {
            const t = setup();
            t.setServer([obj('a', '10'), obj('gone', '10')], '10');
            t.inf.start();
            await t.inf.waitForSync();
            t.events.length = 0;
            t.setServer([obj('a', '30'), obj('new', '30')], '30');
            await (t.instances[0] as FakeInformer).relist();
            await flush();
            assert.deepEqual(t.relists, ['expired']);
            assert.equal(t.listCalls.length, 2);
            assert.deepEqual(t.events.sort(), ['add new', 'delete gone', 'update a']);
            assert.equal(t.inf.latestResourceVersion(), '30');
            assert.equal(t.instances.length, 1, 'no restart');
        });

        it('a resumed instance whose position is gone relists (expired), once', async () => {
            const t = setup();
            t.setServer([obj('a', '10')], '10');
            t.inf.start();
            await t.inf.waitForSync();
            (t.instances[0] as FakeInformer).fire('error', new Error('ECONNRESET'));
            await t.clock.advanceAsync(t.down[0]?.delay ?? 0);
            await flush();
            t.setServer([obj('a', '40')], '40');
            await (t.instances[1] as FakeInformer).relist();
            await flush();
            assert.deepEqual(t.relists, ['expired']);
            assert.equal(t.inf.get('a')?.metadata?.resourceVersion, '40');
        });

        it('relists when the API server refused a resumed watch with an HTTP error (suspect position)', async () => {
            let calls = 0;
            const t = setup({
                factory: (args) => {
                    calls++;
                    const f = new FakeInformer(args);
                    // The resumed instance's watch is refused before it is accepted (e.g. 504 too large RV).
                    if (calls === 2)
                        f.start = () => {
                            f.fire('error', Object.assign(new Error('Gateway Timeout'), { statusCode: 504 }));
                            return Promise.resolve();
                        };
                    t.instances.push(f);
                    return f;
                },
            });
            t.setServer([obj('a', '10')], '10');
            t.inf.start();
            await t.inf.waitForSync();
            (t.instances[0] as FakeInformer).fire('error', new Error('ECONNRESET'));
            await t.clock.advanceAsync(t.down[0]?.delay ?? 0);
            await flush();
            assert.equal((t.instances[1] as FakeInformer).args.resume?.resourceVersion, '10');
            await t.clock.advanceAsync(t.down[1]?.delay ?? 0);
            await flush();
            assert.equal((t.instances[2] as FakeInformer).args.resume, undefined, 'lists instead');
            assert.deepEqual(t.relists, ['restart']);
        });

        it('a restart with no position to resume from relists and counts it as restart', async () => {
            const t = setup();
            t.setServer([obj('a', '1')]); // a list without a resourceVersion gives no position
            t.inf.start();
            await t.inf.waitForSync();
            assert.deepEqual(t.relists, [], 'the first LIST is not a relist');
            (t.instances[0] as FakeInformer).fire('error', new Error('boom'));
            await t.clock.advanceAsync(t.down[0]?.delay ?? 0);
            await flush();
            assert.equal((t.instances[1] as FakeInformer).args.resume, undefined);
            assert.deepEqual(t.relists, ['restart']);
        });

        it('failed first LISTs are not counted as relists', async () => {
            const t = setup();
            t.setFailList(new Error('down'));
            t.inf.start();
            await flush();
            t.setFailList(undefined);
            await t.clock.advanceAsync(t.down[0]?.delay ?? 0);
            await t.inf.waitForSync();
            assert.deepEqual(t.relists, []);
        });
    });
});
