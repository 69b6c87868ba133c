/**
 * Unit tests of the side-by-side benchmark's pure parts: both controllers get the same five objects, HNC's command
 * line is its shipped one adapted to run outside a cluster, its metrics read into the settle counters, and the
 * report's medians and ratios.
 */
import assert from 'node:assert/strict';

import {
    hncArgs,
    hncCounters,
    hierarchyConfiguration,
    LABEL_INHERITED_FROM,
    treeLabel,
} from '../peer/hnc.ts';
import { hncSourceObjects, OBJECTS_PER_NAMESPACE, peerObjects } from '../peer/objects.ts';
import { columns, markdownTable, ratios } from '../peer/report.ts';
import type { PeerRun } from '../peer/run.ts';

describe('bench-peer workload', () => {
    it('plans default-deny, two allow NetworkPolicies and two RoleBindings per namespace', () => {
        const objs = peerObjects('peer-00001', 'peer');
        assert.equal(objs.length, OBJECTS_PER_NAMESPACE);
        assert.deepEqual(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
            'NetworkPolicy/isolation-default-deny',
            'NetworkPolicy/isolation-dns',
            'NetworkPolicy/isolation-same-namespace',
            'RoleBinding/isolation-access-developers',
            'RoleBinding/isolation-access-viewers',
        ]);
    });

    it("gives HNC the operator's objects as sources in the parent: same names and specs, no operator labels", () => {
        const planned = peerObjects('peer-parent', 'peer');
        const sources = hncSourceObjects('peer-parent', 'peer');
        assert.equal(sources.length, planned.length);
        for (const [i, s] of sources.entries()) {
            const p = planned[i]!;
            assert.equal(s.metadata?.name, p.metadata.name);
            assert.equal(s.metadata?.namespace, 'peer-parent');
            assert.equal(s.metadata?.labels, undefined);
            const { metadata: _a, ...sBody } = s as unknown as Record<string, unknown>;
            const { metadata: _b, ...pBody } = p as unknown as Record<string, unknown>;
            assert.deepEqual(sBody, pBody);
        }
    });
});

describe('bench-peer HNC', () => {
    it('runs with its shipped limits, webhooks and Stackdriver off, metrics and probes on loopback', () => {
        const args = hncArgs({ qps: 50, maxReconciles: 10, metricsPort: 1234, probePort: 5678 });
        for (const a of [
            '--apiserver-qps-throttle=50',
            '--max-reconciles=10',
            '--no-webhooks',
            '--enable-stackdriver=false',
            '--excluded-namespace=kube-system',
            '--metrics-addr=127.0.0.1:1234',
            '--health-probe-bind-address=127.0.0.1:5678',
        ])
            assert.ok(args.includes(a), a);
        assert.ok(
            hncArgs({ qps: 10_000, maxReconciles: 10, metricsPort: 1, probePort: 2 }).includes(
                '--apiserver-qps-throttle=10000',
            ),
        );
    });

    it('reads queue depth, busy workers, reconciles and write requests from controller-runtime metrics', () => {
        const text = [
            'workqueue_depth{name="hierarchyconfigurations"} 2',
            'workqueue_depth{name="networkpolicies"} 3',
            'controller_runtime_active_workers{controller="networkpolicies"} 1',
            'controller_runtime_reconcile_total{controller="a",result="success"} 7',
            'controller_runtime_reconcile_total{controller="b",result="success"} 5',
            'rest_client_requests_total{code="201",host="127.0.0.1:1",method="POST"} 40',
            'rest_client_requests_total{code="200",host="127.0.0.1:1",method="PUT"} 2',
            'rest_client_requests_total{code="200",host="127.0.0.1:1",method="GET"} 900',
        ].join('\n');
        assert.deepEqual(hncCounters(text), { depth: 5, active: 1, writes: 42, namespaceReconciles: 12 });
    });

    it('sets the parent with a HierarchyConfiguration named hierarchy; watches select by inherited-from', () => {
        assert.deepEqual(hierarchyConfiguration('c', 'p'), {
            apiVersion: 'hnc.x-k8s.io/v1alpha2',
            kind: 'HierarchyConfiguration',
            metadata: { name: 'hierarchy', namespace: 'c' },
            spec: { parent: 'p' },
        });
        assert.equal(treeLabel('p'), 'p.tree.hnc.x-k8s.io/depth');
        assert.equal(LABEL_INHERITED_FROM, 'hnc.x-k8s.io/inherited-from');
    });
});

function run(variant: string, converge: number, idleWrites: number): PeerRun {
    return {
        variant,
        round: 1,
        namespaces: 10,
        startedAt: '',
        loadAvgAtStart: [],
        converge: {
            seconds: converge,
            expected: 50,
            arrived: 50,
            firstObjectSeconds: 0,
            settledSeconds: converge,
        },
        convergeCpuSeconds: converge / 10,
        peakRssMiB: 100,
        writesToQuiet: 50,
        requestsToQuiet: 60,
        requestsPerNamespace: 6,
        requestsByVerb: {},
        latency: {
            count: 1,
            p50: 10,
            p95: 10,
            p99: 10,
            max: 10,
            rate: 1,
            created: 1,
            missing: 0,
            createErrors: 0,
        },
        idle: { seconds: 60, writes: idleWrites, requests: idleWrites, writeList: [] },
        notes: [],
    };
}

describe('bench-peer report', () => {
    const runs = [
        run('hnc-fast', 30, 7),
        run('operator', 20, 0),
        run('hnc-fast', 10, 7),
        run('operator', 10, 0),
        run('hnc-fast', 20, 8),
        run('operator', 60, 0),
    ];

    it('takes the median of each setting across its runs', () => {
        const [hnc, op] = columns(runs);
        assert.equal(hnc!.variant, 'hnc-fast');
        assert.equal(hnc!.runs, 3);
        assert.equal(hnc!.medians.converge, 20);
        assert.equal(hnc!.medians.idle, 7);
        assert.equal(op!.medians.converge, 20);
    });

    it('divides operator by reference, and gives no ratio against zero', () => {
        const [hnc, op] = columns(runs);
        const r = ratios(op!, hnc!);
        assert.equal(r.converge, 1);
        assert.equal(r.idle, 0);
        assert.ok(Number.isNaN(ratios(hnc!, op!).idle));
    });

    it('prints one column per setting with its run count, then the ratio columns', () => {
        const table = markdownTable(runs, 'hnc-fast', ['operator']);
        const lines = table.split('\n');
        assert.equal(
            lines[0],
            '| metric (median) | hnc-fast (3 runs) | operator (3 runs) | operator / hnc-fast |',
        );
        assert.ok(
            lines.some((l) => l.startsWith('| converge: trigger → all N×5 objects | 20 s | 20 s | 1 |')),
        );
        assert.ok(lines.some((l) => l.startsWith('| writes in the idle window | 7 | 0 | 0 |')));
    });
});
