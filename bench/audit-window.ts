/**
 * Counts one user's API requests in a time window of the API server's audit log, streaming the file so that a
 * 10,000-namespace run (hundreds of MB of audit log) never sits in memory. Each request is counted once by
 * auditID whatever stages it logged (a still-open watch has only ResponseStarted).
 */
import { createReadStream } from 'node:fs';
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

export async function auditWindow(
    path: string,
    username: string,
    from: Date,
    to: Date = new Date(8.64e15),
    maxListed = 50,
): Promise<AuditWindow> {
    const seen = new Set<string>();
    const out: AuditWindow = { requests: 0, writes: 0, byVerb: {}, writeList: [] };
    const needle = `"username":"${username}"`;
    const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
    for await (const line of lines) {
        if (!line.includes(needle)) continue;
        const e = JSON.parse(line) as AuditEvent;
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
