/**
 * Counts one user's API requests in a time window of the API server's audit log, streaming the file so that a
 * 10,000-namespace run (hundreds of MB of audit log) never sits in memory. Each request is counted once by
 * auditID whatever stages it logged (a still-open watch has only ResponseStarted). A window can start reading at a
 * byte offset taken before it began (`auditOffset`), so at 10,000 namespaces each window reads only its own part
 * of the log; a line cut by the offset does not parse and is skipped.
 */
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';

import { describe, WRITE_VERBS } from '../test/support/audit.ts';
import type { AuditEvent } from '../test/support/audit.ts';

export interface AuditWindow {
    requests: number;
    writes: number;
    byVerb: Record<string, number>;
    /** `verb resource ns/name -> code` of each write (capped). */
    writeList: string[];
}

/** The current size of the audit log: an offset from which a window that starts now can be read. */
export function auditOffset(path: string): number {
    try {
        return statSync(path).size;
    } catch {
        return 0;
    }
}

export async function auditWindow(
    path: string,
    username: string,
    from: Date,
    to: Date = new Date(8.64e15),
    opts: { start?: number; maxListed?: number } = {},
): Promise<AuditWindow> {
    const maxListed = opts.maxListed ?? 50;
    const seen = new Set<string>();
    const out: AuditWindow = { requests: 0, writes: 0, byVerb: {}, writeList: [] };
    const needle = `"username":"${username}"`;
    const lines = createInterface({
        input: createReadStream(path, { encoding: 'utf8', start: opts.start ?? 0 }),
        crlfDelay: Infinity,
    });
    for await (const line of lines) {
        if (!line.includes(needle)) continue;
        let e: AuditEvent;
        try {
            e = JSON.parse(line) as AuditEvent;
        } catch {
            continue; // the first line after an offset may be cut
        }
        if (e.user.username !== username || seen.has(e.auditID)) continue;
        const t = new Date(e.requestReceivedTimestamp);
        if (t < from || t > to) continue;
        seen.add(e.auditID);
        out.requests++;
        out.byVerb[e.verb] = (out.byVerb[e.verb] ?? 0) + 1;
        if (WRITE_VERBS.has(e.verb)) {
            out.writes++;
            if (out.writeList.length < maxListed) out.writeList.push(describe(e));
        }
    }
    return out;
}
