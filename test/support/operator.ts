/**
 * Runs the real operator (`src/main.ts run`) as a child process on the pinned Node 24, under the ServiceAccount
 * and RBAC from `config/rbac/` — the same permissions as in a cluster. Its pid goes into the control plane's pid
 * file, so the watchdog and teardown stop it with everything else. Used by integration tests, the demo and bench.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { ControlPlane } from '../controlplane/controlplane.ts';
import { PIDS_FILE, stopProcess } from '../controlplane/processes.ts';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const NODE = join(REPO, 'node_modules', '.bin', 'node');
export const OPERATOR_NAMESPACE = 'isolation-system';
export const OPERATOR_SA = 'isolation-operator';
export const OPERATOR_USER = `system:serviceaccount:${OPERATOR_NAMESPACE}:${OPERATOR_SA}`;

/** Applies config/rbac (ServiceAccount, ClusterRoles, bindings, leader-election Role) and mints a token. */
export async function installOperatorRbac(cp: ControlPlane): Promise<string> {
    await cp.kubectl(['create', 'namespace', OPERATOR_NAMESPACE]);
    const res = await cp.kubectl(['apply', '--server-side', '-k', join(REPO, 'config', 'rbac')]);
    if (res.code !== 0) throw new Error(`apply config/rbac: ${res.stderr}`);
    return cp.serviceAccountKubeconfig(OPERATOR_NAMESPACE, OPERATOR_SA);
}

export async function freePort(): Promise<number> {
    return new Promise((res, rej) => {
        const srv = createServer();
        srv.on('error', rej);
        srv.listen(0, '127.0.0.1', () => {
            const a = srv.address();
            const port = typeof a === 'object' && a ? a.port : 0;
            srv.close(() => res(port));
        });
    });
}

export interface OperatorProcess {
    pid: number;
    metricsUrl: string;
    healthUrl: string;
    logPath: string;
    /** Graceful stop (SIGTERM, wait); resolves with the exit code. */
    stop(): Promise<number | null>;
    /** SIGKILL: a crash. */
    kill(): Promise<void>;
    exited: Promise<number | null>;
    metrics(): Promise<string>;
}

export interface OperatorOptions {
    kubeconfig: string;
    args?: string[];
    env?: NodeJS.ProcessEnv;
    /** Wait for /readyz (default true). */
    waitReady?: boolean;
    name?: string;
    /** Extra node flags, e.g. --cpu-prof. */
    nodeArgs?: string[];
    /**
     * Serve metrics as in a cluster: HTTPS (self-signed) with TokenReview/SubjectAccessReview (default false: plain
     * HTTP, so tests read counters without a token; `metricsUrl` says which).
     */
    secureMetrics?: boolean;
    /**
     * The script to run, relative to the repository: `src/main.ts` (default; Node strips the types) or the bundle
     * `dist/bundle/operator.mjs` that the image runs (the benchmarks use it).
     */
    entry?: string;
}

export async function startOperatorProcess(cp: ControlPlane, o: OperatorOptions): Promise<OperatorProcess> {
    const [metricsPort, healthPort] = await Promise.all([freePort(), freePort()]);
    const name = o.name ?? 'operator';
    const logPath = join(cp.state.runDir, 'logs', `${name}-${Date.now()}.log`);
    const log = createWriteStream(logPath);
    const entry = o.entry ?? 'src/main.ts';
    const child = spawn(
        NODE,
        [
            ...(o.nodeArgs ?? []),
            join(REPO, entry),
            'run',
            `--kubeconfig=${o.kubeconfig}`,
            `--metrics-bind-address=127.0.0.1:${metricsPort}`,
            `--health-probe-bind-address=127.0.0.1:${healthPort}`,
            '--log-level=debug',
            `--metrics-secure=${o.secureMetrics === true}`,
            ...(o.args ?? []),
        ],
        { cwd: REPO, env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    const pid = child.pid!;
    await appendFile(join(cp.state.runDir, PIDS_FILE), JSON.stringify({ name, pid, match: entry }) + '\n');
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const healthUrl = `http://127.0.0.1:${healthPort}`;
    const metricsUrl = `${o.secureMetrics ? 'https' : 'http'}://127.0.0.1:${metricsPort}/metrics`;
    const proc: OperatorProcess = {
        pid,
        metricsUrl,
        healthUrl,
        logPath,
        exited,
        async stop() {
            await stopProcess({ name, pid, match: entry }, 40_000);
            return exited;
        },
        async kill() {
            child.kill('SIGKILL');
            await exited;
        },
        async metrics() {
            if (o.secureMetrics)
                throw new Error('metrics(): served over HTTPS with authorization; fetch it yourself');
            const res = await fetch(metricsUrl);
            return res.text();
        },
    };
    if (o.waitReady ?? true) {
        const deadline = Date.now() + 60_000;
        let exitedEarly = false;
        void exited.then(() => (exitedEarly = true));
        for (;;) {
            if (exitedEarly) throw new Error(`operator exited during start; see ${logPath}`);
            try {
                const res = await fetch(`${healthUrl}/readyz`);
                if (res.status === 200) break;
            } catch {
                // not listening yet
            }
            if (Date.now() > deadline) throw new Error(`operator not ready after 60s; see ${logPath}`);
            await new Promise((r) => setTimeout(r, 100));
        }
    }
    return proc;
}

/** Reads one sample value from Prometheus text output (sum over matching label sets). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
    let sum = 0;
    for (const line of text.split('\n')) {
        if (!line.startsWith(name)) continue;
        const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
        if (!m || m[1] !== name) continue;
        const lbl = m[2] ?? '';
        if (Object.entries(labels).every(([k, v]) => lbl.includes(`${k}="${v}"`))) sum += Number(m[3]);
    }
    return sum;
}
