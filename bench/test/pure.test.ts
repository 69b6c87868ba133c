/**
 * Unit tests of the benchmark's pure parts (run: `npx mocha --extension ts 'bench/test/*.test.ts'`): the workload
 * the bench expects the operator to produce, the statistics behind the latency targets, and the profile summary.
 */
import assert from 'node:assert/strict';

import { moduleOf, profileTimes, selfTimes } from '../cpuprofile.ts';
import { benchProfile, desiredFor, namespaceNames } from '../fixture.ts';
import { diagnosticNodeArgs, entrypointNodeArgs, imageNodeArgs } from '../operator.ts';
import { type MemoryBreakdown, RssSampler, summariseSmaps } from '../proc.ts';
import { parseOptions } from '../options.ts';
import { formatTable } from '../report.ts';
import { maxOf, median, minOf, percentile, summarize } from '../stats.ts';

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

    it('finds the extremes of 200,000 values without spreading them into arguments', () => {
        const v = Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 200_000);
        assert.equal(maxOf(v), 199_999);
        assert.equal(minOf(v), 0);
        assert.ok(Number.isNaN(maxOf([])));
    });

    it('takes the median of an even count as the mean of the middle pair', () => {
        assert.equal(median([4, 1, 3, 2]), 2.5);
        assert.equal(summarize([3, 1, 2]).max, 3);
    });
});

describe('bench options', () => {
    it("defaults to 1000 namespaces at the operator's default concurrency and rejects out-of-range values", () => {
        const o = parseOptions([]);
        assert.equal(o.namespaces, 1000);
        assert.equal(o.concurrency, 16);
        assert.equal(parseOptions(['--namespaces', '10', '--keep']).keep, true);
        assert.throws(() => parseOptions(['--namespaces', '0']));
    });

    it('times the unpooled reference baseline unless told not to, and takes diagnostics only on request', () => {
        const o = parseOptions([]);
        assert.equal(o.unpooledBaseline, true);
        assert.equal(o.heapSnapshot, false);
        assert.equal(o.fixtureConcurrency, 32);
        const skip = parseOptions(['--no-unpooled-baseline', '--heap-snapshot']);
        assert.equal(skip.unpooledBaseline, false);
        assert.equal(skip.heapSnapshot, true);
        const flags = ['--operator-node-arg=--max-old-space-size=96', '--operator-node-arg=--trace-gc'];
        assert.deepEqual(parseOptions(flags).operatorNodeArg, ['--max-old-space-size=96', '--trace-gc']);
    });
});

describe('bench operator diagnostics', () => {
    it('adds node flags only for the diagnostics asked for', () => {
        assert.deepEqual(diagnosticNodeArgs({}), []);
        assert.deepEqual(diagnosticNodeArgs({ heapSnapshotDir: '/p' }), [
            '--heapsnapshot-signal=SIGUSR2',
            '--diagnostic-dir=/p',
        ]);
        const both = diagnosticNodeArgs({ cpuProfDir: '/c', heapSnapshotDir: '/p' });
        assert.ok(both.includes('--cpu-prof') && both.includes('--cpu-prof-dir=/c'));
        assert.ok(both.some((a) => a.startsWith('--import=') && a.endsWith('exit-after-stop.ts')));
    });
});

describe('bench operator node flags from the image', () => {
    it('takes the flags between node and the script of the last exec-form ENTRYPOINT', () => {
        const dockerfile = [
            'FROM x AS build',
            'ENTRYPOINT ["/bin/sh"]',
            'FROM y',
            'ENTRYPOINT ["/usr/local/bin/node", "--optimize-for-size", "--heap-growing-percent=50", "/app/op.mjs"]',
            'CMD ["run"]',
        ].join('\n');
        assert.deepEqual(entrypointNodeArgs(dockerfile), [
            '--optimize-for-size',
            '--heap-growing-percent=50',
        ]);
        assert.deepEqual(entrypointNodeArgs('ENTRYPOINT ["/usr/local/bin/node", "/app/op.mjs"]'), []);
        assert.deepEqual(entrypointNodeArgs('CMD ["run"]'), []);
    });

    it("reads the repository's Dockerfile: the memory flags of ADR 0024, no script", () => {
        assert.deepEqual(imageNodeArgs(), ['--optimize-for-size', '--heap-growing-percent=50']);
    });
});

