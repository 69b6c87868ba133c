/**
 * Time to re-converge per scenario, recorded by every run of the fault suite: printed as each scenario finishes and
 * written to test/faults/results/last-run.json (git-ignored: each run writes its own; docs/reliability.md quotes a
 * real run). The file is rewritten after every scenario, so an interrupted run still leaves what it measured.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_FILE = join(dirname(fileURLToPath(import.meta.url)), 'results', 'last-run.json');

export interface ScenarioResult {
    scenario: string;
    /** Seconds from the end of the fault to the first reading that matched the plan. */
    reconvergeSeconds: number;
    /** What the clock started at (e.g. "API server ready again"). */
    from: string;
    namespaces: number;
    details?: Record<string, number | string | boolean>;
}

const run = {
    startedAt: new Date().toISOString(),
    machine: { cpus: cpus().length, loadavgAtStart: loadavg()[0] },
    results: [] as ScenarioResult[],
};

export function recordResult(r: ScenarioResult): void {
    run.results.push(r);
    const extra = r.details ? ` ${JSON.stringify(r.details)}` : '';
    console.log(
        `      [faults] ${r.scenario}: re-converged ${r.reconvergeSeconds.toFixed(1)} s after ${r.from}${extra}`,
    );
    mkdirSync(dirname(RESULTS_FILE), { recursive: true });
    writeFileSync(
        RESULTS_FILE,
        JSON.stringify({ ...run, finishedAt: new Date().toISOString() }, null, 2) + '\n',
    );
}
