import assert from 'node:assert/strict';
import type { KubernetesObject } from '@kubernetes/client-node';

import { RecentWrites, TTL_MS } from '../../../src/controller/recent-writes.ts';

const obj = (name: string, rv: string, extra: Record<string, unknown> = {}): KubernetesObject => ({
    metadata: { name, namespace: 'ns', resourceVersion: rv },
    ...extra,
});

describe('RecentWrites (read-your-writes over the informer cache)', () => {
    it('shows an own write the cache has not seen yet', () => {
        const r = new RecentWrites();
        r.written('NetworkPolicy', obj('a', '10'));
        assert.deepEqual(
            r.merge<KubernetesObject>('NetworkPolicy', 'ns', []).map((o) => o.metadata?.name),
            ['a'],
        );
    });

    it('does not hold a write whose watch event the cache already holds (the event came before the response)', () => {
        const cache = new Map<string, KubernetesObject>([['NetworkPolicy/ns/a', obj('a', '10')]]);
        const r = new RecentWrites(Date.now, (kind, ns, name) => cache.get(`${kind}/${ns}/${name}`));
        r.written('NetworkPolicy', obj('a', '10'));
        assert.equal(r.size, 0);
        assert.equal(r.alreadyCached, 1);
        // A version the cache has not seen yet is held, and its echo is recognised as before.
        r.written('NetworkPolicy', obj('a', '11'));
        r.written('NetworkPolicy', obj('b', '12'));
        assert.equal(r.size, 2);
        assert.equal(r.alreadyCached, 1);
        assert.equal(r.confirmEcho('NetworkPolicy', obj('a', '11')), true);
        assert.equal(r.size, 1);
    });

    it('holds back watch events of an object while its write is pending, and reports only those that were not its echo', () => {
        const missed: string[] = [];
        const r = new RecentWrites(Date.now, undefined, (kind, ns, name) =>
            missed.push(`${kind} ${ns}/${name}`),
        );
        // The echo arrives before the response: held back, then matched by version: nothing to do.
        r.begin('NetworkPolicy', 'ns', 'a');
        assert.equal(r.confirmEcho('NetworkPolicy', obj('a', '10')), true);
        r.end('NetworkPolicy', 'ns', 'a', obj('a', '10'));
        // Someone else's change arrives while the write is pending: reported when the answer shows another version.
        r.begin('NetworkPolicy', 'ns', 'b');
        assert.equal(r.confirmEcho('NetworkPolicy', obj('b', '21')), true);
        r.end('NetworkPolicy', 'ns', 'b', obj('b', '20'));
        // An event during a write that failed is reported too.
        r.begin('RoleBinding', 'ns', 'c');
        assert.equal(r.confirmEcho('RoleBinding', obj('c', '30')), true);
        r.end('RoleBinding', 'ns', 'c');
        assert.deepEqual(missed, ['NetworkPolicy ns/b', 'RoleBinding ns/c']);
        // No event while pending: the write is held as before and its later echo recognised; nothing reported.
        r.begin('NetworkPolicy', 'ns', 'd');
        r.end('NetworkPolicy', 'ns', 'd', obj('d', '40'));
        assert.equal(r.confirmEcho('NetworkPolicy', obj('d', '40')), true);
        // Not pending any more: someone else's event is not an echo.
        assert.equal(r.confirmEcho('NetworkPolicy', obj('a', '50')), false);
        assert.equal(missed.length, 2);
    });

    it('lets the last of two pending writes of one object decide about the events held back meanwhile', () => {
        const missed: string[] = [];
        const r = new RecentWrites(Date.now, undefined, (kind, ns, name) =>
            missed.push(`${kind} ${ns}/${name}`),
        );
        r.begin('Namespace', '', 'n');
        r.begin('Namespace', '', 'n');
        assert.equal(r.confirmEcho('Namespace', { metadata: { name: 'n', resourceVersion: '7' } }), true);
        r.end('Namespace', '', 'n', { metadata: { name: 'n', resourceVersion: '7' } });
        assert.deepEqual(missed, [], 'one write is still pending');
        assert.equal(r.confirmEcho('Namespace', { metadata: { name: 'n', resourceVersion: '9' } }), true);
        r.end('Namespace', '', 'n', { metadata: { name: 'n', resourceVersion: '8' } });
        assert.deepEqual(missed, ['Namespace /n']);
        assert.equal(r.confirmEcho('Namespace', { metadata: { name: 'n', resourceVersion: '10' } }), false);
    });

    it('prefers a newer cached version (someone else edited it) and forgets the entry once the cache caught up', () => {
        const r = new RecentWrites();
        r.written('NetworkPolicy', obj('a', '10', { mark: 'ours' }));
        const older = r.merge('NetworkPolicy', 'ns', [obj('a', '9', { mark: 'old' })]);
        assert.equal((older[0] as unknown as { mark: string }).mark, 'ours');
        const newer = r.merge('NetworkPolicy', 'ns', [obj('a', '12', { mark: 'theirs' })]);
        assert.equal((newer[0] as unknown as { mark: string }).mark, 'theirs');
        assert.equal(r.size, 0);
    });

    it('after its TTL, reports the own writes the cache never confirmed (made while the watch was blind), and only those', () => {
        let now = 0;
        const r = new RecentWrites(() => now);
        r.written('NetworkPolicy', obj('seen', '10'));
        r.written('NetworkPolicy', obj('never-seen', '11'));
        r.written('NetworkPolicy', obj('old-in-cache', '12'));
        r.deleted('NetworkPolicy', obj('deleted-still-cached', '13'));
        r.deleted('NetworkPolicy', obj('deleted-gone', '14'));
        r.written('Namespace', { metadata: { name: 'team-a', resourceVersion: '15' } });
        const cache = new Map<string, KubernetesObject>([
            ['ns/seen', obj('seen', '10')],
            ['ns/old-in-cache', obj('old-in-cache', '9')],
            ['ns/deleted-still-cached', obj('deleted-still-cached', '13')],
            ['/team-a', { metadata: { name: 'team-a', resourceVersion: '16' } }],
        ]);
        const cached = (_kind: string, ns: string, name: string) => cache.get(`${ns}/${name}`);
        now = 60_000;
        assert.deepEqual(r.expire(cached), [], 'nothing is older than the TTL yet');
        assert.equal(r.size, 6);
        now = 60_001;
        const names = r.expire(cached).map((u) => `${u.kind} ${u.namespace}/${u.name}`);
        assert.deepEqual(names.sort(), [
            'NetworkPolicy ns/deleted-still-cached',
            'NetworkPolicy ns/never-seen',
            'NetworkPolicy ns/old-in-cache',
        ]);
        assert.equal(r.size, 0, 'every expired entry is dropped');
    });

    it('forgets an own write once the watch saw it deleted (a hand delete right after the write)', () => {
        const r = new RecentWrites();
        r.written('NetworkPolicy', obj('a', '10'));
        r.deleteSeen('NetworkPolicy', obj('a', '9'));
        assert.equal(
            r.merge('NetworkPolicy', 'ns', []).length,
            1,
            'a delete older than our write changes nothing',
        );
        r.deleteSeen('NetworkPolicy', obj('a', '11'));
        assert.deepEqual(
            r.merge('NetworkPolicy', 'ns', []),
            [],
            'the cache never held our version and the object is gone: it must look missing, so it is re-created',
        );
        assert.equal(r.size, 0);
    });

    it('hides a deleted object until the cache drops it, but shows a re-created one', () => {
        const r = new RecentWrites();
        r.deleted('NetworkPolicy', obj('a', '10'));
        assert.deepEqual(r.merge('NetworkPolicy', 'ns', [obj('a', '10')]), []);
        assert.equal(
            r.merge('NetworkPolicy', 'ns', [obj('a', '15')]).length,
            1,
            'a newer object of that name is real',
        );
    });

    it('lets entries expire and ignores unparsable resourceVersions', () => {
        let now = 0;
        const r = new RecentWrites(() => now);
        r.written('NetworkPolicy', obj('a', '10'));
        r.written('NetworkPolicy', obj('b', 'not-a-number'));
        now = 61_000;
        assert.deepEqual(r.merge('NetworkPolicy', 'ns', []), []);
        assert.equal(r.size, 0);
    });

    it('keeps kinds and namespaces apart', () => {
        const r = new RecentWrites();
        r.written('RoleBinding', obj('a', '10'));
        assert.deepEqual(r.merge('NetworkPolicy', 'ns', []), []);
        assert.deepEqual(r.merge('RoleBinding', 'other', []), []);
        assert.equal(r.get('RoleBinding', 'ns', 'a', undefined)?.metadata?.resourceVersion, '10');
    });
});

