/**
 * Delegated authentication and authorization of HTTP requests, as controller-runtime's metrics filter
 * (`filters.WithAuthenticationAndAuthorization`) and every Kubernetes component do: the bearer token is checked
 * with a TokenReview (who is this?), then a SubjectAccessReview asks whether that user may `get` the non-resource
 * URL (e.g. `/metrics`). So a scraper needs only RBAC: a ClusterRole with `nonResourceURLs: [/metrics]`,
 * `verbs: [get]` bound to its ServiceAccount; the operator needs `create` on tokenreviews and subjectaccessreviews.
 *
 * Design choice: decisions are cached per token for `ttlMs` (10 s, the API server's own webhook-cache default) so a
 * scrape every 15-30 s costs at most two reviews and a burst of scrapes costs nothing; the cache is bounded, keyed by
 * a SHA-256 of the token (the token itself is never kept). An error talking to the API server answers 500 to the
 * caller and is not cached.
 */
import { createHash } from 'node:crypto';
import type { V1SubjectAccessReview, V1TokenReview } from '@kubernetes/client-node';
import { type Clock, realClock } from './clock.ts';

export type AccessDecision =
    { allowed: true; user: string } | { allowed: false; status: 401 | 403; reason: string };

/** The two review calls (client-node's AuthenticationV1Api / AuthorizationV1Api satisfy them). */
export interface ReviewApis {
    createTokenReview(param: { body: V1TokenReview }): Promise<V1TokenReview>;
    createSubjectAccessReview(param: { body: V1SubjectAccessReview }): Promise<V1SubjectAccessReview>;
}

export interface DelegatedAuthOptions {
    apis: ReviewApis;
    /** The non-resource URL and verb asked about. Default `/metrics`, `get`. */
    path?: string;
    verb?: string;
    /** Audiences the token must be valid for (TokenReview `spec.audiences`); default the API server's. */
    audiences?: string[];
    ttlMs?: number;
    maxEntries?: number;
    clock?: Clock;
}

function bearer(authorization: string | undefined): string | undefined {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    return m?.[1];
}

export class DelegatedAuth {
    readonly #o: DelegatedAuthOptions;
    readonly #clock: Clock;
    readonly #ttlMs: number;
    readonly #max: number;
    readonly #cache = new Map<string, { decision: AccessDecision; until: number }>();

    constructor(opts: DelegatedAuthOptions) {
        this.#o = opts;
        this.#clock = opts.clock ?? realClock;
        this.#ttlMs = opts.ttlMs ?? 10_000;
        this.#max = opts.maxEntries ?? 1000;
    }

    /** Decides on a request's `Authorization` header. Rejects only when the API server cannot be asked. */
    async authorize(authorization: string | undefined): Promise<AccessDecision> {
        const token = bearer(authorization);
        if (!token) return { allowed: false, status: 401, reason: 'no bearer token' };
        const key = createHash('sha256').update(token).digest('hex');
        const now = this.#clock.now();
        const hit = this.#cache.get(key);
        if (hit && hit.until > now) return hit.decision;
        const decision = await this.#review(token);
        if (this.#cache.size >= this.#max) this.#cache.clear();
        this.#cache.set(key, { decision, until: now + this.#ttlMs });
        return decision;
    }

    async #review(token: string): Promise<AccessDecision> {
        const tr = await this.#o.apis.createTokenReview({
            body: {
                apiVersion: 'authentication.k8s.io/v1',
                kind: 'TokenReview',
                spec: { token, ...(this.#o.audiences ? { audiences: this.#o.audiences } : {}) },
            },
        });
        const user = tr.status?.user;
        if (!tr.status?.authenticated || !user?.username)
            return { allowed: false, status: 401, reason: tr.status?.error ?? 'token not authenticated' };
        const path = this.#o.path ?? '/metrics';
        const verb = this.#o.verb ?? 'get';
        const sar = await this.#o.apis.createSubjectAccessReview({
            body: {
                apiVersion: 'authorization.k8s.io/v1',
                kind: 'SubjectAccessReview',
                spec: {
                    user: user.username,
                    ...(user.uid ? { uid: user.uid } : {}),
                    ...(user.groups ? { groups: user.groups } : {}),
                    ...(user.extra ? { extra: user.extra } : {}),
                    nonResourceAttributes: { path, verb },
                },
            },
        });
        if (!sar.status?.allowed)
            return {
                allowed: false,
                status: 403,
                reason: `${user.username} may not ${verb} ${path}${sar.status?.reason ? `: ${sar.status.reason}` : ''}`,
            };
        return { allowed: true, user: user.username };
    }
}
