/**
 * The real local control plane used by integration tests, the demo and the benchmarks: etcd, kube-apiserver
 * (secure port only, own CA, RBAC, service-account issuer, audit log) and kube-controller-manager (namespace
 * deletion, ownerReference garbage collection, and the aggregation that fills the view/edit/admin ClusterRoles),
 * on free loopback ports, in a fresh run directory.
 *
 * Design: binaries come from `build.sh` (built once from the Go module proxy into a version-keyed cache); every
 * process is recorded by pid in the run directory and stopped by pid (see processes.ts). The controller manager
 * starts after an optional hook (CRD install) because its garbage collector only rediscovers resource types every
 * 30 s. A state file lets a separate `down` command stop a control plane that `up` left running.
 */
import { execFile } from 'node:child_process';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stringify } from 'yaml';

import { base64File, clientCert, createCA, serviceAccountKeys, servingCert } from './pki.ts';
import type { CertPaths } from './pki.ts';
import {
    isAlive,
    killAllSync,
    readPids,
    startProcess,
    startWatchdog,
    stopAll,
    stopProcess,
} from './processes.ts';
import type { Proc } from './processes.ts';

const execFileP = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));

export interface ControlPlaneState {
    runDir: string;
    binDir: string;
    server: string;
    kubeconfigPath: string;
    auditLogPath: string;
    etcdUrl: string;
    startedAt: string;
}

export interface StartOptions {
    /** Run directory; default a fresh mkdtemp under the OS temp dir. Must be empty or absent. */
    runDir?: string;
    /** Extra kube-apiserver flags, after the defaults (e.g. `--watch-cache=false` for a test that needs it). */
    apiServerArgs?: string[];
    /** Start kube-controller-manager (default true); etcd and the API server alone start faster. */
    controllerManager?: boolean;
    /** Called after the API server is ready and before the controller manager starts (e.g. install CRDs). */
    beforeControllerManager?: (state: ControlPlaneState) => Promise<void>;
    /** Kill everything if this process dies without stopping the control plane (default true). */
    watchdog?: boolean;
    /** Also stop everything and exit on SIGINT/SIGTERM (default true; a caller with its own handlers sets false). */
    handleSignals?: boolean;
    log?: (msg: string) => void;
}

/** Builds the binaries if the cache lacks them (a no-op when the stamp matches) and returns the bin dir. */
export async function ensureBinaries(log: (msg: string) => void = () => {}): Promise<string> {
    const script = join(HERE, 'build.sh');
    const started = Date.now();
    const child = execFile('bash', [script], { maxBuffer: 64 * 1024 * 1024 });
    child.stderr?.on('data', (d: Buffer) => {
        for (const line of d.toString().split('\n')) {
            if (line && !line.startsWith('go: downloading') && !line.startsWith('go: added')) log(line);
        }
    });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((res) => child.on('exit', res));
    if (code !== 0) throw new Error(`control plane build failed (exit ${code}); see the output above`);
    const bin = out.trim().split('\n').pop() ?? '';
    if (Date.now() - started > 5000)
        log(`control plane binaries ready after ${Math.round((Date.now() - started) / 1000)}s`);
    return bin;
}

async function freePort(): Promise<number> {
    return new Promise((res, rej) => {
        const srv = createServer();
        srv.unref();
        srv.on('error', rej);
        srv.listen(0, '127.0.0.1', () => {
            const addr = srv.address();
            const port = typeof addr === 'object' && addr ? addr.port : 0;
            srv.close(() => res(port));
        });
    });
}

async function sleep(ms: number): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
}

async function httpStatus(url: string, tls?: { ca: Buffer; cert: Buffer; key: Buffer }): Promise<number> {
    if (url.startsWith('http://')) {
        try {
            const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
            return res.status;
        } catch {
            return 0;
        }
    }
    return new Promise((res) => {
        const req = request(url, { ...tls, timeout: 2000 }, (r) => {
            r.resume();
            res(r.statusCode ?? 0);
        });
        req.on('error', () => res(0));
        req.on('timeout', () => {
            req.destroy();
            res(0);
        });
        req.end();
    });
}

async function waitFor(
    what: string,
    probe: () => Promise<boolean>,
    timeoutMs: number,
    logFile?: string,
): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        if (await probe()) return;
        await sleep(150);
    }
    let tail = '';
    if (logFile && existsSync(logFile)) {
        tail = (await readFile(logFile, 'utf8')).split('\n').slice(-40).join('\n');
    }
    throw new Error(
        `${what} not ready after ${timeoutMs / 1000}s${tail ? `; last log lines:\n${tail}` : ''}`,
    );
}

