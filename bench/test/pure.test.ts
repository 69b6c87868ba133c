/**
 * Unit tests of the benchmark's pure parts (run: `npx mocha --extension ts 'bench/test/*.test.ts'`): the workload
 * the bench expects the operator to produce, the statistics behind the latency targets, and the profile summary.
 */
import assert from 'node:assert/strict';

import { selfTimes, moduleOf } from '../cpuprofile.ts';
import { benchProfile, desiredFor, namespaceNames } from '../fixture.ts';
import { parseOptions } from '../options.ts';
import { formatTable } from '../report.ts';
import { median, percentile, summarize } from '../stats.ts';

describe('bench workload', () => {
    it('plans six objects per namespace: three base policies, one ingress rule, two RoleBindings', () => {
        const objs = desiredFor('bench-00001', 'converge', benchProfile('bench', 'converge', 'uid'));
        assert.deepEqual(
            objs.map((o) => `${o.kind}/${o.metadata.name}`),
            [
                'NetworkPolicy/isolation-default-deny',
                'NetworkPolicy/isolation-dns',
                'NetworkPolicy/isolation-ingress-from-ingress',
                'NetworkPolicy/isolation-same-namespace',
                'RoleBinding/isolation-access-developers',
                'RoleBinding/isolation-sa-readers',
            ],
        );
        const sa = objs.find((o) => o.metadata.name === 'isolation-sa-readers') as {
            subjects?: { name: string }[];
        };
        assert.deepEqual(
            sa.subjects?.map((s) => s.name),
            ['reader'],
        );
    });

    it('names namespaces zero-padded so they sort in creation order', () => {
        assert.deepEqual(namespaceNames('lat', 3), ['lat-00000', 'lat-00001', 'lat-00002']);
        assert.equal(namespaceNames('bench', 100_000)[99_999], 'bench-099999');
    });
});

describe('bench statistics', () => {
    it('uses nearest-rank percentiles, so p99 is an observed value', () => {
        const v = Array.from({ length: 100 }, (_, i) => i + 1);
        assert.equal(percentile(v, 50), 50);
        assert.equal(percentile(v, 99), 99);
        assert.equal(percentile([5], 99), 5);
        assert.ok(Number.isNaN(percentile([], 50)));
    });

    it('takes the median of an even count as the mean of the middle pair', () => {
        assert.equal(median([4, 1, 3, 2]), 2.5);
        assert.equal(summarize([3, 1, 2]).max, 3);
    });
});

describe('bench options', () => {
    it('defaults to 1000 namespaces at concurrency 4 and rejects out-of-range values', () => {
        const o = parseOptions([]);
        assert.equal(o.namespaces, 1000);
        assert.equal(o.concurrency, 4);
        assert.equal(parseOptions(['--namespaces', '10', '--keep']).keep, true);
        assert.throws(() => parseOptions(['--namespaces', '0']));
    });
});

describe('bench report and profile summary', () => {
    it('aligns the table columns', () => {
        const lines = formatTable([['a', 'bb', 'c', 'ok']]).split('\n');
        assert.equal(lines.length, 3);
        assert.equal(lines[0]!.indexOf('|'), lines[2]!.indexOf('|'));
    });

    it('attributes self time to the leaf frame and groups it by package', () => {
        const frame = (id: number, functionName: string, url: string) => ({
            id,
            callFrame: { functionName, url, lineNumber: 0 },
        });
        const r = selfTimes({
            nodes: [
                frame(1, 'parse', 'file:///x/node_modules/yaml/dist/a.js'),
                frame(2, 'plan', 'file:///r/src/plan/desired.ts'),
            ],
            samples: [1, 2, 2, 2],
            timeDeltas: [1000, 1000, 1000, 1000],
            startTime: 0,
            endTime: 4000,
        });
        assert.equal(r.totalMs, 4);
        assert.equal(r.byModule[0]!.name, 'src/plan/desired.ts');
        assert.equal(r.byModule[0]!.ms, 3);
        assert.equal(
            moduleOf('file:///x/node_modules/@kubernetes/client-node/dist/a.js'),
            '@kubernetes/client-node',
        );
    });
});
