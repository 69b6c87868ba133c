import assert from 'node:assert/strict';
import { createMetrics, RECONCILE_RESULTS } from '../../../src/observability/metrics.ts';
import { Workqueue } from '../../../src/runtime/workqueue.ts';
import { FakeClock, flush } from '../../support/fake-clock.ts';

const EXPECTED_NAMES = [
    'controller_runtime_reconcile_total',
    'controller_runtime_reconcile_errors_total',
    'controller_runtime_terminal_reconcile_errors_total',
    'controller_runtime_reconcile_panics_total',
    'controller_runtime_reconcile_time_seconds',
    'controller_runtime_max_concurrent_reconciles',
    'controller_runtime_active_workers',
    'workqueue_depth',
    'workqueue_adds_total',
    'workqueue_retries_total',
    'workqueue_queue_duration_seconds',
    'workqueue_work_duration_seconds',
    'workqueue_unfinished_work_seconds',
    'workqueue_longest_running_processor_seconds',
    'leader_election_master_status',
    'isolation_operator_namespace_isolation_latency_seconds',
    'isolation_operator_managed_objects',
    'isolation_operator_drift_corrections_total',
    'isolation_operator_drift_detected_total',
    'isolation_operator_conflicts',
    'isolation_operator_profiles',
    'isolation_operator_alignment_gaps',
    'isolation_operator_informer_up',
    'isolation_operator_informer_relists_total',
    'isolation_operator_apply_total',
    'isolation_operator_writes_total',
];

/** prom-client's JSON names counters without the `_total` suffix; the text exposition is the contract. */
function metricNames(text: string): Set<string> {
    const names = new Set<string>();
    for (const line of text.split('\n')) {
        const m = /^# TYPE (\S+) /.exec(line);
        if (m?.[1]) names.add(m[1]);
    }
    return names;
}

