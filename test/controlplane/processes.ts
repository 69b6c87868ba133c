/**
 * Child processes of the local control plane: start detached with logs to files, record every pid in
 * `<run>/pids`, stop in reverse order by pid (SIGTERM, then SIGKILL after a grace period), and never kill a pid
 * whose command line no longer names the expected binary (pid reuse).
 *
 * Children run in their own process group so a terminal Ctrl-C reaches only the runner, which then stops them in
 * order. A watchdog shell process kills everything listed in the pid file if the runner itself dies without
 * cleaning up (SIGKILL, crash), so no process outlives an interrupted test run.
 */
import { spawn } from 'node:child_process';
import { appendFile, readFile } from 'node:fs/promises';
import { openSync, readFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';

export interface Proc {
    name: string;
    pid: number;
    /** Substring the process's /proc/<pid>/cmdline must contain before we signal it. */
    match: string;
}

export const PIDS_FILE = 'pids';

export async function startProcess(
    runDir: string,
    name: string,
    bin: string,
    args: string[],
    env?: NodeJS.ProcessEnv,
): Promise<Proc> {
    const log = openSync(join(runDir, 'logs', `${name}.log`), 'a');
    const child = spawn(bin, args, {
        detached: true,
        stdio: ['ignore', log, log],
        env: env ?? process.env,
    });
    closeSync(log);
    const pid = child.pid;
    if (pid === undefined) {
        throw new Error(`failed to start ${name} (${bin})`);
    }
    child.unref();
    const proc: Proc = { name, pid, match: bin };
    await appendFile(join(runDir, PIDS_FILE), JSON.stringify(proc) + '\n');
    return proc;
}

export function isAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

function cmdlineMatches(p: Proc): boolean {
    try {
        const cmd = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8');
        return cmd.includes(p.match);
    } catch {
        return false;
    }
}

function signal(p: Proc, sig: NodeJS.Signals): void {
    if (!cmdlineMatches(p)) return;
    try {
        process.kill(p.pid, sig);
    } catch {
        // already gone
    }
}

/** True once the pid is gone or is a zombie (exited, not yet reaped by its parent). */
function exited(pid: number): boolean {
    if (!isAlive(pid)) return true;
    try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return /\) Z /.test(stat);
    } catch {
        return true;
    }
}

export async function stopProcess(p: Proc, graceMs = 20_000): Promise<void> {
    signal(p, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (!exited(p.pid) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
    }
    if (!exited(p.pid)) signal(p, 'SIGKILL');
}

export async function readPids(runDir: string): Promise<Proc[]> {
    let text: string;
    try {
        text = await readFile(join(runDir, PIDS_FILE), 'utf8');
    } catch {
        return [];
    }
    return text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Proc);
}

/** Stops every process recorded in the run directory, newest first. */
export async function stopAll(runDir: string, graceMs?: number): Promise<void> {
    const procs = await readPids(runDir);
    for (const p of procs.reverse()) {
        await stopProcess(p, graceMs);
    }
}

/** Synchronous last-resort kill for process 'exit' handlers (no awaiting possible there). */
export function killAllSync(runDir: string): void {
    let text = '';
    try {
        text = readFileSync(join(runDir, PIDS_FILE), 'utf8');
    } catch {
        return;
    }
    for (const line of text.split('\n').reverse()) {
        if (line.trim() === '') continue;
        const p = JSON.parse(line) as Proc;
        signal(p, 'SIGKILL');
    }
}

/**
 * Starts a detached shell that waits for `ownerPid` to exit and then kills every process in the pid file
 * (checking each command line first). Returns its pid; the watchdog exits by itself once the owner is gone.
 */
export function startWatchdog(runDir: string, ownerPid: number): number | undefined {
    const script = `
        while kill -0 ${ownerPid} 2>/dev/null; do sleep 1; done
        f="${join(runDir, PIDS_FILE)}"
        [ -f "$f" ] || exit 0
        tac "$f" | while read -r line; do
            pid=$(printf '%s' "$line" | sed -n 's/.*"pid":\\([0-9]*\\).*/\\1/p')
            match=$(printf '%s' "$line" | sed -n 's/.*"match":"\\([^"]*\\)".*/\\1/p')
            [ -n "$pid" ] || continue
            if tr '\\0' ' ' < /proc/$pid/cmdline 2>/dev/null | grep -qF -- "$match"; then kill -9 "$pid" 2>/dev/null; fi
        done`;
    const child = spawn('bash', ['-c', script], { detached: true, stdio: 'ignore' });
    child.unref();
    return child.pid;
}
