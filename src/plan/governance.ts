/**
 * Governance of every namespace, kept up to date incrementally: for each profile, the namespaces it selects, governs,
 * loses to another profile and skips (never-govern), at a cost proportional to what changed since the last look
 * rather than to the size of the cluster.
 *
 * The profile status pass needs this for one profile, and runs after namespace reconciles (every 500 ms while
 * namespaces converge). Recomputing it from scratch matched every profile against every namespace and sorted them
 * all: at 10,000 namespaces that was the largest cost of the operator's own code in a converge. Here each namespace
 * is resolved by `resolveNamespace` (the one resolution the namespace reconciler uses too) and only again when its
 * object changed.
 *
 * Change detection is by identity. The cluster view hands out immutable objects and replaces an object when it
 * changes (an informer never edits a cached object), so a namespace object seen before has the labels it had then.
 * A namespace that is new, replaced or gone is resolved again against the profiles (O(profiles)); a profile that is
 * new, gone, or changed in spec (`metadata.generation`), creation or deletion resolves every namespace again —
 * profile changes are rare next to namespace changes, and a status write is not one. Per-profile lists are sorted by namespace name (code units) and cached until that
 * profile's answer changes.
 */
import type { NamespaceInfo } from './selection.ts';
import type { ProfileLike } from './conflicts.ts';
import { compareProfiles, resolveNamespace } from './conflicts.ts';
import { compareStrings } from './order.ts';

export interface ConflictEntry {
    namespace: string;
    governedBy: string;
}

/** Per-profile view for status. Every list is sorted by namespace name. */
export interface ProfileGovernance {
    /** Governable namespaces the profile selects (won, lost or — when deleting — left). */
    selected: string[];
    /** Namespaces it governs. */
    governed: string[];
    /** Namespaces it selects but another profile governs. */
    conflicts: ConflictEntry[];
    /** Never-govern namespaces it selects (skipped). */
    skipped: string[];
}

export interface Governance {
    /** namespace name -> governing profile name (only governed namespaces appear). */
    governedBy: Map<string, string>;
    /** profile name -> its view; every given profile has an entry. */
    byProfile: Map<string, ProfileGovernance>;
}

/** How the index reads a namespace object (so callers pass cached objects as they are, without copies). */
export interface NamespaceAccess<N> {
    name(namespace: N): string;
    labels(namespace: N): Record<string, string> | undefined;
}

/** One namespace's contribution to the per-profile sets, as last resolved. */
interface NamespaceEntry<N> {
    source: N;
    /** Profiles that select it and may govern it: winner first, then losers, then leaving (deleting) ones. */
    selectedBy: readonly string[];
    winner: string | null;
    losers: readonly string[];
    skippedBy: readonly string[];
    /** The `update` call that last saw it (to find namespaces that are gone). */
    seen: number;
}

class ProfileSets {
    readonly selected = new Set<string>();
    readonly governed = new Set<string>();
    /** namespace -> the profile that governs it instead. */
    readonly conflicts = new Map<string, string>();
    readonly skipped = new Set<string>();
    #sorted: ProfileGovernance | undefined;

    changed(): void {
        this.#sorted = undefined;
    }

    view(): ProfileGovernance {
        this.#sorted ??= {
            selected: [...this.selected].sort(compareStrings),
            governed: [...this.governed].sort(compareStrings),
            conflicts: [...this.conflicts.keys()]
                .sort(compareStrings)
                .map((namespace) => ({ namespace, governedBy: this.conflicts.get(namespace) as string })),
            skipped: [...this.skipped].sort(compareStrings),
        };
        return this.#sorted;
    }
}

const NONE: readonly string[] = Object.freeze([]);

/**
 * What of a profile's metadata decides governance, with `generation` standing for its spec: the API server bumps
 * it on every spec change of a CRD with a status subresource, and on nothing else. So a status write (a new object
 * in the cache after each of our own status updates) does not resolve every namespace again. Undefined without a
 * generation (objects not from an API server): identity decides then.
 */
function governanceKey(p: ProfileLike): string | undefined {
    const m = p.metadata;
    if (m.generation === undefined) return undefined;
    return `${m.uid ?? ''}\0${m.generation}\0${String(m.creationTimestamp ?? '')}\0${String(m.deletionTimestamp ?? '')}`;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
}

export class GovernanceIndex<N extends object> {
    readonly #neverGovern: ReadonlySet<string>;
    readonly #access: NamespaceAccess<N>;
    /** The profiles of the last full resolution, by name (the objects then, or later ones with the same key). */
    #profiles = new Map<string, ProfileLike>();
    #ordered: ProfileLike[] = [];
    readonly #namespaces = new Map<string, NamespaceEntry<N>>();
    #byProfile = new Map<string, ProfileSets>();
    #pass = 0;
    #resolutions = 0;

    constructor(neverGovern: ReadonlySet<string>, access: NamespaceAccess<N>) {
        this.#neverGovern = neverGovern;
        this.#access = access;
    }

