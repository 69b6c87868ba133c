/**
 * Fuzz: random profiles (test/support/profile-arbitraries.ts) through the real API server with
 * `kubectl apply --server-side`, as a GitOps tool sends them, while the real operator runs under its own
 * ServiceAccount next to a base profile that governs the same namespaces. Each run applies a batch of one to three
 * profiles (valid ones, and ones with exactly one known fault), checks, then deletes the batch, so a run does not
 * depend on the runs before it and fast-check can shrink a failing batch against the same real cluster.
 *
 * What must hold, for every run:
 * - every faulty profile is rejected, and the message names the faulty field;
 * - every valid profile is accepted and reaches a documented condition: status.observedGeneration equals
 *   metadata.generation, and every condition's type, status and reason is one of the condition table in
 *   docs/api.md, at the current observedGeneration;
 * - the operator's log has no error-level line (and nothing but JSON log lines after start-up).
 * After all runs the base profile is Ready again (the base workload re-converged). A first, deterministic test
 * applies every fault the generator knows once, so the fault table itself is checked against the API server.
 *
 * Fixed seed by default (the run is reproducible); FUZZ_SEED and FUZZ_RUNS override it. On failure fast-check
 * prints the seed, the path and the shrunk batch; rerun with the same FUZZ_SEED to reproduce.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import fc from 'fast-check';

import type { IsolationProfile, IsolationProfileSpec } from '../../src/api/types.ts';
import { eventually } from '../support/eventually.ts';
import { installOperatorRbac, REPO, startOperatorProcess } from '../support/operator.ts';
import type { OperatorProcess } from '../support/operator.ts';
import {
    DEFAULT_VOCABULARY,
    FAULT_NAMES,
    faultySpec,
    validSpec,
    withFault,
} from '../support/profile-arbitraries.ts';
import {
    BASE_PROFILE,
    createWorkload,
    getProfile,
    profileManifest,
    waitIdle,
    waitObserved,
} from '../support/profile-workload.ts';
import type { Kubectl } from '../support/profile-workload.ts';
import { documentedConditions } from '../support/documented-conditions.ts';
import { testEnv } from './env.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 1405);
const RUNS = Number(process.env.FUZZ_RUNS ?? 25);
const V = DEFAULT_VOCABULARY;
const FUZZ_LABEL = 'isolation.dev/fuzz';
const RESYNC_SECONDS = 20;

type Case =
    { kind: 'valid'; spec: unknown } | { kind: 'faulty'; spec: unknown; fault: string; field: string };

const caseArb: fc.Arbitrary<Case> = fc.oneof(
    { weight: 3, arbitrary: validSpec(V).map((spec): Case => ({ kind: 'valid', spec })) },
    { weight: 1, arbitrary: faultySpec(V).map((f): Case => ({ kind: 'faulty', ...f })) },
);
/** A batch: one to three profiles, named from the vocabulary so `profile` peers find each other. */
const batchArb = fc.array(caseArb, { minLength: 1, maxLength: V.profiles.length });

/** Log lines after `from` (bytes) that are not JSON or are at error level. */
function badLogLines(path: string, from: number): { lines: string[]; end: number } {
    const buf = readFileSync(path);
    const lines: string[] = [];
    for (const line of buf.subarray(from).toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        let level: unknown;
        try {
            level = (JSON.parse(line) as { level?: unknown }).level;
        } catch {
            lines.push(line);
            continue;
        }
        if (level === 'error' || level === 'fatal') lines.push(line);
    }
    return { lines, end: buf.length };
}