describe('RecentWrites memory', () => {
    it('sweeps expired entries of namespaces that are never read again', () => {
        let now = 100_000;
        const r = new RecentWrites(() => now);
        for (let i = 0; i < 100; i++)
            r.written('NetworkPolicy', {
                metadata: { name: 'a', namespace: `ns${i}`, resourceVersion: '1' },
            });
        assert.equal(r.size, 100);
        now += 61_000;
        r.written('NetworkPolicy', { metadata: { name: 'b', namespace: 'other', resourceVersion: '2' } });
        assert.equal(r.size, 1);
    });
});

describe('RecentWrites echo detection', () => {
    const np = (name: string, rv: string) => ({ metadata: { name, namespace: 'ns', resourceVersion: rv } });

    it('recognises the watch echo of an own write, and nothing else', () => {
        const r = new RecentWrites();
        r.written('NetworkPolicy', np('a', '10'));
        r.written('NetworkPolicy', np('c', '20'));
        assert.equal(r.confirmEcho('NetworkPolicy', np('a', '10')), true);
        assert.equal(r.confirmEcho('NetworkPolicy', np('c', '21')), false, 'a later edit is not an echo');
        r.written('NetworkPolicy', np('a', '30'));
        assert.equal(r.confirmEcho('RoleBinding', np('a', '30')), false, 'another kind');
        assert.equal(r.confirmEcho('NetworkPolicy', np('a', '29')), false, 'an older version');
        r.deleted('NetworkPolicy', np('b', '5'));
        assert.equal(r.confirmEcho('NetworkPolicy', np('b', '5')), false, 'a tombstone has no echo');
    });

    it('forgets a write once the watch confirmed it, and keeps it until then', () => {
        let now = 0;
        const r = new RecentWrites(() => now);
        r.written('NetworkPolicy', np('a', '10'));
        r.written('NetworkPolicy', np('b', '12'));
        assert.equal(r.size, 2);
        r.confirmEcho('NetworkPolicy', np('a', '9'));
        assert.equal(r.size, 2, 'an older event confirms nothing');
        r.confirmEcho('NetworkPolicy', np('a', '10'));
        r.confirmEcho('NetworkPolicy', np('b', '13'));
        assert.equal(r.size, 0, 'the echo and a newer version both confirm');
        // Nothing left to report as unconfirmed after the TTL, and the cache alone is read.
        now = TTL_MS + 1;
        assert.deepEqual(
            r.expire(() => undefined),
            [],
        );
        assert.deepEqual(r.merge('NetworkPolicy', 'ns', []), []);
    });
});
