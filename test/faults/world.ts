/**
 * The fault suite's shared world, set up once per run on the real control plane of the root hooks: the operator's
 * RBAC (config/rbac), the fault proxy in front of the API server, the six profiles over FAULTS_NAMESPACES namespaces,
 * and ONE operator process (no leader election) that reaches the API server only through the proxy.
 *
 * Every scenario starts from "converged" and must end there: `waitConverged` polls the checker (converged.ts) and
 * returns how long after a given instant the cluster first matched the plan; `assertSameOperator` proves the process
 * did not crash or restart (same pid, still running). A scenario that replaces the operator on purpose says so with
 * `replaceOperator`.
 *
 * Design choice: the world is a lazily created singleton so each scenario file can run alone (`mocha ... file`) or
 * with the others in any order; setup cost (a few hundred namespaces) is paid once.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';

import { testEnv } from '../integration/env.ts';
import { eventually, sleep } from '../support/eventually.ts';
import {
    installOperatorRbac,
    metricValue,
    startOperatorProcess,
    type OperatorOptions,
    type OperatorProcess,
} from '../support/operator.ts';
import { compareToPlan, isConverged, readCluster, summary, type Discrepancies } from './converged.ts';
import {
    byNameSelection,
    namespaceCount,
    namespaceList,
    namespaceSpec,
    profiles,
    serviceAccountList,
    type NamespaceSpec,
} from './fixture.ts';
import { FaultProxy } from './proxy.ts';

/** Upper bound for any one re-convergence; generous because the machine is shared (never a performance claim). */
export const CONVERGE_TIMEOUT_MS = Number(process.env.FAULTS_CONVERGE_TIMEOUT_MS ?? 600_000);

export class FaultWorld {
    readonly proxy: FaultProxy;
    /** The operator ServiceAccount's kubeconfig, straight to the API server. */
    readonly directKubeconfig: string;
    /** The same credentials through the fault proxy. */
    readonly proxiedKubeconfig: string;
    readonly count: number;
    operator: OperatorProcess;
    #exited = false;
    profileRevision = 0;

    private constructor(
        proxy: FaultProxy,
        direct: string,
        proxied: string,
        count: number,
        operator: OperatorProcess,
    ) {
        this.proxy = proxy;
        this.directKubeconfig = direct;
        this.proxiedKubeconfig = proxied;
        this.count = count;
        this.operator = operator;
        this.#watch(operator);
    }

    static async create(): Promise<FaultWorld> {
        const env = testEnv();
        const direct = await installOperatorRbac(env.controlPlane);
        const proxy = await FaultProxy.start({
            upstream: env.controlPlane.state.server,
            pkiDir: join(env.runDir, 'pki'),
            seed: Number(process.env.FAULTS_SEED ?? 1),
        });
        const proxied = await proxy.kubeconfigThrough(
            direct,
            join(env.runDir, 'operator-via-proxy.kubeconfig'),
        );
        const count = namespaceCount();
        const all = Array.from({ length: count }, (_, i) => i);
        await kubectlApply(namespaceList(all.map((i) => namespaceSpec(i))));
        await kubectlApply(serviceAccountList(all));
        const operator = await startOperatorProcess(env.controlPlane, {
            kubeconfig: proxied,
            name: 'faults-operator',
        });
        const world = new FaultWorld(proxy, direct, proxied, count, operator);
        await world.applyProfiles(0);
        const t0 = Date.now();
        const s = await world.waitConverged('the initial converge', t0);
        console.error(`      [faults] ${count} namespaces, 6 profiles: first converge in ${s.toFixed(1)} s`);
        return world;
    }

