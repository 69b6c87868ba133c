/**
 * Per-namespace reconcile outcomes, the hand-off from the namespace reconciler to the profile status reconciler.
 *
 * The namespace queue is the only writer of generated objects; the profile queue only summarises. Each namespace
 * reconcile records what it did for its governing profile here (in memory: on restart every namespace is
 * reconciled again before any status is written, so nothing needs persisting), then enqueues that profile. The
 * status reconciler refuses to write a status until every governed namespace has an outcome for the profile's
 * current generation, so a restart or a half-finished rollout never publishes partial counts.
 */
import type { PlannedAction } from '../api/types.ts';

export type OutcomeState = 'Enforced' | 'Failed' | 'DryRun' | 'Suspended' | 'Deleting';

export interface NamespaceOutcome {
    namespace: string;
    profile: string;
    /** metadata.generation of the profile this outcome was computed for. */
    generation: number;
    state: OutcomeState;
    networkPolicies: number;
    roleBindings: number;
    /** Failure message (state Failed). */
    message?: string;
    /** A failure that retrying will not fix (403/422 from the API server, a missing role). */
    terminal?: boolean;
    /** Drift left in place under driftPolicy Report, e.g. "NetworkPolicy isolation-dns (changed by kubectl-edit)". */
    drift?: string[];
    /** DryRun only: what Enforce would do. */
    plan?: PlannedAction[];
}

/** In-memory outcome store keyed by namespace; a namespace has at most one governing profile. */
export class OutcomeStore {
    #byNamespace = new Map<string, NamespaceOutcome>();
    #byProfile = new Map<string, Set<string>>();

    set(outcome: NamespaceOutcome): void {
        this.delete(outcome.namespace);
        this.#byNamespace.set(outcome.namespace, outcome);
        let set = this.#byProfile.get(outcome.profile);
        if (!set) {
            set = new Set();
            this.#byProfile.set(outcome.profile, set);
        }
        set.add(outcome.namespace);
    }

    /** Forgets the namespace (it left every profile, or it was deleted); returns the profile it had. */
    delete(namespace: string): string | undefined {
        const old = this.#byNamespace.get(namespace);
        if (!old) return undefined;
        this.#byNamespace.delete(namespace);
        const set = this.#byProfile.get(old.profile);
        set?.delete(namespace);
        if (set && set.size === 0) this.#byProfile.delete(old.profile);
        return old.profile;
    }

    get(namespace: string): NamespaceOutcome | undefined {
        return this.#byNamespace.get(namespace);
    }

    forProfile(profile: string): NamespaceOutcome[] {
        const names = this.#byProfile.get(profile);
        if (!names) return [];
        const out: NamespaceOutcome[] = [];
        for (const n of names) {
            const o = this.#byNamespace.get(n);
            if (o) out.push(o);
        }
        return out;
    }

    get size(): number {
        return this.#byNamespace.size;
    }
}
