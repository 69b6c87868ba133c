/**
 * High availability against a real API server: operator processes with leader election on one Lease, each under
 * the operator's own ServiceAccount. Exactly one leads, every replica is ready (standbys keep warm caches and
 * write nothing), a SIGKILLed leader is replaced and the change made meanwhile converges, and a SIGTERMed leader
 * hands the Lease over at once instead of letting it expire.
 *
 * Design choice: timings are short (4 s lease, 3 s renew deadline, 500 ms retry) so a takeover after a crash
 * fits a test; the graceful hand-over is then measured against that lease duration. Leadership is read from two
 * independent sources: the `leader_election_master_status` gauge of each process and the Lease holderIdentity.
 */
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';

import { readFile } from 'node:fs/promises';

import {
    byUser,
    describe as describeEvent,
    readAuditSettled,
    writes as writeEvents,
} from '../support/audit.ts';
import type { OperatorProcess } from '../support/operator.ts';
import {
    OPERATOR_NAMESPACE,
    OPERATOR_USER,
    installOperatorRbac,
    metricValue,
    startOperatorProcess,
} from '../support/operator.ts';
import { testEnv, uniqueName } from './env.ts';
import { eventually } from '../support/eventually.ts';

const LEASE = 'isolation-operator';
const LEASE_DURATION_MS = 4000;
const LEADER_ARGS = [
    '--leader-elect',
    '--leader-election-namespace',
    OPERATOR_NAMESPACE,
    '--lease-duration',
    '4s',
    '--renew-deadline',
    '3s',
    '--retry-period',
    '500ms',
];

let rbac: Promise<string> | undefined;
/** config/rbac applied once per file; resolves with the operator ServiceAccount's kubeconfig. */
function operatorKubeconfig(): Promise<string> {
    rbac ??= installOperatorRbac(testEnv().controlPlane);
    return rbac;
}

interface Replica {
    identity: string;
    proc: OperatorProcess;
    exited: boolean;
    /** SIGTERM sent: no longer a candidate (its endpoints close before the process exits). */
    stopping: boolean;
}

/** The Lease holder ('' when released), or undefined when there is no Lease. */
async function leaseHolder(): Promise<string | undefined> {
    const res = await testEnv().kubectl(['get', 'lease', LEASE, '-n', OPERATOR_NAMESPACE, '-o', 'json']);
    if (res.code !== 0) {
        if (/NotFound/.test(res.stderr)) return undefined;
        throw new Error(`get lease: ${res.stderr}`);
    }
    const lease = JSON.parse(res.stdout) as { spec?: { holderIdentity?: string } };
    return lease.spec?.holderIdentity ?? '';
}

/** The replica's JSON log lines with this message (a positive barrier: it did what the line says). */
async function logged(r: Replica, message: string): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    for (const line of (await readFile(r.proc.logPath, 'utf8')).split('\n')) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry.message === message) out.push(entry);
    }
    return out;
}

async function clusterNamespaceCount(): Promise<number> {
    const res = await testEnv().kubectl(['get', 'namespaces', '-o', 'name']);
    assert.equal(res.code, 0, res.stderr);
    return res.stdout.split('\n').filter(Boolean).length;
}

async function isMaster(r: Replica): Promise<boolean> {
    return metricValue(await r.proc.metrics(), 'leader_election_master_status', { name: LEASE }) === 1;
}

async function writes(r: Replica): Promise<number> {
    return metricValue(await r.proc.metrics(), 'isolation_operator_writes_total');
}

async function readyz(r: Replica): Promise<number> {
    return (await fetch(`${r.proc.healthUrl}/readyz`)).status;
}

async function networkPolicies(ns: string): Promise<string[]> {
    const res = await testEnv().kubectl([
        'get',
        'networkpolicies',
        '-n',
        ns,
        '-l',
        'app.kubernetes.io/managed-by=isolation-operator',
        '-o',
        'jsonpath={.items[*].metadata.name}',
    ]);
    assert.equal(res.code, 0, res.stderr);
    return res.stdout.split(/\s+/).filter(Boolean).sort();
}