    #watch(op: OperatorProcess): void {
        this.#exited = false;
        void op.exited.then(() => {
            if (this.operator === op) this.#exited = true;
        });
    }

    /** Starts an operator process through the proxy (the suite's configuration) with extra options. */
    async startOperator(o: Partial<OperatorOptions> = {}): Promise<OperatorProcess> {
        return startOperatorProcess(testEnv().controlPlane, {
            kubeconfig: this.proxiedKubeconfig,
            name: 'faults-operator',
            ...o,
        });
    }

    /** Makes `op` the operator later scenarios check (after a scenario killed or stopped the previous one). */
    replaceOperator(op: OperatorProcess): void {
        this.operator = op;
        this.#watch(op);
    }

    /** The operator that was running is still the same, running process: no crash, no restart. */
    async assertSameOperator(pid: number): Promise<void> {
        assert.equal(this.operator.pid, pid, 'the operator process was replaced');
        assert.equal(this.#exited, false, `the operator exited; log: ${this.operator.logPath}`);
        const res = await fetch(`${this.operator.healthUrl}/healthz`);
        assert.equal(res.status, 200, 'the operator answers /healthz');
    }

    async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
        return metricValue(await this.operator.metrics(), name, labels);
    }

    /** Applies the six profiles at `revision` (a profile edit when it changes). */
    async applyProfiles(revision: number): Promise<void> {
        this.profileRevision = revision;
        const list = profiles(revision, byNameSelection(this.count));
        await kubectlApply(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: list }));
    }

    async applyNamespaces(specs: readonly NamespaceSpec[]): Promise<void> {
        await kubectlApply(namespaceList(specs));
    }

    /**
     * Hand edits of generated objects, as a person with kubectl would make them: in `n` governed namespaces of the
     * fixture, one NetworkPolicy's spec rewritten, one deleted, and one object relabelled to another profile.
     * Returns how many edits were made.
     */
    async handEdits(n: number): Promise<number> {
        const env = testEnv();
        const snap = await readCluster(env.kc());
        const byNs = new Map<string, string[]>();
        for (const np of snap.networkPolicies) {
            const ns = np.metadata?.namespace ?? '';
            byNs.set(ns, [...(byNs.get(ns) ?? []), np.metadata?.name ?? '']);
        }
        let edits = 0;
        for (const [ns, names] of [...byNs].slice(0, n)) {
            const [first, second, third] = names;
            if (first) {
                const patch = JSON.stringify({
                    spec: { podSelector: { matchLabels: { edited: 'by-hand' } } },
                });
                if (
                    await mustKubectl([
                        'patch',
                        'networkpolicy',
                        first,
                        '-n',
                        ns,
                        '--type=merge',
                        '-p',
                        patch,
                    ])
                )
                    edits++;
            }
            if (second) {
                if (await mustKubectl(['delete', 'networkpolicy', second, '-n', ns, '--wait=false'])) edits++;
            }
            if (third) {
                if (
                    await mustKubectl([
                        'label', '--overwrite', 'networkpolicy', third, '-n', ns, 'isolation.dev/profile=someone-else',
                    ]) // prettier-ignore
                )
                    edits++;
            }
        }
        return edits;
    }

    async check(): Promise<Discrepancies> {
        return compareToPlan(await readCluster(testEnv().kc()));
    }

    /**
     * Polls until the cluster matches the plan; returns the seconds from `since` (epoch ms) to the first converged
     * reading. Fails with what was still different after CONVERGE_TIMEOUT_MS.
     */
    async waitConverged(what: string, since: number, timeoutMs = CONVERGE_TIMEOUT_MS): Promise<number> {
        let last: Discrepancies | undefined;
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            try {
                last = await this.check();
                if (isConverged(last)) return (Date.now() - since) / 1000;
            } catch (err) {
                if (Date.now() > deadline) throw err;
            }
            if (Date.now() > deadline)
                throw new Error(
                    `${what}: not converged after ${timeoutMs / 1000} s: ${last ? summary(last) : 'no reading'}; ` +
                        `operator log: ${this.operator.logPath}`,
                );
            await sleep(500);
        }
    }

    /** Waits until the operator has written at least `n` more objects than `from` (a positive barrier). */
    async waitWrites(from: number, n: number, timeoutMs = 120_000): Promise<number> {
        return eventually(
            `${n} writes by the operator`,
            async () => {
                const w = await this.metric('isolation_operator_writes_total');
                return w >= from + n ? w : undefined;
            },
            timeoutMs,
            20,
        );
    }
}

let world: Promise<FaultWorld> | undefined;

export function faultWorld(): Promise<FaultWorld> {
    world ??= FaultWorld.create();
    return world;
}

/** Stops what the world runs in this process (the proxy); the control plane's teardown stops the operator. */
export async function stopFaultWorld(): Promise<void> {
    const w = await world?.catch(() => undefined);
    await w?.proxy.stop();
}

/** Runs kubectl; false when the object is gone (the operator may have pruned it meanwhile), throws otherwise. */
async function mustKubectl(args: string[]): Promise<boolean> {
    const res = await testEnv().kubectl(args);
    if (res.code === 0) return true;
    if (/NotFound/.test(res.stderr)) return false;
    throw new Error(`kubectl ${args.join(' ')}: ${res.stderr}`);
}

export async function kubectlApply(json: string): Promise<void> {
    const res = await testEnv().kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], {
        input: json,
    });
    if (res.code !== 0) throw new Error(`kubectl apply: ${res.stderr}`);
}
