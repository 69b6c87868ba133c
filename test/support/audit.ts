/**
 * Reads the API server's audit log (JSON lines, level Metadata) so tests and benchmarks can count exactly which
 * requests a user made: writes of the operator, forbidden requests, verbs per resource.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export interface AuditEvent {
    auditID: string;
    stage: string;
    verb: string;
    requestURI: string;
    user: { username: string; groups?: string[] };
    objectRef?: {
        resource?: string;
        subresource?: string;
        namespace?: string;
        name?: string;
        apiGroup?: string;
    };
    responseStatus?: { code?: number };
    requestReceivedTimestamp: string;
    stageTimestamp: string;
}

export const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection', 'apply']);

export async function readAudit(path: string, since?: Date): Promise<AuditEvent[]> {
    const text = await readFile(path, 'utf8');
    const out: AuditEvent[] = [];
    for (const line of text.split('\n')) {
        if (!line) continue;
        const e = JSON.parse(line) as AuditEvent;
        if (e.stage !== 'ResponseComplete') continue;
        if (since && new Date(e.requestReceivedTimestamp) < since) continue;
        out.push(e);
    }
    return out;
}

export function byUser(events: AuditEvent[], username: string): AuditEvent[] {
    return events.filter((e) => e.user.username === username);
}

export function writes(events: AuditEvent[]): AuditEvent[] {
    return events.filter((e) => WRITE_VERBS.has(e.verb));
}

export function describe(e: AuditEvent): string {
    const o = e.objectRef ?? {};
    const res = [o.apiGroup, o.resource, o.subresource].filter(Boolean).join('/');
    return `${e.verb} ${res} ${o.namespace ?? ''}/${o.name ?? ''} -> ${e.responseStatus?.code ?? '?'}`;
}

type Kubectl = (args: string[]) => Promise<{ code: number; stderr: string }>;

/**
 * The audit log once it holds the requests that completed before this call: a positive barrier instead of a fixed
 * wait. The API server writes a request's event after its response, so a test that has just seen the effect of a
 * request cannot read the log at once. This sends a marker (a GET, as the admin, of a ConfigMap nobody creates)
 * and reads until the marker's own event is there. A request answered before the marker was sent has its event
 * written as its handler returns, well within the marker's round trip (a kubectl process), so it is there too.
 */
export async function readAuditSettled(
    kubectl: Kubectl,
    path: string,
    since?: Date,
    timeoutMs = 30_000,
): Promise<AuditEvent[]> {
    const marker = `audit-barrier-${randomBytes(4).toString('hex')}`;
    const res = await kubectl([
        'get',
        'configmap',
        marker,
        '-n',
        'default',
        '--ignore-not-found',
        '-o',
        'name',
    ]);
    if (res.code !== 0) throw new Error(`audit barrier request failed: ${res.stderr}`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const events = await readAudit(path, since);
        if (events.some((e) => e.objectRef?.name === marker))
            return events.filter((e) => e.objectRef?.name !== marker);
        if (Date.now() > deadline)
            throw new Error(`the audit log did not show ${marker} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
    }
}
