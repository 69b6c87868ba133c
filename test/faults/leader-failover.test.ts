/**
 * Two replicas with leader election (the production lease timings: 15 s lease, 10 s renew deadline, 2 s retry), the
 * leader SIGKILLed in the middle of converging a profile edit: the standby takes over once the lease expires,
 * converges to the plan, and writes nothing the dead leader had already written (from the API server's audit log:
 * no object written twice with the same verb since the edit).
 */
import assert from 'node:assert/strict';

import { testEnv } from '../integration/env.ts';
import { byUser, readAuditSettled, writes } from '../support/audit.ts';
import { eventually } from '../support/eventually.ts';
import { metricValue, OPERATOR_NAMESPACE, OPERATOR_USER, type OperatorProcess } from '../support/operator.ts';
import { recordResult } from './results.ts';
import { faultWorld } from './world.ts';

const isLeader = async (p: OperatorProcess) =>
    metricValue(await p.metrics(), 'leader_election_master_status', { name: 'isolation-operator' }) === 1;

describe('faults: leader SIGKILLed with two replicas', function () {
    it('the standby takes over and converges; nothing is written twice', async function () {
        const w = await faultWorld();
        await w.waitConverged('precondition', Date.now());
        await w.operator.stop();
        const args = ['--leader-elect', '--leader-election-namespace', OPERATOR_NAMESPACE];
        const replicas = [
            await w.startOperator({ name: 'faults-a', args: [...args, '--identity', 'faults-a'] }),
            await w.startOperator({ name: 'faults-b', args: [...args, '--identity', 'faults-b'] }),
        ];
        try {
            const leader = await eventually(
                'one leader',
                async () => {
                    const l = [];
                    for (const r of replicas) if (await isLeader(r)) l.push(r);
                    return l.length === 1 ? l[0] : undefined;
                },
                60_000,
                200,
            );
            const standby = replicas.find((r) => r !== leader)!;
            const editAt = new Date();
            const before = metricValue(await leader.metrics(), 'isolation_operator_writes_total');
            await w.applyProfiles(w.profileRevision + 1);
            await eventually(
                'the leader writing the edit',
                async () =>
                    metricValue(await leader.metrics(), 'isolation_operator_writes_total') >= before + 5,
                120_000,
                20,
            );
            await leader.kill();
            const killedAt = Date.now();
            w.replaceOperator(standby);
            const s = await w.waitConverged('after the leader was killed', killedAt);
            assert.ok(await isLeader(standby), 'the standby leads');
            await w.assertSameOperator(standby.pid);

            // Audit: every write of the operator's ServiceAccount since the edit, by object and verb.
            const env = testEnv();
            const events = writes(
                byUser(
                    await readAuditSettled((a) => env.kubectl(a), env.auditLogPath, editAt),
                    OPERATOR_USER,
                ),
            ).filter(
                (e) =>
                    e.objectRef?.subresource === undefined &&
                    !['leases', 'events'].includes(e.objectRef?.resource ?? '') &&
                    (e.responseStatus?.code ?? 0) < 300,
            );
            const seen = new Map<string, number>();
            for (const e of events) {
                const o = e.objectRef ?? {};
                const k = `${e.verb} ${o.resource} ${o.namespace ?? ''}/${o.name ?? ''}`;
                seen.set(k, (seen.get(k) ?? 0) + 1);
            }
            const twice = [...seen].filter(([, c]) => c > 1).map(([k, c]) => `${k} x${c}`);
            assert.deepEqual(twice, [], 'objects written twice since the edit');
            const firstStandbyWrite = events
                .map((e) => Date.parse(e.requestReceivedTimestamp))
                .filter((t) => t >= killedAt)
                .sort((a, b) => a - b)[0];
            recordResult({
                scenario: 'leader SIGKILL, two replicas (lease 15 s)',
                reconvergeSeconds: s,
                from: 'the leader was killed',
                namespaces: w.count,
                details: {
                    standbyFirstWriteSeconds:
                        firstStandbyWrite === undefined
                            ? -1
                            : Math.round((firstStandbyWrite - killedAt) / 100) / 10,
                    writesSinceEdit: events.length,
                },
            });
        } finally {
            for (const r of replicas) await r.stop();
            w.replaceOperator(await w.startOperator());
        }
    });
});
