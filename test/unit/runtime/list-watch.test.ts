import assert from 'node:assert/strict';
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { FakeClock, flush } from '../../support/fake-clock.ts';
import {
    isExpired,
    ResumableListWatch,
    type ResumableListWatchOptions,
    type WatchClient,
} from '../../../src/runtime/list-watch.ts';

type Obj = KubernetesObject;
type Query = Record<string, string | number | boolean | undefined>;

function obj(name: string, rv: string, namespace?: string): Obj {
    return { metadata: { name, resourceVersion: rv, ...(namespace ? { namespace } : {}) } };
}

interface WatchCall {
    path: string;
    query: Query;
    onEvent: (phase: string, obj: unknown) => void;
    done: (err: unknown) => void;
    controller: AbortController;
}

/** Records every watch request; the test plays the API server through `onEvent` and `done`. */
class FakeWatch implements WatchClient {
    readonly calls: WatchCall[] = [];
    /** When set, the next request fails like client-node's Watch does on a non-200 answer. */
    failNext: unknown;
    watch(
        path: string,
        query: Query,
        onEvent: (phase: string, obj: unknown) => void,
        done: (err: unknown) => void,
    ): Promise<AbortController> {
        const controller = new AbortController();
        this.calls.push({ path, query, onEvent, done, controller });
        if (this.failNext !== undefined) {
            const err = this.failNext;
            this.failNext = undefined;
            done(err);
        }
        return Promise.resolve(controller);
    }
    last(): WatchCall {
        const c = this.calls.at(-1);
        if (!c) throw new Error('no watch request yet');
        return c;
    }
    rvs(): unknown[] {
        return this.calls.map((c) => c.query.resourceVersion);
    }
}

function setup(over: Partial<ResumableListWatchOptions<Obj>> = {}) {
    const clock = new FakeClock();
    const watch = new FakeWatch();
    let server: { items: Obj[]; rv: string } = { items: [], rv: '1' };
    let lists = 0;
    let listError: Error | undefined;
    const events: string[] = [];
    const errors: unknown[] = [];
    let watching = 0;
    const lw = new ResumableListWatch<Obj>({
        path: '/api/v1/configmaps',
        watch,
        clock,
        watchTimeoutSeconds: () => 7,
        onWatching: () => watching++,
        listFn: () => {
            lists++;
            if (listError) return Promise.reject(listError);
            const list: KubernetesListObject<Obj> = {
                items: [...server.items],
                metadata: { resourceVersion: server.rv },
            };
            return Promise.resolve(list);
        },
        ...over,
    });
    lw.on('add', (o) => events.push(`add ${o.metadata?.name}`));
    lw.on('update', (o) => events.push(`update ${o.metadata?.name}`));
    lw.on('delete', (o) => events.push(`delete ${o.metadata?.name}`));
    lw.on('error', (e) => errors.push(e));
    return {
        lw,
        clock,
        watch,
        events,
        errors,
        lists: () => lists,
        watching: () => watching,
        setServer: (items: Obj[], rv: string) => (server = { items, rv }),
        setListError: (e: Error | undefined) => (listError = e),
    };
}