    /**
     * Brings the index up to date with the cluster's profiles and namespaces (objects as the view holds them).
     * Returns `this` for chaining.
     */
    update(profiles: readonly ProfileLike[], namespaces: readonly N[]): this {
        if (this.#profilesChanged(profiles)) {
            this.#profiles = new Map(profiles.map((p) => [p.metadata.name, p]));
            this.#ordered = [...profiles].sort(compareProfiles);
            this.#byProfile = new Map(this.#ordered.map((p) => [p.metadata.name, new ProfileSets()]));
            this.#namespaces.clear();
        }
        const pass = ++this.#pass;
        const access = this.#access;
        for (const ns of namespaces) {
            const name = access.name(ns);
            const entry = this.#namespaces.get(name);
            if (entry !== undefined && entry.source === ns) {
                entry.seen = pass;
                continue;
            }
            this.#resolve(name, ns, entry, pass);
        }
        if (this.#namespaces.size > namespaces.length) {
            for (const [name, entry] of this.#namespaces) {
                if (entry.seen === pass) continue;
                this.#remove(name, entry);
                this.#namespaces.delete(name);
            }
        }
        return this;
    }

    /** Namespaces resolved against the profiles since the index was made: the work done, for tests and metrics. */
    get resolutions(): number {
        return this.#resolutions;
    }

    /** The profile's view (sorted lists; do not modify), or undefined for a profile the index was not given. */
    forProfile(profile: string): ProfileGovernance | undefined {
        return this.#byProfile.get(profile)?.view();
    }

    /** The whole answer: who governs each namespace, and every profile's view. */
    snapshot(): Governance {
        const governedBy = new Map<string, string>();
        const names = [...this.#namespaces.keys()].sort(compareStrings);
        for (const name of names) {
            const winner = (this.#namespaces.get(name) as NamespaceEntry<N>).winner;
            if (winner !== null) governedBy.set(name, winner);
        }
        const byProfile = new Map<string, ProfileGovernance>();
        for (const [name, sets] of this.#byProfile) byProfile.set(name, sets.view());
        return { governedBy, byProfile };
    }

    #profilesChanged(profiles: readonly ProfileLike[]): boolean {
        if (profiles.length !== this.#profiles.size) return true;
        for (const p of profiles) {
            const seen = this.#profiles.get(p.metadata.name);
            if (seen === undefined) return true;
            if (seen === p) continue;
            const was = governanceKey(seen);
            if (was === undefined || was !== governanceKey(p)) return true;
        }
        return false;
    }

    #resolve(name: string, ns: N, old: NamespaceEntry<N> | undefined, pass: number): void {
        const info: NamespaceInfo = { name };
        const labels = this.#access.labels(ns);
        if (labels !== undefined) info.labels = labels;
        const r = resolveNamespace(info, this.#ordered, this.#neverGovern);
        this.#resolutions++;
        const winner = r.winner?.metadata.name ?? null;
        const losers = r.losers.length > 0 ? r.losers.map((p) => p.metadata.name) : NONE;
        const skippedBy = r.skippedBy.length > 0 ? r.skippedBy.map((p) => p.metadata.name) : NONE;
        const selectedBy =
            winner === null && r.leaving.length === 0
                ? NONE
                : [...(winner === null ? [] : [winner]), ...losers, ...r.leaving.map((p) => p.metadata.name)];
        if (
            old !== undefined &&
            old.winner === winner &&
            sameList(old.losers, losers) &&
            sameList(old.skippedBy, skippedBy) &&
            sameList(old.selectedBy, selectedBy)
        ) {
            old.source = ns;
            old.seen = pass;
            return;
        }
        if (old !== undefined) this.#remove(name, old);
        const entry: NamespaceEntry<N> = { source: ns, selectedBy, winner, losers, skippedBy, seen: pass };
        this.#namespaces.set(name, entry);
        for (const p of selectedBy) this.#sets(p).selected.add(name);
        for (const p of skippedBy) this.#sets(p).skipped.add(name);
        if (winner !== null) this.#sets(winner).governed.add(name);
        for (const p of losers) this.#sets(p).conflicts.set(name, winner as string);
    }

    #remove(name: string, entry: NamespaceEntry<N>): void {
        for (const p of entry.selectedBy) this.#sets(p).selected.delete(name);
        for (const p of entry.skippedBy) this.#sets(p).skipped.delete(name);
        if (entry.winner !== null) this.#sets(entry.winner).governed.delete(name);
        for (const p of entry.losers) this.#sets(p).conflicts.delete(name);
    }

    #sets(profile: string): ProfileSets {
        const sets = this.#byProfile.get(profile) as ProfileSets;
        sets.changed();
        return sets;
    }
}

/**
 * Resolves every namespace at once (the index, built and read in one go): O(profiles x namespaces) selector matches.
 * For one-off answers; a controller that asks again and again keeps a `GovernanceIndex`.
 */
export function computeGovernance(
    profiles: readonly ProfileLike[],
    namespaces: readonly NamespaceInfo[],
    neverGovern: ReadonlySet<string>,
): Governance {
    return new GovernanceIndex<NamespaceInfo>(neverGovern, {
        name: (n) => n.name,
        labels: (n) => n.labels,
    })
        .update(profiles, namespaces)
        .snapshot();
}
