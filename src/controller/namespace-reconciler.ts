/**
 * The namespace reconciler: makes one namespace's generated objects and `isolation.dev/profile` label match the
 * profile that governs it, and records the outcome for that profile's status.
 *
 * Level-triggered: the key is only a namespace name; everything else is read from the informer caches. The
 * pure planner computes the desired objects, `needsApply` compares each with the cached live object on the fields
 * the operator owns, and only differing objects are applied (server-side apply), so a converged namespace costs
 * zero writes. Generated objects no longer desired are deleted. Errors from one object do not stop the others;
 * the namespace is then reported failed and retried with backoff (or not, for a refusal retrying cannot fix).
 * While the profile that holds a namespace is being deleted, the profile reconciler owns its cleanup and this
 * reconciler leaves the namespace alone.
 */
import type { V1Namespace, V1ObjectMeta } from '@kubernetes/client-node';

import { LABEL_PROFILE, FIELD_MANAGER } from '../api/types.ts';
import type { IsolationProfile, PlannedAction } from '../api/types.ts';
import { needsApply, neverGovernSet, plan, requiresReplace, resolveNamespace } from '../plan/index.ts';
import type { DesiredObject, PlanSettings } from '../plan/index.ts';
import type { NamespaceOutcome, OutcomeStore } from './outcomes.ts';
import { silentLogger } from '../observability/logger.ts';
import type { Logger } from '../observability/logger.ts';
import type { ClusterView, ClusterWriter, ForeignObject, GeneratedLive, ProfileEvents } from './ports.ts';

export interface ReconcileResult {
    /** Profiles whose status must be recomputed (the previous and the current governor). */
    profiles: string[];
    /** An error that retrying will not fix: report, do not back off forever. */
    terminal?: boolean;
    error?: Error;
}

export interface NamespaceReconcilerDeps {
    view: ClusterView;
    writer: ClusterWriter;
    outcomes: OutcomeStore;
    events: ProfileEvents;
    settings: PlanSettings;
    /** Hooks for metrics; all optional. */
    onDriftCorrected?: (kind: string) => void;
    onDriftDetected?: (kind: string) => void;
    onWrite?: (verb: 'apply' | 'delete' | 'label', kind: string) => void;
    /** Per desired object: written, already converged, or failed. */
    onApplyResult?: (kind: string, result: 'applied' | 'unchanged' | 'error') => void;
    /** The ClusterRoles the operator's RBAC lets it bind (`--bindable-roles`); only used to explain a refusal. */
    bindableRoles?: string[];
}

/** Adds to a refused RoleBinding the reason an operator is most likely to need: the role is not bindable. */
export function explainRefusal(obj: DesiredObject, err: unknown, bindable: string[] | undefined): unknown {
    if (obj.kind !== 'RoleBinding' || errorCode(err) !== 403 || !bindable) return err;
    const role = obj.roleRef;
    if (role.kind !== 'ClusterRole' || bindable.includes(role.name)) return err;
    const e = new Error(
        `${errorMessage(err)} (ClusterRole "${role.name}" is not among the roles the operator may bind: ` +
            `${bindable.join(', ')}; see config/rbac/bindable_roles.yaml)`,
    );
    return Object.assign(e, { code: 403 });
}

/** Status code of a Kubernetes API error, if any. */
export function errorCode(err: unknown): number | undefined {
    const e = err as { code?: unknown; statusCode?: unknown; response?: { statusCode?: unknown } };
    for (const c of [e?.code, e?.statusCode, e?.response?.statusCode]) if (typeof c === 'number') return c;
    return undefined;
}

/** Message of a Kubernetes API error: the Status message from the body when there is one. */
export function errorMessage(err: unknown): string {
    const e = err as { body?: unknown; message?: string };
    let body = e?.body;
    if (typeof body === 'string') {
        try {
            body = JSON.parse(body);
        } catch {
            // not JSON
        }
    }
    const msg = (body as { message?: unknown } | undefined)?.message;
    if (typeof msg === 'string' && msg) return msg;
    return e?.message ?? String(err);
}

