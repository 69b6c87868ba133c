/**
 * Informer watches move forward on a real API server, proven from its audit log: the runtime's SupervisedInformer
 * with the production list-watch factory (what every operator informer uses), a short server-side watch timeout so
 * many watches end within the test, and a dedicated client-certificate user so the audit log shows only its
 * requests.
 *
 * 1. Shared control plane (watch cache on): watches re-open at advancing resourceVersions carried by bookmarks,
 *    though nothing of the watched collection changes (writes elsewhere of the same resource advance the cache), and
 *    there is exactly one LIST.
 * 2. A dedicated control plane with `--watch-cache=false` (watches go to etcd, so a compaction makes the position
 *    gone): after compacting etcd through its gRPC gateway, exactly one relist, counted as `expired`, and watches
 *    resume from the new list.
 */
import assert from 'node:assert/strict';
import { CoreV1Api, KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';

import { listWatchFactory, SupervisedInformer, type RelistReason } from '../../src/runtime/informer.ts';
import { startControlPlane, type ControlPlane } from '../controlplane/controlplane.ts';
import { byUser, readAudit, type AuditEvent } from '../support/audit.ts';
import { eventually } from '../support/eventually.ts';
import { testEnv, uniqueName } from './env.ts';

/** Seconds each watch request lasts (the API server sends a bookmark 2 s before it ends). */
const WATCH_TIMEOUT_SECONDS = 4;

interface Watched {
    informer: SupervisedInformer<V1ConfigMap>;
    relists: RelistReason[];
}

function watchConfigMaps(kc: KubeConfig, namespace: string): Watched {
    const core = kc.makeApiClient(CoreV1Api);
    const relists: RelistReason[] = [];
    const informer = new SupervisedInformer<V1ConfigMap>({
        name: 'configmaps',
        list: (opts) => core.listNamespacedConfigMap({ namespace, ...opts }),
        factory: listWatchFactory(kc, `/api/v1/namespaces/${namespace}/configmaps`, {
            watchTimeoutSeconds: () => WATCH_TIMEOUT_SECONDS,
        }),
        handlers: {},
        hooks: { onRelist: (r) => relists.push(r) },
    });
    informer.start();
    return { informer, relists };
}

function query(e: AuditEvent): URLSearchParams {
    return new URL(e.requestURI, 'https://audit.invalid').searchParams;
}

/** LISTs and WATCHes of `user` on the configmaps of `namespace`, in the order they were received. */
async function requestsOf(auditLog: string, user: string, namespace: string) {
    const events = byUser(await readAudit(auditLog), user)
        .filter((e) => e.objectRef?.resource === 'configmaps' && e.objectRef.namespace === namespace)
        .sort((a, b) => a.requestReceivedTimestamp.localeCompare(b.requestReceivedTimestamp));
    const watches = events.filter((e) => e.verb === 'watch');
    return {
        lists: events.filter((e) => e.verb === 'list'),
        watches,
        watchRVs: watches.map((e) => Number(query(e).get('resourceVersion'))),
    };
}

async function configMap(core: CoreV1Api, namespace: string): Promise<void> {
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { generateName: 'unrelated-' } } });
}