describe('high availability: leader election between operator replicas', function () {
    const replicas: Replica[] = [];
    const namespaces: string[] = [];
    const hex = uniqueName('h').slice(2);
    const team = `ha-${hex}`;
    const profile = `ha-${hex}`;
    let profileCreated = false;
    /** The namespace converged before the first takeover. */
    let ns1 = '';
    /** The graceful stop of the third test: when SIGTERM was sent, and the process' exit. */
    let sigtermAt = 0;
    let gracefulExit: Promise<{ code: number | null; at: number }> | undefined;

    async function startReplica(identity: string): Promise<Replica> {
        const proc = await startOperatorProcess(testEnv().controlPlane, {
            kubeconfig: await operatorKubeconfig(),
            name: identity,
            args: [...LEADER_ARGS, '--identity', identity],
        });
        const r: Replica = { identity, proc, exited: false, stopping: false };
        void proc.exited.then(() => (r.exited = true));
        replicas.push(r);
        return r;
    }

    const running = () => replicas.filter((r) => !r.exited && !r.stopping);

    async function theLeader(): Promise<Replica> {
        return eventually('exactly one leader, agreeing with the Lease', async () => {
            const live = running();
            const masters: Replica[] = [];
            for (const r of live) if (await isMaster(r)) masters.push(r);
            if (masters.length !== 1) return undefined;
            return (await leaseHolder()) === masters[0]!.identity ? masters[0] : undefined;
        });
    }

    before(async function () {
        this.timeout(120_000);
        await operatorKubeconfig();
    });

    after(async function () {
        this.timeout(180_000);
        // The profile first, while a leader still runs to process its finalizer.
        if (profileCreated) {
            const res = await testEnv().kubectl([
                'delete',
                'isolationprofile',
                profile,
                '--ignore-not-found',
                '--wait=true',
                '--timeout=60s',
            ]);
            if (res.code !== 0) console.error(`delete profile ${profile}: ${res.stderr}`);
        }
        for (const r of replicas.filter((x) => !x.exited)) {
            const wasStopping = r.stopping;
            r.stopping = true;
            const code = await r.proc.stop();
            if (code !== 0 && !wasStopping)
                console.error(`${r.identity} exited with ${code}; log: ${r.proc.logPath}`);
        }
        for (const ns of namespaces) await testEnv().kubectl(['delete', 'namespace', ns, '--wait=false']);
    });

    it('elects exactly one leader; every replica is ready and standbys write nothing', async function () {
        this.timeout(120_000);
        const a = await startReplica(`ha-a-${hex}`);
        assert.equal(await theLeader(), a);

        ns1 = await testEnv().createNamespace('ha-1', { 'isolation.dev/team': team });
        namespaces.push(ns1);
        const res = await testEnv().kubectl(['apply', '-f', '-'], {
            input: JSON.stringify({
                apiVersion: 'isolation.dev/v1alpha1',
                kind: 'IsolationProfile',
                metadata: { name: profile },
                spec: { namespaces: { selector: { matchLabels: { 'isolation.dev/team': team } } } },
            }),
        });
        assert.equal(res.code, 0, res.stderr);
        profileCreated = true;
        await eventually(`the leader converges ${ns1}`, async () =>
            isDeepStrictEqual(await networkPolicies(ns1), [
                'isolation-default-deny',
                'isolation-dns',
                'isolation-same-namespace',
            ]),
        );
        await eventually(`profile ${profile} Ready`, async () => {
            const got = await testEnv().kubectl([
                'get',
                'isolationprofile',
                profile,
                '-o',
                'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
            ]);
            return got.stdout.trim() === 'True';
        });

        // A second replica joins the converged cluster (as in a rolling update): its caches are filled by the
        // initial list, not by watch events, which is what a later takeover works from.
        const b = await startReplica(`ha-b-${hex}`);
        // Barrier: the standby has campaigned, read the Lease and seen who holds it.
        await eventually('the standby observed the leader', async () =>
            (await logged(b, 'leader observed')).some((e) => e.leader === a.identity),
        );
        assert.equal(await theLeader(), a);
        assert.equal(await isMaster(b), false);
        // startOperatorProcess waited for /readyz; both answer ready (the standby's caches are warm).
        assert.equal(await readyz(a), 200);
        assert.equal(await readyz(b), 200);
        assert.ok((await writes(a)) > 0, 'the leader wrote');
        assert.equal(await writes(b), 0, 'the standby wrote nothing');
    });

    it('after the leader is SIGKILLed, the standby takes over and converges a change made meanwhile', async function () {
        this.timeout(120_000);
        const leader = await theLeader();
        const standby = running().find((r) => r !== leader)!;
        await leader.proc.kill();
        const killedAt = Date.now();
        // From here on every write of the operator's ServiceAccount comes from the standby.
        const since = new Date(killedAt);

        const ns2 = await testEnv().createNamespace('ha-2', { 'isolation.dev/team': team });
        namespaces.push(ns2);
        const expected = ['isolation-default-deny', 'isolation-dns', 'isolation-same-namespace'];
        let last: string[] = [];
        await eventually(
            `the new leader converges ${ns2}`,
            async () => isDeepStrictEqual((last = await networkPolicies(ns2)), expected),
            30_000,
        ).catch((err: unknown) => {
            throw new Error(
                `${(err as Error).message}; last seen: [${last.join(', ')}]; log: ${standby.proc.logPath}`,
            );
        });
        const convergedMs = Date.now() - killedAt;
        assert.equal(await theLeader(), standby);
        assert.equal(await leaseHolder(), standby.identity);
        // Nothing could be done before the dead leader's lease expired.
        assert.ok(convergedMs >= LEASE_DURATION_MS - 1000, `converged after ${convergedMs} ms`);
        console.log(`      (took over and converged ${convergedMs} ms after the SIGKILL)`);

        // Taking over a converged namespace costs no write (warm caches, level-triggered diff): only the new
        // namespace was written. Both replicas share one ServiceAccount; the old leader was dead all along.
        // Barrier: the new leader reconciled every namespace of the cluster (activation enqueues them all) and its
        // queues drained; then the audit log up to now.
        const namespaceCount = await clusterNamespaceCount();
        await eventually('the new leader reconciled every namespace and drained its queues', async () => {
            const text = await standby.proc.metrics();
            const done = metricValue(text, 'controller_runtime_reconcile_total', { controller: 'namespace' });
            return done >= namespaceCount && metricValue(text, 'workqueue_depth') === 0;
        });
        const env = testEnv();
        const audit = writeEvents(
            byUser(await readAuditSettled((a) => env.kubectl(a), env.auditLogPath, since), OPERATOR_USER),
        );
        const toConverged = audit.filter(
            (e) =>
                e.objectRef?.namespace === ns1 ||
                (e.objectRef?.resource === 'namespaces' && e.objectRef.name === ns1),
        );
        assert.deepEqual(
            toConverged.map(describeEvent),
            [],
            `writes to the already converged ${ns1} after the takeover (log: ${standby.proc.logPath})`,
        );
    });

    it('a leader stopped with SIGTERM releases the Lease (its log says so) and a standby takes over', async function () {
        this.timeout(120_000);
        const leader = await theLeader();
        const c = await startReplica(`ha-c-${hex}`);
        assert.equal(await readyz(c), 200);
        assert.equal(await isMaster(c), false);
        assert.equal(await leaseHolder(), leader.identity);

        sigtermAt = Date.now();
        gracefulExit = leader.proc.exited.then((code) => ({ code, at: Date.now() }));
        leader.stopping = true;
        process.kill(leader.proc.pid, 'SIGTERM');
        await eventually(
            'the Lease released or taken over',
            async () => ((await leaseHolder()) !== leader.identity ? true : undefined),
            10_000,
            50,
        );
        // It left because the leader gave it up, not because it expired: the stopping process released it.
        await eventually('the stopping leader says it released the Lease', async () =>
            (await logged(leader, 'released the leader lease')).length === 1 ? true : undefined,
        );
        const next = await eventually(
            'the standby leads',
            async () => ((await isMaster(c)) && (await leaseHolder()) === c.identity ? c : undefined),
            10_000,
        );
        assert.equal(next, c);
        assert.equal(await theLeader(), c);

        // The new leader keeps converging: a new namespace gets its policies.
        const ns3 = await testEnv().createNamespace('ha-3', { 'isolation.dev/team': team });
        namespaces.push(ns3);
        await eventually(`the new leader converges ${ns3}`, async () =>
            (await networkPolicies(ns3)).includes('isolation-default-deny'),
        );
    });

    it('a leader stopped with SIGTERM exits promptly once idle, exit code 0', async function () {
        this.timeout(60_000);
        assert.ok(gracefulExit, 'the previous test sent SIGTERM');
        const { code, at } = await gracefulExit;
        assert.equal(code, 0, 'exit code of a graceful stop');
        // Nothing was in flight: the queues drained at once, not by the whole --shutdown-timeout (30 s, also the
        // kubelet's default grace before SIGKILL), which would have logged that reconciles were aborted.
        const [stopped] = replicas.filter((r) => r.stopping);
        assert.ok(stopped, 'the replica stopped in the previous test');
        assert.equal((await logged(stopped, 'stopped')).length, 1, 'the shutdown completed');
        assert.deepEqual(
            await logged(stopped, 'in-flight reconciles did not finish in time; aborting them'),
            [],
        );
        console.log(`      (exited ${at - sigtermAt} ms after SIGTERM)`);
    });
});