function sampleLines(text: string, name: string): string[] {
    return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

describe('metrics', () => {
    it('registers exactly the documented operator metric names', async () => {
        const metrics = createMetrics({ defaultMetrics: false });
        const names = metricNames(await metrics.text());
        for (const name of EXPECTED_NAMES) {
            const typeName = name.endsWith('_total') ? name.slice(0, -'_total'.length) : name;
            assert.ok(names.has(name) || names.has(typeName), `missing ${name}`);
        }
        const extra = [...names].filter((n) => !EXPECTED_NAMES.includes(n));
        assert.deepEqual(extra, ['controller_runtime_reconcile_timeouts_total']);
    });

    it('uses a fresh registry per instance, so many can coexist', async () => {
        const a = createMetrics({ defaultMetrics: false });
        const b = createMetrics({ defaultMetrics: false });
        a.conflicts.set(3);
        assert.notEqual(a.registry, b.registry);
        assert.match(await a.text(), /^isolation_operator_conflicts 3$/m);
        assert.match(await b.text(), /^isolation_operator_conflicts 0$/m);
    });

    it('includes process metrics by default', async () => {
        const metrics = createMetrics();
        assert.match(await metrics.text(), /^process_cpu_user_seconds_total /m);
    });

    it('pre-initialises every reconcile result to 0 for each controller', async () => {
        const metrics = createMetrics({ defaultMetrics: false, controllers: ['namespace', 'profile'] });
        const text = await metrics.text();
        for (const controller of ['namespace', 'profile']) {
            for (const result of RECONCILE_RESULTS) {
                assert.ok(
                    text.includes(
                        `controller_runtime_reconcile_total{controller="${controller}",result="${result}"} 0`,
                    ),
                    `${controller}/${result}`,
                );
            }
            assert.ok(
                text.includes(`controller_runtime_reconcile_errors_total{controller="${controller}"} 0`),
            );
            assert.ok(
                text.includes(`controller_runtime_max_concurrent_reconciles{controller="${controller}"} 1`),
            );
        }
    });

    it('records the worker-pool size and workqueue series of a registered controller', async () => {
        const metrics = createMetrics({ defaultMetrics: false });
        metrics.registerController('namespace', 4);
        metrics.registerWorkqueue('namespace', 'namespace');
        metrics.workqueueAdds.inc({ name: 'namespace', controller: 'namespace' });
        const text = await metrics.text();
        assert.ok(text.includes('controller_runtime_max_concurrent_reconciles{controller="namespace"} 4'));
        assert.ok(text.includes('workqueue_depth{name="namespace",controller="namespace"} 0'));
        assert.ok(text.includes('workqueue_adds_total{name="namespace",controller="namespace"} 1'));
    });

    it("reports a workqueue's unfinished work and longest running processor at each scrape", async () => {
        const metrics = createMetrics({ defaultMetrics: false });
        const clock = new FakeClock();
        const gate: (() => void)[] = [];
        const q = new Workqueue({
            clock,
            concurrency: 2,
            reconcile: () => new Promise<void>((r) => gate.push(r)),
        });
        metrics.registerWorkqueue('namespace', 'namespace', q);
        const series = 'name="namespace",controller="namespace"';
        assert.ok((await metrics.text()).includes(`workqueue_unfinished_work_seconds{${series}} 0`));
        q.add('a');
        await flush();
        await clock.advanceAsync(1000);
        q.add('b');
        await flush();
        await clock.advanceAsync(500);
        let text = await metrics.text();
        assert.ok(text.includes(`workqueue_unfinished_work_seconds{${series}} 2`), '1.5 s + 0.5 s in flight');
        assert.ok(text.includes(`workqueue_longest_running_processor_seconds{${series}} 1.5`));
        for (const done of gate) done();
        await flush();
        text = await metrics.text();
        assert.ok(text.includes(`workqueue_unfinished_work_seconds{${series}} 0`), 'nothing in flight');
        assert.ok(text.includes(`workqueue_longest_running_processor_seconds{${series}} 0`));
        await q.shutDown();
    });

    it('pre-initialises domain series by kind, condition, verb and result', async () => {
        const text = await createMetrics({ defaultMetrics: false }).text();
        assert.equal(sampleLines(text, 'isolation_operator_managed_objects').length, 2);
        assert.equal(sampleLines(text, 'isolation_operator_profiles').length, 5);
        assert.ok(text.includes('isolation_operator_profiles{condition="Stalled"} 0'));
        assert.ok(text.includes('isolation_operator_drift_corrections_total{kind="RoleBinding"} 0'));
        assert.ok(text.includes('isolation_operator_apply_total{kind="NetworkPolicy",result="error"} 0'));
        assert.ok(text.includes('isolation_operator_writes_total{verb="apply",kind="NetworkPolicy"} 0'));
        // Informer gauges are set by the runtime only: a pre-set 0 would read as "down" for unused resources.
        assert.equal(sampleLines(text, 'isolation_operator_informer_up').length, 0);
        // Relists: the manager pre-initialises them per watched resource (expired, restart).
        assert.equal(sampleLines(text, 'isolation_operator_informer_relists_total').length, 0);
    });

    it('uses the 5 ms .. 60 s buckets for reconcile time', async () => {
        const metrics = createMetrics({ defaultMetrics: false });
        metrics.reconcileTime.observe({ controller: 'namespace' }, 0.02);
        const buckets = sampleLines(await metrics.text(), 'controller_runtime_reconcile_time_seconds_bucket');
        assert.match(buckets[0] ?? '', /le="0.005"/);
        assert.ok(buckets.some((l) => l.includes('le="60"')));
        assert.ok(
            buckets.some(
                (l) =>
                    /le="0.025",controller="namespace"} 1$/.test(l) ||
                    /controller="namespace",le="0.025"} 1$/.test(l),
            ),
        );
    });

    it('only uses bounded label names', () => {
        const metrics = createMetrics({ defaultMetrics: false });
        const allowed = new Set([
            'controller',
            'result',
            'name',
            'kind',
            'verb',
            'condition',
            'resource',
            'reason',
            'le',
        ]);
        for (const metric of metrics.registry.getMetricsAsArray()) {
            const labelNames = (metric as unknown as { labelNames: string[] }).labelNames;
            for (const label of labelNames)
                assert.ok(allowed.has(label), `${metric.name} has label ${label}`);
        }
    });
});
