/**
 * Test fixtures for the planner: profile builders and a simulation of what the API server and the informer cache
 * hand back for an applied object (server-populated metadata, omitempty lists dropped, typed-model `undefined`s).
 */

import type { IsolationProfile, IsolationProfileSpec } from '../../../src/api/types.ts';
import type { DesiredObject } from '../../../src/plan/index.ts';

export function profile(
    name: string,
    spec: Partial<IsolationProfileSpec> = {},
    meta: Partial<IsolationProfile['metadata']> = {},
): IsolationProfile {
    return {
        apiVersion: 'isolation.dev/v1alpha1',
        kind: 'IsolationProfile',
        metadata: { name, uid: `uid-${name}`, creationTimestamp: '2025-01-01T00:00:00Z', ...meta },
        spec: { namespaces: { names: [] }, ...spec },
    };
}

type Json = Record<string, unknown>;

function isRecord(v: unknown): v is Json {
    return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Drops empty arrays and empty-map `matchLabels` the way Go's omitempty does on the way back from the server. */
function omitEmpty(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(omitEmpty);
    if (!isRecord(v)) return v;
    const out: Json = {};
    for (const [k, val] of Object.entries(v)) {
        if (Array.isArray(val) && val.length === 0) continue;
        if (k === 'matchLabels' && isRecord(val) && Object.keys(val).length === 0) continue;
        out[k] = omitEmpty(val);
    }
    return out;
}

/** What a GET / the informer returns after server-side apply of `desired` (no kind/apiVersion, like list items). */
export function serverCopy(desired: DesiredObject): Json {
    const copy = omitEmpty(JSON.parse(JSON.stringify(desired))) as Json;
    delete copy.apiVersion;
    delete copy.kind;
    const meta = copy.metadata as Json;
    meta.uid = 'live-uid';
    meta.resourceVersion = '12345';
    meta.generation = 1;
    meta.creationTimestamp = '2025-02-02T00:00:00Z';
    meta.labels = { ...(meta.labels as Json), 'other.example/label': 'kept' };
    meta.managedFields = [
        {
            manager: 'isolation-operator',
            operation: 'Apply',
            apiVersion: 'v1',
            time: '2025-02-02T00:00:00Z',
            fieldsType: 'FieldsV1',
            fieldsV1: {},
        },
    ];
    return copy;
}

/** A typed-client-model-like copy: every optional property present but `undefined`. */
export function withUndefinedOptionals(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(withUndefinedOptionals);
    if (!isRecord(v)) return v;
    const out: Json = {};
    for (const [k, val] of Object.entries(v)) out[k] = withUndefinedOptionals(val);
    if ('protocol' in v || 'port' in v) out.endPort ??= undefined;
    if ('podSelector' in v || 'namespaceSelector' in v || 'ipBlock' in v) {
        for (const key of ['podSelector', 'namespaceSelector', 'ipBlock'])
            if (!(key in v)) out[key] = undefined;
    }
    if ('matchLabels' in v || 'matchExpressions' in v) {
        out.matchLabels ??= undefined;
        out.matchExpressions ??= undefined;
    }
    return out;
}

export function clone<T>(v: T): T {
    return JSON.parse(JSON.stringify(v)) as T;
}