describe('fuzz: random profiles through the real API server, with the operator running', function () {
    this.timeout(Math.max(10, RUNS) * 60_000);
    let op: OperatorProcess | undefined;
    let logOffset = 0;
    const documented = documentedConditions(readFileSync(join(REPO, 'docs', 'api.md'), 'utf8'));
    const kubectl: Kubectl = (args, opts) => testEnv().kubectl(args, opts);
    /** What the run covered (shrinking re-runs included): rejections by fault, Ready reasons of accepted ones. */
    const seen = new Map<string, number>();
    const count = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1);

    before(async function () {
        const env = testEnv();
        const kubeconfig = await installOperatorRbac(env.controlPlane);
        await createWorkload(kubectl, V);
        // A short resync: a namespace whose objects were blocked by orphans (see removeOrphans) is re-reconciled
        // only by a resync once they are gone, and the final check waits for the base profile to recover.
        op = await startOperatorProcess(env.controlPlane, {
            kubeconfig,
            name: 'fuzz-operator',
            args: [`--resync-period=${RESYNC_SECONDS}s`],
        });
        await waitObserved(kubectl, BASE_PROFILE);
        logOffset = badLogLines(op.logPath, 0).end; // start-up output is not the fuzz run's
    });

    after(async function () {
        console.log(
            [...seen]
                .sort()
                .map(([k, n]) => `      ${String(n).padStart(4)}  ${k}`)
                .join('\n'),
        );
        await op?.stop();
    });

    function checkDocumented(p: IsolationProfile): void {
        const name = p.metadata.name;
        const gen = p.metadata.generation;
        assert.equal(p.status?.observedGeneration, gen, `${name}: status.observedGeneration`);
        const conditions = p.status?.conditions ?? [];
        for (const c of conditions) {
            const reasons = documented.get(c.type)?.get(c.status);
            assert.ok(reasons, `${name}: condition ${c.type}=${c.status} is not documented in docs/api.md`);
            assert.ok(
                reasons.has(c.reason),
                `${name}: ${c.type}=${c.status} reason ${c.reason} is not documented`,
            );
            assert.equal(c.observedGeneration, gen, `${name}: ${c.type}.observedGeneration`);
        }
        const ready = conditions.find((c) => c.type === 'Ready');
        assert.ok(ready, `${name}: no Ready condition`);
        if (p.spec.mode === 'DryRun')
            assert.ok(
                ['DryRun', 'ApplyFailed'].includes(ready.reason),
                `${name}: DryRun but Ready ${ready.reason}`,
            );
        if (ready.status === 'True') assert.equal(ready.reason, 'Reconciled');
        count(`Ready=${ready.status} ${ready.reason}`);
    }

    /**
     * `deletionPolicy: Orphan` leaves a deleted profile's objects in place, without the managed-by label, and the
     * operator never adopts an object it did not create: the base profile reports them (ApplyFailed) until someone
     * removes them. That is the documented contract; the fuzz run plays that someone, so the next run starts clean.
     * (The operator does not watch objects it does not manage, so it notices their removal at the next resync.)
     * Only the vocabulary's namespaces are touched, where nothing but the operator writes these kinds.
     */
    async function removeOrphans(): Promise<void> {
        for (const ns of V.namespaces) {
            const res = await kubectl([
                'delete',
                'networkpolicies,rolebindings',
                '-n',
                ns,
                '-l',
                '!app.kubernetes.io/managed-by',
                '--wait=true',
            ]);
            assert.equal(res.code, 0, `remove orphans in ${ns}: ${res.stderr}`);
        }
    }

    async function runBatch(batch: Case[]): Promise<void> {
        const accepted: string[] = [];
        try {
            for (const [i, c] of batch.entries()) {
                const name = V.profiles[i]!;
                const res = await kubectl(
                    ['apply', '--server-side', '--field-manager=fuzz', '--force-conflicts', '-f', '-'],
                    { input: profileManifest(name, c.spec, { [FUZZ_LABEL]: 'true' }) },
                );
                if (c.kind === 'faulty') {
                    assert.notEqual(res.code, 0, `${name} (${c.fault}) was accepted`);
                    count(`rejected: ${c.fault}`);
                    assert.ok(
                        res.stderr.includes(c.field),
                        `${name} (${c.fault}) was rejected without naming ${c.field}: ${res.stderr.trim()}`,
                    );
                } else {
                    assert.equal(res.code, 0, `${name}: a valid profile was rejected: ${res.stderr.trim()}`);
                    accepted.push(name);
                }
            }
            for (const name of accepted) checkDocumented(await waitObserved(kubectl, name));
            // The last word: once the operator is idle, each status still describes the current generation.
            await waitIdle(op!, { quietMs: 1500 });
            for (const name of accepted) checkDocumented(await getProfile(kubectl, name));
        } finally {
            const del = await kubectl([
                'delete',
                'isolationprofiles',
                '-l',
                `${FUZZ_LABEL}=true`,
                '--wait=true',
                '--timeout=120s',
            ]);
            assert.equal(del.code, 0, `delete: ${del.stderr}`);
            if (
                batch.some(
                    (c) => c.kind === 'valid' && (c.spec as IsolationProfileSpec).deletionPolicy === 'Orphan',
                )
            )
                await removeOrphans();
        }
        const bad = badLogLines(op!.logPath, logOffset);
        logOffset = bad.end;
        assert.deepEqual(bad.lines, [], 'error-level or unexpected lines in the operator log');
    }

    it('rejects each kind of fault the generator knows, naming its field (every row of the fault table once)', async function () {
        const base = fc.sample(validSpec(V), { seed: SEED, numRuns: 1 })[0]!;
        for (const fault of FAULT_NAMES) await runBatch([{ kind: 'faulty', ...withFault(fault, base) }]);
    });

    it(`rejects every faulty profile naming its field and brings every valid one to a documented condition (seed ${SEED}, ${RUNS} runs)`, async function () {
        await fc.assert(
            fc.asyncProperty(batchArb, (batch) => runBatch(batch)),
            { seed: SEED, numRuns: RUNS },
        );
        // The base workload re-converges once the random profiles (and their orphans) are gone.
        await eventually(
            'base profile Ready=True after the fuzz run',
            async () => {
                const p = await getProfile(kubectl, BASE_PROFILE);
                const ready = p.status?.conditions?.find((c) => c.type === 'Ready');
                return p.status?.observedGeneration === p.metadata.generation && ready?.status === 'True';
            },
            (RESYNC_SECONDS + 60) * 1000,
            500,
        );
        await waitIdle(op!, { quietMs: 2000 });
        checkDocumented(await getProfile(kubectl, BASE_PROFILE));
        const bad = badLogLines(op!.logPath, logOffset);
        assert.deepEqual(bad.lines, [], 'error-level or unexpected lines in the operator log');
    });
});