/** 400/403/404(role)/409?/422: the API server refuses the content; only a change to the profile or cluster helps. */
export function isTerminal(err: unknown): boolean {
    const code = errorCode(err);
    return code === 400 || code === 403 || code === 422;
}

/** The most recent field manager other than the operator that touched the object, if any. */
export function foreignManager(meta: V1ObjectMeta | undefined): string | undefined {
    const entries = (meta?.managedFields ?? []).filter(
        (m) => m.manager && !m.manager.startsWith(FIELD_MANAGER),
    );
    if (entries.length === 0) return undefined;
    // `time` is a Date from a typed list and an ISO string from a watch event.
    const t = (x: unknown) => (x ? new Date(x as string | Date).getTime() : 0);
    entries.sort((a, b) => t(a.time) - t(b.time));
    return entries[entries.length - 1]?.manager;
}

function liveFor(
    view: ClusterView,
    namespace: string,
): Map<string, { kind: DesiredObject['kind']; obj: GeneratedLive }> {
    const m = new Map<string, { kind: DesiredObject['kind']; obj: GeneratedLive }>();
    for (const np of view.networkPolicies(namespace))
        m.set(`NetworkPolicy/${np.metadata?.name}`, { kind: 'NetworkPolicy', obj: np });
    for (const rb of view.roleBindings(namespace))
        m.set(`RoleBinding/${rb.metadata?.name}`, { kind: 'RoleBinding', obj: rb });
    return m;
}

export class NamespaceReconciler {
    #d: NamespaceReconcilerDeps;
    #neverGovern: Set<string>;

    constructor(deps: NamespaceReconcilerDeps) {
        this.#d = deps;
        this.#neverGovern = neverGovernSet(deps.settings);
    }

    /** Reconciles one namespace; `log` is the reconcile's child logger (controller, namespace, reconcileID). */
    async reconcile(name: string, log: Logger = silentLogger()): Promise<ReconcileResult> {
        const { view, outcomes } = this.#d;
        const ns = view.namespace(name);
        const previous = outcomes.get(name)?.profile;
        if (!ns || ns.metadata?.deletionTimestamp) {
            // The namespace controller removes everything in it; nothing to write.
            outcomes.delete(name);
            return { profiles: previous ? [previous] : [] };
        }
        const labels = ns.metadata?.labels ?? {};
        const holder = labels[LABEL_PROFILE];
        const resolution = resolveNamespace({ name, labels }, view.profiles(), this.#neverGovern);

        // A deleting profile that still holds the namespace: its finalizer cleans up first.
        if (holder && resolution.leaving.some((p) => p.metadata.name === holder)) {
            return { profiles: [holder] };
        }

        const winner = resolution.winner;
        const touched = new Set<string>();
        if (previous) touched.add(previous);
        if (holder && view.profile(holder)) touched.add(holder);
        for (const p of resolution.losers) touched.add(p.metadata.name);
        for (const p of resolution.skippedBy) touched.add(p.metadata.name);

        if (!winner) {
            outcomes.delete(name);
            const error = await this.#release(ns);
            return { profiles: [...touched], error, terminal: error ? isTerminal(error) : undefined };
        }
        touched.add(winner.metadata.name);
        const w = { created: 0, updated: 0, deleted: 0, labelled: 0 };
        const outcome = await this.#govern(ns, winner, w);
        outcomes.set(outcome);
        const meta = { profile: winner.metadata.name, state: outcome.state, ...w };
        if (outcome.state === 'Failed')
            log.warn('namespace not fully enforced', { ...meta, error: outcome.message });
        else if (w.created + w.updated + w.deleted + w.labelled > 0) log.info('namespace reconciled', meta);
        else log.debug('namespace up to date', meta);
        if (outcome.state === 'Failed') {
            return {
                profiles: [...touched],
                error: new Error(outcome.message ?? 'failed'),
                terminal: outcome.terminal,
            };
        }
        return { profiles: [...touched] };
    }

    /** No profile governs the namespace: delete leftovers and drop the label. */
    async #release(ns: V1Namespace): Promise<Error | undefined> {
        const name = ns.metadata!.name!;
        let firstError: Error | undefined;
        for (const { kind, obj } of liveFor(this.#d.view, name).values()) {
            try {
                await this.#d.writer.delete(
                    kind,
                    name,
                    obj.metadata!.name!,
                    obj.metadata?.uid,
                    obj.metadata?.resourceVersion,
                );
                this.#d.onWrite?.('delete', kind);
            } catch (err) {
                firstError ??= new Error(`delete ${kind} ${obj.metadata?.name}: ${errorMessage(err)}`);
            }
        }
        if (ns.metadata?.labels?.[LABEL_PROFILE] !== undefined) {
            try {
                await this.#d.writer.unlabelNamespace(name);
                this.#d.onWrite?.('label', 'Namespace');
            } catch (err) {
                firstError ??= new Error(`remove namespace label: ${errorMessage(err)}`);
            }
        }
        return firstError;
    }

