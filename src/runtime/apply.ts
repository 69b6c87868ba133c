/**
 * The write path: server-side apply, delete (404 = success, optional preconditions) and metadata merge patches,
 * with a write counter for tests and metrics. (Status patches of profiles go through CustomObjectsApi in
 * src/controller/cluster.ts, which also clears the optional status lists a merge patch would keep.)
 *
 * Design choices:
 * - `apply` is server-side apply with a fixed field manager and `force: true` (controllers should force conflicts
 *   on objects they own). Callers pass only the fields they mean to own; applying an object read back would claim
 *   every field.
 * - client-node's path builder MUTATES the object it is given (fills apiVersion/namespace), so every call passes a
 *   deep copy and the caller's object (often a shared informer-cache object) is never touched.
 * - `patchMetadata` is a JSON merge patch, not SSA: releasing fields with SSA would also drop the spec fields the
 *   same manager owns. `null` values remove labels/annotations; `ownerReferences`/`finalizers` replace the list.
 *
 * CAUTION: `KubernetesObjectApi` serialises the body of a KNOWN kind through client-node's typed models, which
 * drops every field whose model attribute differs from its wire name: a NetworkPolicy rule's `from` (model
 * `_from`) disappears and the rule then allows traffic from anywhere. `apply` is safe for custom resources and for
 * kinds without such fields (Namespace metadata); for NetworkPolicies use `CustomObjectsApi.patchNamespacedCustomObject`,
 * which sends the body untouched (src/controller/cluster.ts does).
 */
import {
    type KubernetesObject,
    type KubernetesObjectApi,
    PatchStrategy,
    type V1DeleteOptions,
    type V1OwnerReference,
    type V1Preconditions,
} from '@kubernetes/client-node';

import { isNotFound } from './errors.ts';

/** `status` is counted by the profile status writer (src/controller/cluster.ts), not by this client. */
export type WriteVerb = 'apply' | 'create' | 'update' | 'delete' | 'patch' | 'status';

/** The subset of KubernetesObjectApi used here (lets unit tests pass a fake). */
export type ObjectApi = Pick<KubernetesObjectApi, 'patch' | 'delete'>;

export interface DeletePreconditions {
    /** Delete only if the live object still has this UID (a recreated object of the same name is left alone). */
    uid?: string;
    /** Delete only if unchanged since this resourceVersion. */
    resourceVersion?: string;
    /** Default: the server's default for the kind. */
    propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
}

export interface MetadataPatch {
    labels?: Record<string, string | null>;
    annotations?: Record<string, string | null>;
    /** Replaces the whole list (`null` or `[]` removes all). */
    ownerReferences?: V1OwnerReference[] | null;
    finalizers?: string[] | null;
    /** Optimistic concurrency: fail with 409 if the object changed since this version. */
    resourceVersion?: string;
}

export interface ApplyClientOptions {
    objects: ObjectApi;
    /** Field manager for apply and patches, e.g. `isolation-operator`. */
    fieldManager: string;
    /** Called after each successful write (and for a delete that found nothing, with found=false). */
    onWrite?: (verb: WriteVerb, kind: string, found?: boolean) => void;
}

export interface WriteCounts {
    apply: number;
    delete: number;
    patch: number;
    total: number;
}

function copy<T>(obj: T): T {
    return structuredClone(obj);
}

export class ApplyClient {
    readonly fieldManager: string;
    readonly #objects: ObjectApi;
    readonly #onWrite: ApplyClientOptions['onWrite'];
    readonly #counts: WriteCounts = { apply: 0, delete: 0, patch: 0, total: 0 };

    constructor(opts: ApplyClientOptions) {
        this.#objects = opts.objects;
        this.fieldManager = opts.fieldManager;
        this.#onWrite = opts.onWrite;
    }

    /** Writes done so far (deletes of absent objects are not counted). */
    writes(): WriteCounts {
        return { ...this.#counts };
    }

    #count(verb: keyof Omit<WriteCounts, 'total'>, kind: string): void {
        this.#counts[verb]++;
        this.#counts.total++;
        this.#onWrite?.(verb, kind, true);
    }

    /** Server-side apply of `obj` (forced, this client's field manager). Returns the object as stored. */
    async apply<T extends KubernetesObject>(obj: T, opts: { dryRun?: boolean } = {}): Promise<T> {
        const body = copy(obj);
        const result = await this.#objects.patch<T>(
            body,
            undefined,
            opts.dryRun ? 'All' : undefined,
            this.fieldManager,
            true,
            PatchStrategy.ServerSideApply,
        );
        if (!opts.dryRun) this.#count('apply', obj.kind ?? '');
        return result;
    }

    /**
     * Delete an object. Returns true if it was deleted, false if it did not exist (404 counts as success).
     * With `uid`/`resourceVersion`, the server refuses (409) to delete an object that no longer matches.
     */
    async delete(
        apiVersion: string,
        kind: string,
        namespace: string | undefined,
        name: string,
        opts: DeletePreconditions = {},
    ): Promise<boolean> {
        const spec: KubernetesObject = {
            apiVersion,
            kind,
            metadata: { name, ...(namespace ? { namespace } : {}) },
        };
        const preconditions: V1Preconditions = {};
        if (opts.uid !== undefined) preconditions.uid = opts.uid;
        if (opts.resourceVersion !== undefined) preconditions.resourceVersion = opts.resourceVersion;
        const body: V1DeleteOptions = {};
        if (Object.keys(preconditions).length > 0) body.preconditions = preconditions;
        if (opts.propagationPolicy) body.propagationPolicy = opts.propagationPolicy;
        const sendBody = Object.keys(body).length > 0 ? body : undefined;
        try {
            await this.#objects.delete(spec, undefined, undefined, undefined, undefined, undefined, sendBody);
        } catch (err) {
            if (isNotFound(err)) {
                this.#onWrite?.('delete', kind, false);
                return false;
            }
            throw err;
        }
        this.#count('delete', kind);
        return true;
    }

    /** JSON merge patch of labels/annotations/ownerReferences/finalizers (e.g. to orphan an object). */
    async patchMetadata<T extends KubernetesObject>(
        apiVersion: string,
        kind: string,
        namespace: string | undefined,
        name: string,
        patch: MetadataPatch,
    ): Promise<T> {
        const metadata: Record<string, unknown> = { name };
        if (namespace) metadata.namespace = namespace;
        for (const field of [
            'labels',
            'annotations',
            'ownerReferences',
            'finalizers',
            'resourceVersion',
        ] as const) {
            if (patch[field] !== undefined) metadata[field] = patch[field];
        }
        const body = { apiVersion, kind, metadata } as unknown as T;
        const result = await this.#objects.patch<T>(
            body,
            undefined,
            undefined,
            this.fieldManager,
            undefined,
            PatchStrategy.MergePatch,
        );
        this.#count('patch', kind);
        return result;
    }
}