describe('bench memory breakdown', () => {
    it('splits resident memory into files, malloc (brk heap and 64 MiB-aligned arenas) and other anonymous, V8 pages apart', () => {
        const smaps = [
            '00400000-00500000 r-xp 00000000 08:01 123 /usr/bin/node',
            'Rss:                1024 kB',
            '01000000-02000000 rw-p 00000000 00:00 0 [heap]',
            'Rss:                2048 kB',
            '7f0004000000-7f0008000000 rw-p 00000000 00:00 0 ',
            'Rss:                3072 kB',
            '7f0008100000-7f0008200000 rw-p 00000000 00:00 0 ',
            'Rss:                 512 kB',
            '7f0009000000-7f0009040000 rw-p 00000000 00:00 0 ',
            'Rss:                 256 kB',
        ].join('\n');
        const m = summariseSmaps(smaps);
        assert.equal(m.fileMiB, 1);
        assert.equal(m.brkHeapMiB, 2);
        assert.equal(m.mallocArenasMiB, 3);
        assert.equal(m.mallocArenaCount, 1);
        assert.equal(m.otherAnonMiB, 0.75);
        assert.equal(m.v8PagesMiB, 0.25);
        assert.equal(m.rssMiB, 6.75);
    });
});

describe('bench RSS sampler', () => {
    it('reads the breakdown only at a new high of a phase and reports the highest phase asked for', () => {
        let reads = 0;
        const fake = (rssMiB: number): MemoryBreakdown => ({
            rssMiB,
            fileMiB: 0,
            brkHeapMiB: 0,
            mallocArenasMiB: 0,
            mallocArenaCount: 0,
            otherAnonMiB: rssMiB,
            v8PagesMiB: 0,
        });
        const sampler = new RssSampler(60_000, 100, () => fake(++reads));
        sampler.track(process.pid, 'startup'); // this process's own /proc entries: real samples
        sampler.phase('converge');
        sampler.sample();
        sampler.sample();
        sampler.stop();
        assert.equal(sampler.samples.length, 4);
        // The first sample of each phase is its high so far; a later one only when RSS rose.
        const rising = sampler.samples.filter(
            (s, i, all) => i > 0 && all[i - 1]!.phase === s.phase && s.rssMiB > all[i - 1]!.rssMiB,
        );
        assert.equal(reads, 2 + rising.length);
        const detail = sampler.peakDetail(['startup', 'converge']);
        assert.ok(detail);
        const peakPhase =
            maxOf(sampler.samples.filter((s) => s.phase === 'converge').map((s) => s.rssMiB)) >
            maxOf(sampler.samples.filter((s) => s.phase === 'startup').map((s) => s.rssMiB))
                ? 'converge'
                : 'startup';
        assert.equal(detail.phase, peakPhase);
        assert.ok(detail.secondsIntoPhase >= 0);
        assert.equal(sampler.peakDetail(['restart']), undefined);
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

    it('adds inclusive time once per sample up the stack, leaves idle out, and names frames through a resolver', () => {
        // root -> status (bundle line 7) -> compute (bundle line 9, recursive: compute -> compute); idle apart.
        const bundle = 'file:///r/dist/bundle/operator.mjs';
        const r = profileTimes(
            {
                nodes: [
                    {
                        id: 1,
                        callFrame: { functionName: '(root)', url: '', lineNumber: -1 },
                        children: [2, 5],
                    },
                    { id: 2, callFrame: { functionName: 'a', url: bundle, lineNumber: 6 }, children: [3] },
                    { id: 3, callFrame: { functionName: 'b', url: bundle, lineNumber: 8 }, children: [4] },
                    { id: 4, callFrame: { functionName: 'b', url: bundle, lineNumber: 8 } },
                    { id: 5, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
                ],
                samples: [4, 4, 2, 5],
                timeDeltas: [1000, 1000, 1000, 5000],
                startTime: 0,
                endTime: 8000,
            },
            (f) =>
                f.url === bundle
                    ? f.lineNumber === 6
                        ? { url: 'src/controller/status.ts', line: 12, name: 'status' }
                        : { url: 'src/plan/conflicts.ts', line: 40, name: 'compute' }
                    : undefined,
        );
        assert.equal(r.totalMs, 3, 'idle is not busy time');
        assert.equal(r.idleMs, 5);
        const incl = new Map(r.inclusiveByFunction.map((s) => [s.name, s.ms]));
        assert.equal(incl.get('status src/controller/status.ts:12'), 3);
        assert.equal(incl.get('compute src/plan/conflicts.ts:40'), 2, 'recursion counted once per sample');
        assert.equal(r.byFunction[0]!.name, 'compute src/plan/conflicts.ts:40');
        assert.deepEqual(
            new Map(r.inclusiveByModule.map((s) => [s.name, s.ms])),
            new Map([
                ['(v8/native)', 3],
                ['src/controller/status.ts', 3],
                ['src/plan/conflicts.ts', 2],
            ]),
        );
    });
});
