/**
 * Reads a child process's live JavaScript heap through the V8 inspector (Chrome DevTools Protocol over the
 * WebSocket the process opens with `--inspect=127.0.0.1:0`): force a full garbage collection, then ask for the
 * used heap. Used by memory tests of the real operator process.
 *
 * Design choice: the inspector needs nothing from the operator's code — no debug endpoint, no `--expose-gc`
 * trigger to guard in production — and `HeapProfiler.collectGarbage` is the same full, compacting collection a heap
 * snapshot does, so the figure is live memory rather than whatever garbage the last scavenge left. The port is
 * chosen by the OS; the process prints its WebSocket URL on stderr ("Debugger listening on ws://…").
 */
import { readFile } from 'node:fs/promises';

import { eventually } from './eventually.ts';

/** Node flags that open the inspector on a free loopback port. */
export const INSPECT_NODE_ARGS = ['--inspect=127.0.0.1:0'];

export interface HeapUsage {
    /** Bytes used by live JavaScript objects after a full GC. */
    usedBytes: number;
    /** Bytes of heap V8 has reserved. */
    totalBytes: number;
}

interface Pending {
    resolve: (v: unknown) => void;
    reject: (e: Error) => void;
}

export class Inspector {
    readonly #ws: WebSocket;
    readonly #pending = new Map<number, Pending>();
    #nextId = 1;

    private constructor(ws: WebSocket) {
        this.#ws = ws;
        ws.addEventListener('message', (ev: MessageEvent) => {
            const msg = JSON.parse(String(ev.data)) as {
                id?: number;
                result?: unknown;
                error?: { message: string };
            };
            if (msg.id === undefined) return;
            const p = this.#pending.get(msg.id);
            if (!p) return;
            this.#pending.delete(msg.id);
            if (msg.error) p.reject(new Error(msg.error.message));
            else p.resolve(msg.result);
        });
        ws.addEventListener('close', () => {
            for (const p of this.#pending.values()) p.reject(new Error('inspector connection closed'));
            this.#pending.clear();
        });
    }

    /** Connects to the inspector of the process whose stderr goes to `logPath`. */
    static async attach(logPath: string, timeoutMs = 30_000): Promise<Inspector> {
        const url = await eventually(
            `inspector URL in ${logPath}`,
            async () => /Debugger listening on (ws:\/\/\S+)/.exec(await readFile(logPath, 'utf8'))?.[1],
            timeoutMs,
        );
        const ws = new WebSocket(url);
        await new Promise<void>((resolve, reject) => {
            ws.addEventListener('open', () => resolve(), { once: true });
            ws.addEventListener('error', () => reject(new Error(`cannot connect to ${url}`)), { once: true });
        });
        return new Inspector(ws);
    }

    send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
        const id = this.#nextId++;
        return new Promise<T>((resolve, reject) => {
            this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
            this.#ws.send(JSON.stringify({ id, method, params }));
        });
    }

    /** Live heap after a full garbage collection (run twice: the first may only free what finalizers release). */
    async liveHeap(): Promise<HeapUsage> {
        await this.send('HeapProfiler.collectGarbage');
        await this.send('HeapProfiler.collectGarbage');
        const r = await this.send<{ usedSize: number; totalSize: number }>('Runtime.getHeapUsage');
        return { usedBytes: r.usedSize, totalBytes: r.totalSize };
    }

    close(): void {
        this.#ws.close();
    }
}
