/**
 * Reads the API server's audit log (JSON lines, level Metadata) so tests and benchmarks can count exactly which
 * requests a user made: writes of the operator, forbidden requests, verbs per resource.
 */
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