    async #govern(
        ns: V1Namespace,
        profile: IsolationProfile,
        written: { created: number; updated: number; deleted: number; labelled: number },
    ): Promise<NamespaceOutcome> {
        const { view, writer, events, settings } = this.#d;
        const name = ns.metadata!.name!;
        const spec = profile.spec;
        const mode = spec.mode ?? 'Enforce';
        const desired = plan({
            namespace: { name, labels: ns.metadata?.labels ?? {} },
            profile,
            serviceAccounts: view.serviceAccounts(name).map((sa) => ({
                name: sa.metadata?.name ?? '',
                labels: sa.metadata?.labels ?? {},
            })),
            settings,
        });
        const live = liveFor(view, name);
        const base = {
            namespace: name,
            profile: profile.metadata.name,
            generation: profile.metadata.generation ?? 0,
            networkPolicies: desired.filter((o) => o.kind === 'NetworkPolicy').length,
            roleBindings: desired.filter((o) => o.kind === 'RoleBinding').length,
        };

        const creates: DesiredObject[] = [];
        const updates: { obj: DesiredObject; live: GeneratedLive }[] = [];
        for (const obj of desired) {
            const key = `${obj.kind}/${obj.metadata.name}`;
            const cur = live.get(key);
            live.delete(key);
            if (!cur) creates.push(obj);
            else if (needsApply(obj, cur.obj)) updates.push({ obj, live: cur.obj });
        }
        const deletes = [...live.values()];

        if (mode === 'DryRun') {
            const planned: PlannedAction[] = [
                ...creates.map((o) => ({
                    action: 'create' as const,
                    kind: o.kind,
                    namespace: name,
                    name: o.metadata.name,
                })),
                ...updates.map((u) => ({
                    action: 'update' as const,
                    kind: u.obj.kind,
                    namespace: name,
                    name: u.obj.metadata.name,
                })),
                ...deletes.map((d) => ({
                    action: 'delete' as const,
                    kind: d.kind,
                    namespace: name,
                    name: d.obj.metadata!.name!,
                })),
            ];
            return { ...base, state: 'DryRun', plan: planned };
        }
        if (spec.suspend) return { ...base, state: 'Suspended' };

        const errors: { msg: string; terminal: boolean }[] = [];
        const drift: string[] = [];
        const attempt = async (what: string, fn: () => Promise<void>) => {
            try {
                await fn();
            } catch (err) {
                errors.push({ msg: `${what}: ${errorMessage(err)}`, terminal: isTerminal(err) });
            }
        };

        // The label first: `profile` peers elsewhere select it.
        if (ns.metadata?.labels?.[LABEL_PROFILE] !== profile.metadata.name) {
            await attempt('label namespace', async () => {
                await writer.labelNamespace(name, profile.metadata.name);
                this.#d.onWrite?.('label', 'Namespace');
                written.labelled++;
            });
        }
        const apply = async (obj: DesiredObject) => {
            try {
                await writer.apply(obj);
                this.#d.onWrite?.('apply', obj.kind);
                this.#d.onApplyResult?.(obj.kind, 'applied');
            } catch (err) {
                this.#d.onApplyResult?.(obj.kind, 'error');
                throw explainRefusal(obj, err, this.#d.bindableRoles);
            }
        };
        // Never adopt: an object with a generated name that the cache does not show may be someone else's
        // (pre-created by a tenant, e.g. an allow-all "isolation-default-deny"). Server-side apply would take it
        // over silently; instead it is reported and the namespace is not counted as enforced.
        for (const kind of ['NetworkPolicy', 'RoleBinding'] as const) {
            const names = creates.filter((o) => o.kind === kind).map((o) => o.metadata.name);
            if (names.length === 0) continue;
            let foreign: ForeignObject[];
            try {
                foreign = await writer.foreignObjects(kind, name, names);
            } catch (err) {
                errors.push({ msg: `check existing ${kind}s: ${errorMessage(err)}`, terminal: false });
                continue;
            }
            for (const f of foreign) {
                const by = f.manager ? ` (last written by ${f.manager})` : '';
                const msg =
                    `${f.kind} ${f.name} already exists and was not created by isolation-operator${by}; ` +
                    'it is never adopted: delete or rename it';
                errors.push({ msg, terminal: true });
                events.record(profile, 'Warning', 'ForeignObject', `${name}: ${msg}`);
                const i = creates.findIndex((o) => o.kind === f.kind && o.metadata.name === f.name);
                if (i >= 0) creates.splice(i, 1);
            }
        }
        const changing = new Set<DesiredObject>([...creates, ...updates.map((u) => u.obj)]);
        for (const obj of desired) if (!changing.has(obj)) this.#d.onApplyResult?.(obj.kind, 'unchanged');
        for (const obj of creates) {
            await attempt(`create ${obj.kind} ${obj.metadata.name}`, async () => {
                await apply(obj);
                written.created++;
            });
        }
        for (const { obj, live: cur } of updates) {
            const manager = foreignManager(cur.metadata);
            const label = `${obj.kind} ${obj.metadata.name}`;
            if (manager && (spec.driftPolicy ?? 'Correct') === 'Report') {
                drift.push(`${label} (changed by ${manager})`);
                this.#d.onDriftDetected?.(obj.kind);
                events.record(
                    profile,
                    'Warning',
                    'DriftDetected',
                    `${label} in ${name} was changed by ${manager}; left as is (driftPolicy: Report)`,
                );
                continue;
            }
            await attempt(`update ${label}`, async () => {
                // roleRef is immutable: a changed role means delete and create.
                if (requiresReplace(obj, cur)) {
                    await writer.delete(
                        obj.kind,
                        name,
                        obj.metadata.name,
                        cur.metadata?.uid,
                        cur.metadata?.resourceVersion,
                    );
                    this.#d.onWrite?.('delete', obj.kind);
                }
                await apply(obj);
                written.updated++;
            });
            if (manager) {
                this.#d.onDriftCorrected?.(obj.kind);
                events.record(
                    profile,
                    'Normal',
                    'DriftCorrected',
                    `${label} in ${name} was changed by ${manager}; re-applied`,
                );
            }
        }
        for (const d of deletes) {
            await attempt(`delete ${d.kind} ${d.obj.metadata?.name}`, async () => {
                await writer.delete(
                    d.kind,
                    name,
                    d.obj.metadata!.name!,
                    d.obj.metadata?.uid,
                    d.obj.metadata?.resourceVersion,
                );
                this.#d.onWrite?.('delete', d.kind);
                written.deleted++;
            });
        }

        if (errors.length > 0) {
            const terminal = errors.every((e) => e.terminal);
            const message = errors.map((e) => e.msg).join('; ');
            events.record(profile, 'Warning', 'ApplyFailed', `${name}: ${message}`);
            return { ...base, state: 'Failed', message, terminal, drift };
        }
        return { ...base, state: 'Enforced', drift };
    }
}