/** Writes a kubeconfig with one cluster, one user and one context. */
export async function writeKubeconfig(
    path: string,
    server: string,
    caPath: string,
    user: { name: string; cert?: CertPaths; token?: string },
): Promise<string> {
    const userEntry: Record<string, string> = {};
    if (user.cert) {
        userEntry['client-certificate-data'] = await base64File(user.cert.cert);
        userEntry['client-key-data'] = await base64File(user.cert.key);
    }
    if (user.token) userEntry.token = user.token;
    const doc = {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
            { name: 'local', cluster: { server, 'certificate-authority-data': await base64File(caPath) } },
        ],
        users: [{ name: user.name, user: userEntry }],
        contexts: [{ name: user.name, context: { cluster: 'local', user: user.name } }],
        'current-context': user.name,
    };
    await writeFile(path, stringify(doc), { mode: 0o600 });
    return path;
}

const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
`;

interface EtcdHeader {
    header?: { revision?: string };
}

async function etcdPost(etcdUrl: string, path: string, body: unknown): Promise<EtcdHeader> {
    const res = await fetch(`${etcdUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`etcd ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as EtcdHeader;
}

/** A running control plane started by this process (or attached to through its state file). */
export class ControlPlane {
    readonly state: ControlPlaneState;
    #ownsRunDir: boolean;
    #exitHandler: (() => void) | undefined;
    /** Set while this process started the control plane: lets tests restart the API server. */
    apiServer: { proc: Proc; restart: (extraArgs?: string[]) => Promise<Proc> } | undefined;

    constructor(state: ControlPlaneState, ownsRunDir: boolean) {
        this.state = state;
        this.#ownsRunDir = ownsRunDir;
    }

    get kubeconfigPath(): string {
        return this.state.kubeconfigPath;
    }

    get kubectlPath(): string {
        return join(this.state.binDir, 'kubectl');
    }

    /** Registers handlers so an interrupted run (Ctrl-C, SIGTERM, uncaught exit) still kills the children. */
    installExitHandlers(signals = true): void {
        const runDir = this.state.runDir;
        const onExit = () => killAllSync(runDir);
        const onSignal = (sig: NodeJS.Signals) => {
            killAllSync(runDir);
            process.exit(sig === 'SIGINT' ? 130 : 143);
        };
        process.on('exit', onExit);
        if (signals) {
            process.once('SIGINT', onSignal);
            process.once('SIGTERM', onSignal);
        }
        this.#exitHandler = () => {
            process.off('exit', onExit);
            process.off('SIGINT', onSignal);
            process.off('SIGTERM', onSignal);
        };
    }

    /** Issues a client certificate for `user` with `groups` and writes its kubeconfig; returns the path. */
    async addUser(user: string, groups: string[] = []): Promise<string> {
        const pki = join(this.state.runDir, 'pki');
        const ca = { cert: join(pki, 'ca.crt'), key: join(pki, 'ca.key') };
        const cert = await clientCert(pki, ca, user, groups);
        const safe = user.replace(/[^a-zA-Z0-9.-]/g, '_');
        return writeKubeconfig(
            join(this.state.runDir, `user-${safe}.kubeconfig`),
            this.state.server,
            ca.cert,
            {
                name: user,
                cert,
            },
        );
    }

    /** Mints a TokenRequest token for a ServiceAccount (which must exist) and writes its kubeconfig. */
    async serviceAccountKubeconfig(
        namespace: string,
        name: string,
        durationSeconds = 86_400,
    ): Promise<string> {
        const { stdout } = await execFileP(this.kubectlPath, [
            '--kubeconfig', this.state.kubeconfigPath, 'create', 'token', name, '-n', namespace,
            `--duration=${durationSeconds}s`,
        ]); // prettier-ignore
        const token = stdout.trim();
        return writeKubeconfig(
            join(this.state.runDir, `sa-${namespace}-${name}.kubeconfig`),
            this.state.server,
            join(this.state.runDir, 'pki', 'ca.crt'),
            { name: `system:serviceaccount:${namespace}:${name}`, token },
        );
    }

    /** Runs the cached kubectl against this control plane as admin (or the given kubeconfig). */
    async kubectl(
        args: string[],
        opts: { kubeconfig?: string; input?: string } = {},
    ): Promise<{ code: number; stdout: string; stderr: string }> {
        return new Promise((res) => {
            const child = execFile(
                this.kubectlPath,
                ['--kubeconfig', opts.kubeconfig ?? this.state.kubeconfigPath, ...args],
                { maxBuffer: 64 * 1024 * 1024 },
                (err, stdout, stderr) => {
                    const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
                    res({ code, stdout, stderr });
                },
            );
            if (opts.input !== undefined) child.stdin?.end(opts.input);
            else child.stdin?.end();
        });
    }

    /** Stops every process by pid (newest first) and removes the run directory unless KEEP_CONTROLPLANE=1. */
    async stop(): Promise<void> {
        await stopAll(this.state.runDir);
        this.#exitHandler?.();
        if (this.#ownsRunDir && process.env.KEEP_CONTROLPLANE !== '1') {
            await rm(this.state.runDir, { recursive: true, force: true });
        }
    }

    /**
     * Stops kube-apiserver (SIGTERM), keeps it down for `downMs`, and starts it again on the same port with the same
     * flags; resolves once it is ready. Clients see their watches break and requests fail meanwhile.
     */
    async restartApiServer(downMs = 2000, extraArgs: string[] = []): Promise<void> {
        if (!this.apiServer)
            throw new Error('restartApiServer: this process did not start the control plane');
        await stopProcess(this.apiServer.proc);
        await new Promise((r) => setTimeout(r, downMs));
        this.apiServer.proc = await this.apiServer.restart(extraArgs);
    }

    /**
     * Freezes etcd or kube-apiserver with SIGSTOP for `ms` and thaws it with SIGCONT (always, even if the wait is
     * interrupted): the process keeps its sockets open but answers nothing, as a hung or swapped-out process would.
     */
    async pause(name: 'etcd' | 'kube-apiserver', ms: number): Promise<void> {
        const procs = (await readPids(this.state.runDir)).filter((p) => p.name === name);
        const proc = name === 'kube-apiserver' ? this.apiServer?.proc : procs.at(-1);
        if (!proc || !isAlive(proc.pid)) throw new Error(`pause: no running ${name}`);
        process.kill(proc.pid, 'SIGSTOP');
        try {
            await new Promise((r) => setTimeout(r, ms));
        } finally {
            process.kill(proc.pid, 'SIGCONT');
        }
    }

    /** etcd's current revision (from the header of a range read through its gRPC gateway). */
    async etcdRevision(): Promise<number> {
        const res = await etcdPost(this.state.etcdUrl, '/v3/kv/range', {
            key: Buffer.from('\0').toString('base64'),
        });
        return Number(res.header?.revision ?? 0);
    }

    /** Compacts etcd's history before `revision` (what the API server does every 5 minutes). */
    async compactEtcd(revision: number): Promise<void> {
        await etcdPost(this.state.etcdUrl, '/v3/kv/compaction', {
            revision: String(revision),
            physical: true,
        });
    }

    /** Attaches to a control plane left running by `up` (reads `<runDir>/state.json`). */
    static async attach(runDir: string): Promise<ControlPlane | undefined> {
        try {
            const state = JSON.parse(await readFile(join(runDir, 'state.json'), 'utf8')) as ControlPlaneState;
            return new ControlPlane(state, true);
        } catch {
            return undefined;
        }
    }

    /** True when every recorded process is still alive. */
    async healthy(): Promise<boolean> {
        const procs = await readPids(this.state.runDir);
        return procs.length > 0 && procs.every((p) => isAlive(p.pid));
    }
}

/** Builds (if needed) and starts a control plane; resolves once the API server serves `default`. */
export async function startControlPlane(opts: StartOptions = {}): Promise<ControlPlane> {
    const log = opts.log ?? (() => {});
    const binDir = await ensureBinaries(log);
    const t0 = Date.now();
    const runDir = opts.runDir ? resolve(opts.runDir) : await mkdtemp(join(tmpdir(), 'isolation-cp-'));
    await mkdir(runDir, { recursive: true, mode: 0o700 });
    for (const d of ['pki', 'etcd', 'logs']) await mkdir(join(runDir, d), { recursive: true, mode: 0o700 });
    const pki = join(runDir, 'pki');

    const cp = new ControlPlane(
        {
            runDir,
            binDir,
            server: '',
            kubeconfigPath: join(runDir, 'admin.kubeconfig'),
            auditLogPath: join(runDir, 'logs', 'audit.log'),
            etcdUrl: '',
            startedAt: new Date().toISOString(),
        },
        true,
    );
    if (opts.watchdog !== false) {
        startWatchdog(runDir, process.pid);
        cp.installExitHandlers(opts.handleSignals ?? true);
    }

    try {
        const ca = await createCA(pki);
        const [serving, admin, sa] = await Promise.all([
            servingCert(pki, ca),
            clientCert(pki, ca, 'admin', ['system:masters']),
            serviceAccountKeys(pki),
        ]);

        // etcd
        const [etcdClient, etcdPeer, apiPort] = await Promise.all([freePort(), freePort(), freePort()]);
        const etcdUrl = `http://127.0.0.1:${etcdClient}`;
        await startProcess(runDir, 'etcd', join(binDir, 'etcd'), [
            '--name=default', `--data-dir=${join(runDir, 'etcd')}`,
            `--listen-client-urls=${etcdUrl}`, `--advertise-client-urls=${etcdUrl}`,
            `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
            `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
            `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
            '--unsafe-no-fsync=true', '--log-level=warn',
        ]); // prettier-ignore
        await waitFor(
            'etcd',
            async () => (await httpStatus(`${etcdUrl}/health`)) === 200,
            30_000,
            join(runDir, 'logs', 'etcd.log'),
        );

        // kube-apiserver
        const server = `https://127.0.0.1:${apiPort}`;
        await writeFile(join(runDir, 'audit-policy.yaml'), AUDIT_POLICY);
        const apiArgs = [
            `--etcd-servers=${etcdUrl}`,
            '--bind-address=127.0.0.1', `--secure-port=${apiPort}`, '--advertise-address=127.0.0.1',
            '--endpoint-reconciler-type=none',
            `--cert-dir=${pki}`, `--tls-cert-file=${serving.cert}`, `--tls-private-key-file=${serving.key}`,
            '--authorization-mode=RBAC', `--client-ca-file=${ca.cert}`,
            '--service-cluster-ip-range=10.0.0.0/24', '--allow-privileged=true',
            `--service-account-issuer=${server}`, `--service-account-key-file=${sa.pub}`,
            `--service-account-signing-key-file=${sa.key}`,
            '--disable-admission-plugins=ServiceAccount',
            `--audit-policy-file=${join(runDir, 'audit-policy.yaml')}`, `--audit-log-path=${cp.state.auditLogPath}`,
            '--audit-log-maxbackup=0', '--audit-log-maxsize=0',
            '--v=1',
            ...(opts.apiServerArgs ?? []),
        ]; // prettier-ignore
        const tls = {
            ca: await readFile(ca.cert),
            cert: await readFile(admin.cert),
            key: await readFile(admin.key),
        };
        const apiLog = join(runDir, 'logs', 'kube-apiserver.log');
        const startApiServer = async (extraArgs: string[] = []) => {
            const proc = await startProcess(runDir, 'kube-apiserver', join(binDir, 'kube-apiserver'), [
                ...apiArgs,
                ...extraArgs,
            ]);
            await waitFor(
                'kube-apiserver /readyz',
                async () => (await httpStatus(`${server}/readyz`, tls)) === 200,
                90_000,
                apiLog,
            );
            return proc;
        };
        cp.apiServer = { proc: await startApiServer(), restart: startApiServer };
        await waitFor(
            'namespace default',
            async () => (await httpStatus(`${server}/api/v1/namespaces/default`, tls)) === 200,
            60_000,
            apiLog,
        );
        Object.assign(cp.state, { server, etcdUrl });
        await writeKubeconfig(cp.state.kubeconfigPath, server, ca.cert, { name: 'admin', cert: admin });
        await writeFile(join(runDir, 'state.json'), JSON.stringify(cp.state, null, 2));
        log(`kube-apiserver ready at ${server} after ${((Date.now() - t0) / 1000).toFixed(1)}s`);

        if (opts.beforeControllerManager) await opts.beforeControllerManager(cp.state);
        if (opts.controllerManager === false) {
            log(`control plane (no controller manager) up in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
            return cp;
        }

        await startProcess(runDir, 'kube-controller-manager', join(binDir, 'kube-controller-manager'), [
            `--kubeconfig=${cp.state.kubeconfigPath}`, '--leader-elect=false', '--secure-port=0',
            '--controllers=namespace-controller,garbage-collector-controller,clusterrole-aggregation-controller',
            '--concurrent-namespace-syncs=10', '--concurrent-gc-syncs=20', '--v=1',
        ]); // prettier-ignore
        log(`control plane up in ${((Date.now() - t0) / 1000).toFixed(1)}s (run dir ${runDir})`);
        return cp;
    } catch (err) {
        await cp.stop();
        throw err;
    }
}
