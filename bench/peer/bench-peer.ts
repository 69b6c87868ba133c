/**
 * The side-by-side benchmark (`npm run bench:peer -- --namespaces N --rounds R`, `make bench-peer`): the operator
 * and the Hierarchical Namespace Controller (HNC v1.1.0, built once from the Go module proxy by
 * bench/peer/build.sh) doing the same job — five objects in each of N namespaces — each run on its own fresh
 * control plane (bench/peer/run.ts).
 *
 * Settings, run alternated within each round so slow spells of the shared machine fall on all of them: HNC with
 * its shipped limits; "HNC fast", its client QPS raised (burst follows as 1.5 × QPS) so that the client-side
 * limiter never waits — the operator has none; the operator at its default --concurrency; and at a higher one.
 * After every run the results so far go to bench/results/peer-<date>-n<N>.json and the table (medians, ratios of
 * each operator setting to HNC fast) to the .md next to it, so an interrupted series keeps what it measured.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Command } from 'commander';

import { DEFAULT_SETTINGS } from '../../src/controller/settings.ts';
import { buildOperatorBundle } from '../operator.ts';
import { int } from '../options.ts';
import { buildHnc, HNC_DEFAULT_QPS, HNC_SHIPPED_MAX_RECONCILES, HNC_VERSION } from './hnc.ts';
import { markdownTable } from './report.ts';
import { runOnce } from './run.ts';
import type { OperatorStart, PeerRun, Variant } from './run.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const RESULTS = join(HERE, '..', 'results');

const cmd = new Command()
    .name('bench-peer')
    .description('the operator and HNC side by side, each run on a fresh local control plane')
    .option('--namespaces <n>', 'namespaces per run', int('namespaces', 1, 50_000), 1000)
    .option('--rounds <n>', 'runs of each setting, alternated', int('rounds', 1, 20), 3)
    .option('--idle-seconds <s>', 'idle window after the latency phase', int('idle-seconds', 1, 600), 60)
    .option('--latency-seconds <s>', 'duration of namespace creation at --rate', int('latency-seconds', 0, 300), 30)
    .option('--rate <n>', 'namespaces created per second in the latency phase', int('rate', 1, 200), 20)
    .option('--fixture-concurrency <n>', 'parallel requests creating fixtures', int('fixture-concurrency', 1, 64), 32)
    .option('--best-concurrency <n>', 'operator --concurrency of its second setting', int('best-concurrency', 1, 64), 32)
    .option('--hnc-fast-qps <n>', "HNC fast's --apiserver-qps-throttle", int('hnc-fast-qps', 1, 1_000_000), 10_000)
    .option(
        '--operator-start <how>',
        "the operator's state before the trigger: member (its profile governs and labels the namespaces, nothing " +
            'generated, like HNC with its hierarchy set) or cold (no profile; the trigger creates it)',
        (v: string) => {
            if (v !== 'member' && v !== 'cold') throw new Error(`--operator-start: member or cold, not ${v}`);
            return v;
        },
        'member',
    )
    .option(
        '--sweep <list>',
        'more operator settings, alternated with the others: comma-separated --concurrency values (operator-c<N>)',
    )
    .option('--only <names>', 'comma-separated subset of: hnc,hnc-fast,operator,operator-best,operator-c<N>')
    .exitOverride(); // prettier-ignore
cmd.parse(process.argv.slice(2), { from: 'user' });
const opts = cmd.opts<{
    namespaces: number;
    rounds: number;
    idleSeconds: number;
    latencySeconds: number;
    rate: number;
    fixtureConcurrency: number;
    bestConcurrency: number;
    hncFastQps: number;
    operatorStart: OperatorStart;
    sweep?: string;
    only?: string;
}>();

const DEFAULT_CONCURRENCY = DEFAULT_SETTINGS.concurrency;
const all: Variant[] = [
    { name: 'hnc', kind: 'hnc', qps: HNC_DEFAULT_QPS, maxReconciles: HNC_SHIPPED_MAX_RECONCILES },
    { name: 'hnc-fast', kind: 'hnc', qps: opts.hncFastQps, maxReconciles: HNC_SHIPPED_MAX_RECONCILES },
    { name: 'operator', kind: 'operator', concurrency: DEFAULT_CONCURRENCY },
    { name: 'operator-best', kind: 'operator', concurrency: opts.bestConcurrency },
    ...(opts.sweep ?? '')
        .split(',')
        .filter((x) => x.trim() !== '')
        .map((x): Variant => {
            const n = Number(x.trim());
            if (!Number.isInteger(n) || n < 1 || n > 64)
                throw new Error(`--sweep: ${x} is not a concurrency in [1, 64]`);
            return { name: `operator-c${n}`, kind: 'operator', concurrency: n };
        }),
];
const wanted = opts.only?.split(',').map((s) => s.trim());
// Settings asked for by --sweep always run; --only picks among the others.
const variants = wanted ? all.filter((v) => wanted.includes(v.name) || /^operator-c\d+$/.test(v.name)) : all;
if (variants.length === 0) throw new Error(`--only matched no setting: ${opts.only}`);

// The operator runs as the image runs it: the bundle, built from the current source.
if (variants.some((v) => v.kind === 'operator')) buildOperatorBundle();

const t0 = Date.now();
const log = (msg: string) => console.error(`[bench-peer +${((Date.now() - t0) / 1000).toFixed(0)}s] ${msg}`);
const startedAt = new Date().toISOString();
const git = (args: string[]) => {
    try {
        return execFileSync('git', args, { cwd: join(HERE, '..', '..'), encoding: 'utf8' }).trim();
    } catch {
        return '';
    }
};
const code = {
    commit: git(['rev-parse', 'HEAD']) || 'unknown',
    uncommitted: git(['status', '--porcelain', '--', 'src', 'config', 'bench'])
        .split('\n')
        .filter((l) => l.length > 0),
};
const stamp = startedAt.replace(/[:]/g, '').replace(/\..*$/, '');
const base = join(RESULTS, `peer-${stamp}-n${opts.namespaces}`);

const hncDir = variants.some((v) => v.kind === 'hnc') ? await buildHnc() : undefined;
if (hncDir) log(`HNC ${HNC_VERSION}: ${hncDir}`);

const runs: PeerRun[] = [];
const failures: { variant: string; round: number; error: string }[] = [];
const operatorNames = variants.filter((v) => v.kind === 'operator').map((v) => v.name);
const table = () => markdownTable(runs, 'hnc-fast', operatorNames);

async function save(): Promise<void> {
    await mkdir(RESULTS, { recursive: true });
    const doc = {
        startedAt,
        machine: {
            nproc: Number(execFileSync('nproc', { encoding: 'utf8' }).trim()),
            memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
            node: process.version,
            cpuModel: cpus()[0]?.model ?? 'unknown',
        },
        code,
        peer: { name: 'hierarchical-namespaces', version: HNC_VERSION },
        options: opts,
        variants,
        runs,
        failures,
    };
    await writeFile(`${base}.json`, JSON.stringify(doc, null, 2) + '\n');
    await writeFile(`${base}.md`, table() + '\n');
}

for (let round = 1; round <= opts.rounds; round++) {
    for (const v of variants) {
        log(`round ${round}/${opts.rounds}: ${v.name}`);
        try {
            const r = await runOnce(v, round, {
                namespaces: opts.namespaces,
                idleSeconds: opts.idleSeconds,
                latencySeconds: opts.latencySeconds,
                rate: opts.rate,
                fixtureConcurrency: opts.fixtureConcurrency,
                operatorStart: opts.operatorStart,
                hncDir,
                log,
            });
            runs.push(r);
            log(
                `${v.name}: converge ${r.converge.seconds.toFixed(1)} s, CPU ${r.convergeCpuSeconds.toFixed(1)} s, ` +
                    `RSS ${r.peakRssMiB.toFixed(0)} MiB, writes ${r.writesToQuiet}, p50 ${r.latency.p50.toFixed(0)} ms, ` +
                    `idle writes ${r.idle.writes}${r.notes.length ? `; notes: ${r.notes.join('; ')}` : ''}`,
            );
        } catch (err) {
            const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
            failures.push({ variant: v.name, round, error });
            log(`${v.name} failed: ${error}`);
        }
        await save();
    }
}
console.log(table());
console.log(`result: ${base}.json`);
process.exit(failures.length ? 1 : 0);
