/**
 * Runs the real operator (`src/main.ts run`) as a child process on the pinned Node 24, under the ServiceAccount
 * and RBAC from `config/rbac/` — the same permissions as in a cluster. Its pid goes into the control plane's pid
 * file, so the watchdog and teardown stop it with everything else. Used by integration tests, the demo and bench.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { appendFile, readFile } from 'node:fs/promises';
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

/**
 * The addresses the operator reports in its `serving` log lines (it binds port 0, so the kernel picks free ports and
 * no other process can take them between a probe and the bind — picking a port here and passing it in could race).
 */
export function servingAddresses(line: string): { endpoints: string; address: string } | undefined {
    if (!line.startsWith('{')) return undefined;
    try {
        const entry = JSON.parse(line) as { message?: unknown; endpoints?: unknown; address?: unknown };
        if (entry.message !== 'serving') return undefined;
        if (typeof entry.endpoints !== 'string' || typeof entry.address !== 'string') return undefined;
        return { endpoints: entry.endpoints, address: entry.address };
    } catch {
        return undefined;
    }
}

/** The last lines of a log file, for an error message that says why a process stopped. */
async function logTail(path: string, lines = 15): Promise<string> {
    try {
        const text = await readFile(path, 'utf8');
        return text.trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
        return '(no log)';
    }
}

export async function startOperatorProcess(cp: ControlPlane, o: OperatorOptions): Promise<OperatorProcess> {
    const name = o.name ?? 'operator';
    const logPath = join(cp.state.runDir, 'logs', `${name}-${Date.now()}.log`);
    // The child writes its log straight into the file: through a pipe, a busy parent (the benchmark's trackers)
    // that reads late makes the operator's synchronous stdout writes block, which the benchmark then measures.
    const logFd = openSync(logPath, 'a');
    const entry = o.entry ?? 'src/main.ts';
    const child = spawn(
        NODE,
        [
            ...(o.nodeArgs ?? []),
            join(REPO, entry),
            'run',
            `--kubeconfig=${o.kubeconfig}`,
            '--metrics-bind-address=127.0.0.1:0',
            '--health-probe-bind-address=127.0.0.1:0',
            '--log-level=debug',
            '--log-format=json',
            `--metrics-secure=${o.secureMetrics === true}`,
            ...(o.args ?? []),
        ],
        { cwd: REPO, env: { ...process.env, ...o.env }, stdio: ['ignore', logFd, logFd] },
    );
    closeSync(logFd); // the child holds its own copy
    const pid = child.pid!;
    await appendFile(join(cp.state.runDir, PIDS_FILE), JSON.stringify({ name, pid, match: entry }) + '\n');
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    let exitedEarly = false;
    void exited.then(() => (exitedEarly = true));
    const failed = async (why: string) =>
        new Error(`operator ${why}; see ${logPath}; its last lines:\n${await logTail(logPath)}`);

    // Both listeners are bound before the operator talks to the API server, so this wait is short.
    // Read from the log file, whose first lines they are.
    const bound = new Map<string, string>();
    const bindDeadline = Date.now() + 60_000;
    while (!bound.has('/readyz') || !bound.has('/metrics')) {
        if (exitedEarly) throw await failed('exited during start');
        if (Date.now() > bindDeadline) throw await failed('did not report its listeners within 60s');
        await new Promise((r) => setTimeout(r, 50));
        const text = await readFile(logPath, 'utf8').catch(() => '');
        for (const line of text.split('\n')) {
            const s = servingAddresses(line);
            if (s) for (const e of s.endpoints.split(',')) bound.set(e, s.address);
        }
    }
    const healthUrl = `http://${bound.get('/readyz')}`;
    const metricsUrl = `${o.secureMetrics ? 'https' : 'http'}://${bound.get('/metrics')}/metrics`;
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
        for (;;) {
            if (exitedEarly) throw await failed('exited during start');
            try {
                const res = await fetch(`${healthUrl}/readyz`);
                if (res.status === 200) break;
            } catch {
                // not listening yet
            }
            if (Date.now() > deadline) throw await failed('not ready after 60s');
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