describe('informer watches resume from the last resourceVersion', function () {
    it('re-opens watches at advancing bookmark resourceVersions with no change to the watched objects, and never relists', async function () {
        this.timeout(180_000);
        const env = testEnv();
        const user = uniqueName('watch-resume');
        const kc = env.kc(await env.addUser(user, ['system:masters']));
        const admin = env.kc().makeApiClient(CoreV1Api);
        const watchedNs = await env.createNamespace('watched');
        const elsewhere = await env.createNamespace('elsewhere');
        const w = watchConfigMaps(kc, watchedNs);
        try {
            await w.informer.waitForSync(AbortSignal.timeout(30_000));
            // Writes of the same resource in another namespace advance the API server's configmaps watch cache, so
            // the bookmarks sent to our (namespace-scoped, quiet) watch carry new positions.
            const seen = await eventually(
                'five watches, opened at four or more distinct resourceVersions',
                async () => {
                    await configMap(admin, elsewhere);
                    const r = await requestsOf(env.auditLogPath, user, watchedNs);
                    return r.watches.length >= 5 && new Set(r.watchRVs).size >= 4 ? r : undefined;
                },
                150_000,
                1000,
            );
            assert.equal(seen.lists.length, 1, 'only the first LIST');
            for (let i = 1; i < seen.watchRVs.length; i++)
                assert.ok(
                    (seen.watchRVs[i] ?? 0) >= (seen.watchRVs[i - 1] ?? 0),
                    `watch positions never go back: ${seen.watchRVs.join(', ')}`,
                );
            const listRV = Number(query(seen.watches[0] as AuditEvent).get('resourceVersion'));
            assert.ok((seen.watchRVs.at(-1) ?? 0) > listRV, 'the last watch starts after the LIST position');
            for (const e of seen.watches) {
                assert.equal(query(e).get('allowWatchBookmarks'), 'true');
                assert.equal(query(e).get('timeoutSeconds'), String(WATCH_TIMEOUT_SECONDS));
                assert.equal(e.responseStatus?.code, 200);
            }
            assert.deepEqual(w.relists, []);
            assert.equal(w.informer.list().length, 0, 'nothing of the watched namespace changed');
            console.error(`      watch resourceVersions: ${seen.watchRVs.join(' ')}`);
        } finally {
            await w.informer.stop();
        }
    });

    describe('with the API server watch cache off', function () {
        let cp: ControlPlane | undefined;

        before(async function () {
            this.timeout(180_000);
            cp = await startControlPlane({
                apiServerArgs: ['--watch-cache=false'],
                controllerManager: false,
                handleSignals: false,
            });
        });

        after(async function () {
            this.timeout(120_000);
            await cp?.stop();
        });

        it('relists exactly once after etcd compaction makes the watch position too old (410), then resumes', async function () {
            this.timeout(180_000);
            if (!cp) throw new Error('no control plane');
            const { auditLogPath } = cp.state;
            const user = 'watch-resume';
            const userKc = loadKubeconfig(await cp.addUser(user, ['system:masters']));
            const admin = loadKubeconfig(cp.kubeconfigPath).makeApiClient(CoreV1Api);
            for (const name of ['watched', 'elsewhere'])
                await admin.createNamespace({ body: { metadata: { name } } });
            await admin.createNamespacedConfigMap({
                namespace: 'watched',
                body: { metadata: { name: 'present' } },
            });
            const w = watchConfigMaps(userKc, 'watched');
            try {
                await w.informer.waitForSync(AbortSignal.timeout(30_000));
                await eventually(
                    'two watches at the LIST position',
                    async () => (await requestsOf(auditLogPath, user, 'watched')).watches.length >= 2,
                    60_000,
                    500,
                );
                const before = await requestsOf(auditLogPath, user, 'watched');
                assert.equal(before.lists.length, 1);

                // Move etcd's revision past the watch position, then compact everything before it.
                for (let i = 0; i < 3; i++) await configMap(admin, 'elsewhere');
                const revision = await cp.etcdRevision();
                await cp.compactEtcd(revision);

                const after = await eventually(
                    'a relist and two watches after it at or past the compacted revision',
                    async () => {
                        const r = await requestsOf(auditLogPath, user, 'watched');
                        const relist = r.lists[1];
                        if (!relist) return undefined;
                        const later = r.watches.filter(
                            (e) => e.requestReceivedTimestamp > relist.requestReceivedTimestamp,
                        );
                        return later.length >= 2 ? { ...r, later } : undefined;
                    },
                    90_000,
                    500,
                );
                assert.equal(after.lists.length, 2, 'exactly one relist');
                assert.deepEqual(w.relists, ['expired']);
                for (const e of after.later)
                    assert.ok(
                        Number(query(e).get('resourceVersion')) >= revision,
                        'watches resume from the new LIST',
                    );
                assert.deepEqual(
                    w.informer.list().map((o) => o.metadata?.name),
                    ['present'],
                    'the cache survived the relist',
                );
                assert.equal(w.informer.restarts(), 0, 'the 410 was handled without a restart');
            } finally {
                await w.informer.stop();
            }
        });
    });
});

function loadKubeconfig(path: string): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    return kc;
}
