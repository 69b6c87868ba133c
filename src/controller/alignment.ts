/**
 * The operator's AlignmentGap report: where a RoleBinding grants a ServiceAccount rights in a governed namespace
 * that no packet of it can reach, or where a profile allows a `profile` peer whose own policies deny the other
 * half (docs/explain.md, `src/netpol/alignment.ts`).
 *
 * Design choices:
 * - The check is pure (`computeAlignment`); this module only feeds it from the informer caches and memoises the
 *   result. One computation answers every profile and is redone only after a change (`touch`), at most once per
 *   `minIntervalMs` however many status reconciles ask, and never more than a tenth of the time (the pause after
 *   a computation is at least `dutyFactor` times as long as it took), keeping status work bounded at scale:
 *   at thousands of namespaces one computation takes long enough that a fixed 2 s interval let it eat the CPU
 *   the namespace reconciles needed during a converge.
 * - While namespace work is waiting (`backlog`, e.g. the converge of a new profile), a due computation is put off
 *   for up to `maxDeferMs` (default 60 s): its answer would describe half-converged namespaces and be redone at
 *   once, and it took 10 % of the operator's busy CPU in a 3,000-namespace converge (docs/benchmarks.md). A
 *   status is then written without the new answer and asks again, so the deferral is bounded, never a loss.
 * - Input is what the operator caches: the generated NetworkPolicies and RoleBindings (label-selected) and every
 *   namespace. Policies and bindings made by other tools are not seen here (the `explain gaps` command reads them
 *   all); the report is about what the profiles themselves say. Report-only: it never changes what is written.
 */
import type { IsolationProfile } from '../api/types.ts';
import type { AlignmentGap, NetworkPolicyInput, RoleBindingInput } from '../netpol/index.ts';
import { computeAlignment, governanceFromLabels } from '../netpol/index.ts';
import type { ClusterView } from './ports.ts';

export interface AlignmentReportOptions {
    view: ClusterView;
    now: () => number;
    /** Two computations are at least this far apart (default 2000 ms); see `gapsFor`. */
    minIntervalMs?: number;
    /** The pause after a computation is at least this many times its duration (default 10). */
    dutyFactor?: number;
    /** True while namespace reconciles are waiting; a due computation is deferred then (see the header). */
    backlog?: () => boolean;
    /** Longest deferral while `backlog` holds, counted from the first change not yet checked (default 60 s). */
    maxDeferMs?: number;
    /** Called with the gap counts by kind after every computation (metrics). */
    onComputed?: (byKind: Record<string, number>) => void;
}

export interface ProfileGaps {
    gaps: AlignmentGap[];
    /** Set when the answer predates a change not yet checked: ask again after this many ms. */
    retryInMs?: number;
}

export class AlignmentReport {
    #o: AlignmentReportOptions;
    #version = 0;
    #computedVersion = -1;
    #at = Number.NEGATIVE_INFINITY;
    #tookMs = 0;
    #gaps = new Map<string, AlignmentGap[]>();
    /** When the first change since the last computation happened. */
    #staleSince = 0;

    constructor(options: AlignmentReportOptions) {
        this.#o = options;
    }

    /** Something the check reads changed (an informer event on profiles, namespaces or generated objects). */
    touch(): void {
        if (this.#version === this.#computedVersion) this.#staleSince = this.#o.now();
        this.#version++;
    }

    /**
     * The gaps reported on `profile`, recomputed when something changed since the last computation — unless the
     * last one is younger than `minIntervalMs` (bounded cost under churn): then the previous answer comes with
     * `retryInMs`, and the caller asks again then, so a status is never left on a stale answer.
     */
    gapsFor(profile: string): ProfileGaps {
        if (this.#version !== this.#computedVersion) {
            const pause = Math.max(this.#o.minIntervalMs ?? 2000, (this.#o.dutyFactor ?? 10) * this.#tookMs);
            const now = this.#o.now();
            const wait = this.#at + pause - now;
            if (wait > 0) return { gaps: this.#gaps.get(profile) ?? [], retryInMs: wait };
            const deferLeft = this.#staleSince + (this.#o.maxDeferMs ?? 60_000) - now;
            if (deferLeft > 0 && this.#o.backlog?.() === true) {
                const retryInMs = Math.min(deferLeft, this.#o.minIntervalMs ?? 2000);
                return { gaps: this.#gaps.get(profile) ?? [], retryInMs };
            }
            const version = this.#version;
            const started = this.#o.now();
            this.#gaps = this.#compute();
            this.#computedVersion = version;
            this.#at = this.#o.now();
            this.#tookMs = this.#at - started;
        }
        return { gaps: this.#gaps.get(profile) ?? [] };
    }

    #compute(): Map<string, AlignmentGap[]> {
        const { view } = this.#o;
        const namespaces = view
            .namespaces()
            .map((ns) => ({ name: ns.metadata?.name ?? '', labels: ns.metadata?.labels ?? {} }))
            .filter((ns) => ns.name !== '');
        const policies: NetworkPolicyInput[] = [];
        const roleBindings: RoleBindingInput[] = [];
        // The cached objects are passed as they are, not copied into the input shapes: at 10,000 namespaces the
        // copies were 70,000 objects allocated per computation, all alive until it ends (a computation's
        // transient is what raises the heap's high-water mark). Informer objects type their metadata as
        // optional; the checks need a name. The typed client says `operator: string` where the evaluator takes
        // the API's four operators; the cached objects are the API server's own JSON, so the narrower type holds.
        for (const ns of namespaces) {
            for (const np of view.networkPolicies(ns.name)) {
                if (np.metadata?.name && np.metadata.namespace === ns.name)
                    policies.push(np as NetworkPolicyInput);
            }
            for (const rb of view.roleBindings(ns.name)) {
                if (rb.metadata?.name && rb.metadata.namespace === ns.name)
                    roleBindings.push(rb as RoleBindingInput);
            }
        }
        const profiles: IsolationProfile[] = view.profiles().filter((p) => !p.metadata.deletionTimestamp);
        const result = computeAlignment({
            profiles,
            governance: governanceFromLabels(namespaces),
            namespaces,
            policies,
            roleBindings,
        });
        const byKind: Record<string, number> = { GrantWithoutPath: 0, OneSidedAllow: 0 };
        for (const gaps of result.values()) for (const g of gaps) byKind[g.kind] = (byKind[g.kind] ?? 0) + 1;
        this.#o.onComputed?.(byKind);
        return result;
    }
}