describe('runtime/list-watch', () => {
    it('lists once, then watches from the list resourceVersion asking for bookmarks and a server timeout', async () => {
        const t = setup({ labelSelector: 'a=b', fieldSelector: 'metadata.name=x' });
        t.setServer([obj('a', '5')], '9');
        await t.lw.start();
        assert.equal(t.lists(), 1);
        assert.deepEqual(t.events, ['add a']);
        assert.deepEqual(t.watch.last().query, {
            resourceVersion: '9',
            allowWatchBookmarks: true,
            timeoutSeconds: 7,
            labelSelector: 'a=b',
            fieldSelector: 'metadata.name=x',
        });
        assert.equal(t.watch.last().path, '/api/v1/configmaps');
        assert.equal(t.watching(), 1);
    });

    it('re-opens each ended watch at the last resourceVersion of an event or a bookmark, never listing again', async () => {
        const t = setup();
        t.setServer([], '10');
        await t.lw.start();
        t.watch.last().onEvent('ADDED', obj('a', '11'));
        t.watch.last().onEvent('MODIFIED', obj('a', '12'));
        t.watch.last().done(null); // the server's timeoutSeconds ended the watch
        await flush();
        t.watch.last().onEvent('BOOKMARK', { kind: 'ConfigMap', metadata: { resourceVersion: '20' } });
        t.watch.last().done(null);
        await flush();
        t.watch.last().onEvent('DELETED', obj('a', '21'));
        t.watch.last().done(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
        await flush();
        t.watch.last().onEvent('BOOKMARK', { metadata: { resourceVersion: '35' } });
        t.watch.last().done(null);
        await flush();
        assert.deepEqual(t.watch.rvs(), ['10', '12', '20', '21', '35']);
        assert.equal(t.lists(), 1);
        assert.deepEqual(t.events, ['add a', 'update a', 'delete a'], 'bookmarks emit nothing');
        assert.deepEqual(t.errors, []);
        assert.equal(t.lw.latestResourceVersion(), '35');
    });

    for (const [what, end] of [
        [
            'an ERROR event "too old resource version" (410 Expired)',
            (t: ReturnType<typeof setup>) => {
                t.watch.last().onEvent('ERROR', {
                    kind: 'Status',
                    status: 'Failure',
                    message: 'too old resource version: 10 (25)',
                    reason: 'Expired',
                    code: 410,
                });
                t.watch.last().done(null);
            },
        ],
        [
            'an HTTP 410 Gone answer',
            (t: ReturnType<typeof setup>) =>
                t.watch.last().done(Object.assign(new Error('Gone'), { statusCode: 410 })),
        ],
    ] as const) {
        it(`relists exactly once after ${what}, emits the difference, and watches from the new list`, async () => {
            const t = setup();
            t.setServer([obj('keep', '3'), obj('change', '3'), obj('gone', '3')], '10');
            await t.lw.start();
            t.events.length = 0;
            t.setServer([obj('keep', '3'), obj('change', '24'), obj('new', '22')], '30');
            end(t);
            await flush();
            assert.equal(t.lists(), 2);
            assert.deepEqual(t.events.sort(), ['add new', 'delete gone', 'update change']);
            assert.deepEqual(t.watch.rvs(), ['10', '30']);
            assert.deepEqual(
                t.lw
                    .list()
                    .map((o) => o.metadata?.name)
                    .sort(),
                ['change', 'keep', 'new'],
            );
            assert.equal(t.lw.size(), 3);
            assert.deepEqual(t.errors, []);
        });
    }

    it('size() counts the cache through adds, updates, deletes and namespaces without walking it', async () => {
        const t = setup();
        t.setServer([obj('a', '3', 'n1'), obj('b', '3', 'n2')], '10');
        await t.lw.start();
        assert.equal(t.lw.size(), 2);
        t.watch.last().onEvent('ADDED', obj('a', '11', 'n2')); // same name, another namespace
        t.watch.last().onEvent('MODIFIED', obj('a', '12', 'n1')); // an update adds nothing
        t.watch.last().onEvent('ADDED', obj('c', '13', 'n1'));
        assert.equal(t.lw.size(), 4);
        t.watch.last().onEvent('DELETED', obj('c', '14', 'n1'));
        t.watch.last().onEvent('DELETED', obj('never-cached', '15', 'n1')); // not in the cache: no change
        t.watch.last().onEvent('DELETED', obj('b', '16', 'n2'));
        assert.equal(t.lw.size(), 2);
        assert.equal(t.lw.size(), t.lw.list().length);
    });

    it('an ERROR event other than 410 does not relist: the next watch resumes', async () => {
        const t = setup();
        t.setServer([], '10');
        await t.lw.start();
        t.watch.last().onEvent('BOOKMARK', { metadata: { resourceVersion: '12' } });
        t.watch.last().onEvent('ERROR', { kind: 'Status', code: 500, message: 'internal error' });
        t.watch.last().done(null);
        await flush();
        assert.equal(t.lists(), 1);
        assert.deepEqual(t.watch.rvs(), ['10', '12']);
    });

    it('any other watch failure fires error once and stops (the supervisor restarts it)', async () => {
        const t = setup();
        await t.lw.start();
        t.watch.last().done(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
        await flush();
        assert.equal(t.errors.length, 1);
        assert.equal(t.watch.calls.length, 1);
        const t2 = setup();
        t2.watch.failNext = Object.assign(new Error('Forbidden'), { statusCode: 403 });
        await t2.lw.start();
        assert.equal(t2.errors.length, 1);
        assert.equal(t2.watching(), 0, 'a refused watch is not reported as watching');
    });

    it('a failed LIST fires error and opens no watch', async () => {
        const t = setup();
        t.setListError(Object.assign(new Error('Internal Server Error'), { code: 500 }));
        await t.lw.start();
        assert.equal(t.errors.length, 1);
        assert.equal(t.watch.calls.length, 0);
    });

    it('resumes from a given cache and position without listing', async () => {
        const t = setup({ resume: { resourceVersion: '50', items: [obj('a', '40', 'ns1')] } });
        await t.lw.start();
        assert.equal(t.lists(), 0);
        assert.deepEqual(t.watch.rvs(), ['50']);
        assert.equal(t.lw.get('a', 'ns1')?.metadata?.resourceVersion, '40');
        assert.deepEqual(t.events, [], 'the carried-over cache is not re-emitted');
        t.watch.last().onEvent('DELETED', obj('a', '51', 'ns1'));
        assert.deepEqual(t.events, ['delete a']);
        assert.equal(t.lw.list('ns1').length, 0);
    });

    it('backs off before re-opening watches that end at once without any event', async () => {
        const t = setup();
        await t.lw.start();
        t.watch.last().done(null);
        await flush();
        assert.equal(t.watch.calls.length, 1, 'waits instead of re-opening at once');
        await t.clock.advanceAsync(999);
        assert.equal(t.watch.calls.length, 1);
        await t.clock.advanceAsync(1);
        assert.equal(t.watch.calls.length, 2);
        t.watch.last().done(null);
        await t.clock.advanceAsync(1999);
        assert.equal(t.watch.calls.length, 2, 'the wait doubles');
        await t.clock.advanceAsync(1);
        assert.equal(t.watch.calls.length, 3);
        // A watch that lasted delivers its events and resets the backoff.
        await t.clock.advanceAsync(5000);
        t.watch.last().onEvent('BOOKMARK', { metadata: { resourceVersion: '2' } });
        t.watch.last().done(null);
        await flush();
        assert.equal(t.watch.calls.length, 4);
    });

    it('stop() aborts the watch, fires no error, and nothing re-opens', async () => {
        const t = setup();
        await t.lw.start();
        const req = t.watch.last();
        await t.lw.stop();
        assert.equal(req.controller.signal.aborted, true);
        req.done(new DOMException('This operation was aborted', 'AbortError'));
        await flush();
        assert.deepEqual(t.errors, []);
        assert.equal(t.watch.calls.length, 1);
    });

    it('applies the transform to watched objects before caching them', async () => {
        const t = setup({
            transform: (o) => ({ ...o, metadata: { ...o.metadata, annotations: { trimmed: 'yes' } } }),
        });
        await t.lw.start();
        t.watch.last().onEvent('ADDED', obj('a', '2'));
        assert.equal(t.lw.get('a')?.metadata?.annotations?.trimmed, 'yes');
    });

    it('recognises expiry by code, reason or message', () => {
        assert.equal(isExpired({ code: 410 }), true);
        assert.equal(isExpired({ statusCode: 410 }), true);
        assert.equal(isExpired({ reason: 'Expired' }), true);
        assert.equal(isExpired({ message: 'too old resource version: 1 (5)' }), true);
        assert.equal(isExpired({ code: 500, message: 'etcdserver: request timed out' }), false);
        assert.equal(isExpired(null), false);
    });
});
