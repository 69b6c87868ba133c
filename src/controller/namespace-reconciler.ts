/**
 * The namespace reconciler: makes one namespace's generated objects and `isolation.dev/profile` label match the
 * profile that governs it, and records the outcome for that profile's status.
 *
 * Level-triggered: the key is only a namespace name; everything else is read from the informer caches. The
 * pure planner computes the desired objects, `planActions` (src/plan/diff.ts, also what DryRun reports) compares
 * them with the cached live objects on the fields the operator owns, and only differing objects are written — a
 * missing one created (POST), a differing one replaced conditionally on the cached version (PUT; ADR 0022) — so a
 * converged namespace costs zero writes. A namespace's writes are sent together (up to 8 at once per phase).
 * Generated objects no longer desired are deleted. Errors from one object do not stop the others; the namespace is then reported failed and the reconcile
 * throws, speaking the workqueue's contract (src/runtime/errors.ts): a `TerminalError` when only a change to the
 * profile or cluster can help, a `RetryAfterError` when the API server asked to wait, any other error otherwise.
 * While the profile that holds a namespace is being deleted, the profile reconciler owns its cleanup and this
 * reconciler leaves the namespace alone.
 */
import type { V1Namespace } from '@kubernetes/client-node';

import { driftPolicyOf, isSuspended, modeOf } from '../api/defaults.ts';
import { LABEL_PROFILE } from '../api/types.ts';
import type { IsolationProfile } from '../api/types.ts';
import {
    lastForeignManager,
    neverGovernSet,
    plan,
    planActions,
    resolveNamespace,
    toPlannedActions,
} from '../plan/index.ts';
import type { DesiredObject, PlanSettings } from '../plan/index.ts';
import type { NamespaceOutcome, OutcomeStore } from './outcomes.ts';
import { silentLogger } from '../observability/logger.ts';
import type { Logger } from '../observability/logger.ts';
import {
    errorMessage,
    httpStatus,
    isTerminal,
    RetryAfterError,
    retryAfterMs,
    TerminalError,
} from '../runtime/errors.ts';
import { inParallel } from '../runtime/parallel.ts';
import type { ReconcileResult } from '../runtime/workqueue.ts';
import type { ClusterView, ClusterWriter, GeneratedLive, ProfileEvents } from './ports.ts';

/**
 * Writes of one namespace in flight at once, within each phase (creates, then updates, then deletes; the label
 * before all of them). The objects of a namespace are independent, so sending them together turns a namespace's
 * latency from one round trip per object into about one; the cap keeps a profile with many rules from opening
 * hundreds of streams per worker. With the default 16 workers (ADR 0023) that is up to 128 requests in flight.
 */
export const WRITES_IN_FLIGHT_PER_NAMESPACE = 8;

export interface NamespaceReconcilerDeps {
    view: ClusterView;
    writer: ClusterWriter;
    outcomes: OutcomeStore;
    events: ProfileEvents;
    settings: PlanSettings;
    /**
     * Told once per reconcile, success or failure, which profiles' status may have changed (the previous and the
     * current governor, losers, skipping profiles).
     */
    profilesTouched: (namespace: string, profiles: string[]) => void;
    /** Hooks for metrics; all optional. */
    onDriftCorrected?: (kind: string) => void;
    onDriftDetected?: (kind: string) => void;
    /** Per desired object: written, already converged, or failed. */
    onApplyResult?: (kind: string, result: 'applied' | 'unchanged' | 'error') => void;
    /** The ClusterRoles the operator's RBAC lets it bind (`--bindable-roles`); only used to explain a refusal. */
    bindableRoles?: string[];
}

/** Adds to a refused RoleBinding the reason an operator is most likely to need: the role is not bindable. */
export function explainRefusal(obj: DesiredObject, err: unknown, bindable: string[] | undefined): unknown {
    if (obj.kind !== 'RoleBinding' || httpStatus(err) !== 403 || !bindable) return err;
    const role = obj.roleRef;
    if (role.kind !== 'ClusterRole' || bindable.includes(role.name)) return err;
    const e = new Error(
        `${errorMessage(err)} (ClusterRole "${role.name}" is not among the roles the operator may bind: ` +
            `${bindable.join(', ')}; see config/rbac/bindable_roles.yaml)`,
    );
    return Object.assign(e, { code: 403 });
}

/** One failed write of a reconcile: its message, and what retrying can do about it. */
interface Failure {
    msg: string;
    terminal: boolean;
    retryAfterMs?: number;
}

function failure(what: string, err: unknown): Failure {
    const after = retryAfterMs(err, Date.now());
    return {
        msg: `${what}: ${errorMessage(err)}`,
        terminal: isTerminal(err),
        ...(after !== undefined ? { retryAfterMs: after } : {}),
    };
}

/**
 * The error a reconcile with failures throws: terminal only if every failure is; otherwise retried, no sooner
 * than the longest Retry-After any failure carried.
 */
function toError(failures: Failure[], message: string): Error {
    if (failures.every((f) => f.terminal)) return new TerminalError(message);
    const waits = failures.flatMap((f) => (f.retryAfterMs !== undefined ? [f.retryAfterMs] : []));
    return waits.length > 0 ? new RetryAfterError(message, Math.max(...waits)) : new Error(message);
}

export class NamespaceReconciler {
    #d: NamespaceReconcilerDeps;
    #neverGovern: Set<string>;

    constructor(deps: NamespaceReconcilerDeps) {
        this.#d = deps;
        this.#neverGovern = neverGovernSet(deps.settings);
    }

    /**
     * Reconciles one namespace; `log` is the reconcile's child logger (controller, namespace, reconcileID).
     * Resolves when the namespace is as desired (or nothing is to be done); throws otherwise (see the header).
     */
    async reconcile(name: string, log: Logger = silentLogger()): Promise<ReconcileResult | void> {
        const touched = new Set<string>();
        try {
            await this.#reconcile(name, log, touched);
        } finally {
            this.#d.profilesTouched(name, [...touched]);
        }
    }

    async #reconcile(name: string, log: Logger, touched: Set<string>): Promise<void> {
        const { view, outcomes } = this.#d;
        const ns = view.namespace(name);
        const previous = outcomes.get(name)?.profile;
        if (previous) touched.add(previous);
        if (!ns || ns.metadata?.deletionTimestamp) {
            // The namespace controller removes everything in it; nothing to write.
            outcomes.delete(name);
            return;
        }
        const labels = ns.metadata?.labels ?? {};
        const holder = labels[LABEL_PROFILE];
        const resolution = resolveNamespace({ name, labels }, view.profiles(), this.#neverGovern);

        // A deleting profile that still holds the namespace: its finalizer cleans up first.
        if (holder && resolution.leaving.some((p) => p.metadata.name === holder)) {
            touched.clear();
            touched.add(holder);
            return;
        }

        const winner = resolution.winner;
        if (holder && view.profile(holder)) touched.add(holder);
        for (const p of resolution.losers) touched.add(p.metadata.name);
        for (const p of resolution.skippedBy) touched.add(p.metadata.name);

        if (!winner) {
            outcomes.delete(name);
            const failures = await this.#release(ns);
            if (failures.length > 0) throw toError(failures, failures.map((f) => f.msg).join('; '));
            return;
        }
        touched.add(winner.metadata.name);
        const w = { created: 0, updated: 0, deleted: 0, labelled: 0 };
        const { outcome, failures } = await this.#govern(ns, winner, w);
        outcomes.set(outcome);
        const meta = { profile: winner.metadata.name, state: outcome.state, ...w };
        if (outcome.state === 'Failed') {
            log.warn('namespace not fully enforced', { ...meta, error: outcome.message });
            throw toError(failures, outcome.message ?? 'failed');
        }
        if (w.created + w.updated + w.deleted + w.labelled > 0) log.info('namespace reconciled', meta);
        else log.debug('namespace up to date', meta);
    }

    /** No profile governs the namespace: delete leftovers and drop the label. Only the first failure is kept. */
    async #release(ns: V1Namespace): Promise<Failure[]> {
        const { view, writer } = this.#d;
        const name = ns.metadata!.name!;
        const nothing: DesiredObject[] = [];
        const leftovers = planActions<GeneratedLive>(nothing, {
            networkPolicies: view.networkPolicies(name),
            roleBindings: view.roleBindings(name),
        }).delete;
        let first: Failure | undefined;
        for (const d of leftovers) {
            try {
                await writer.delete(
                    d.kind,
                    name,
                    d.name,
                    d.live.metadata?.uid,
                    d.live.metadata?.resourceVersion,
                );
            } catch (err) {
                first ??= failure(`delete ${d.kind} ${d.name}`, err);
            }
        }
        if (ns.metadata?.labels?.[LABEL_PROFILE] !== undefined) {
            try {
                await writer.unlabelNamespace(name);
            } catch (err) {
                first ??= failure('remove namespace label', err);
            }
        }
        return first ? [first] : [];
    }

    async #govern(
        ns: V1Namespace,
        profile: IsolationProfile,
        written: { created: number; updated: number; deleted: number; labelled: number },
    ): Promise<{ outcome: NamespaceOutcome; failures: Failure[] }> {
        const { view, writer, events, settings } = this.#d;
        const name = ns.metadata!.name!;
        const spec = profile.spec;
        const desired = plan({
            namespace: { name, labels: ns.metadata?.labels ?? {} },
            profile,
            serviceAccounts: view.serviceAccounts(name).map((sa) => ({
                name: sa.metadata?.name ?? '',
                labels: sa.metadata?.labels ?? {},
            })),
            settings,
        });
        const actions = planActions<GeneratedLive>(desired, {
            networkPolicies: view.networkPolicies(name),
            roleBindings: view.roleBindings(name),
        });
        const base = {
            namespace: name,
            profile: profile.metadata.name,
            generation: profile.metadata.generation ?? 0,
            networkPolicies: desired.filter((o) => o.kind === 'NetworkPolicy').length,
            roleBindings: desired.filter((o) => o.kind === 'RoleBinding').length,
        };

        if (modeOf(spec) === 'DryRun') {
            return { outcome: { ...base, state: 'DryRun', plan: toPlannedActions(actions) }, failures: [] };
        }
        if (isSuspended(spec)) return { outcome: { ...base, state: 'Suspended' }, failures: [] };

        const failures: Failure[] = [];
        const drift: string[] = [];
        const attempt = async (what: string, fn: () => Promise<void>) => {
            try {
                await fn();
            } catch (err) {
                failures.push(failure(what, err));
            }
        };

        // The label first: `profile` peers elsewhere select it.
        if (ns.metadata?.labels?.[LABEL_PROFILE] !== profile.metadata.name) {
            await attempt('label namespace', async () => {
                await writer.labelNamespace(name, profile.metadata.name);
                written.labelled++;
            });
        }
        const write = async (obj: DesiredObject, send: () => Promise<void>) => {
            try {
                await send();
                this.#d.onApplyResult?.(obj.kind, 'applied');
            } catch (err) {
                this.#d.onApplyResult?.(obj.kind, 'error');
                throw explainRefusal(obj, err, this.#d.bindableRoles);
            }
        };
        const create = (obj: DesiredObject) => write(obj, () => writer.create(obj));
        // Never adopt: an object with a generated name that the cache does not show may be someone else's
        // (pre-created by a tenant, e.g. an allow-all "isolation-default-deny"). It is reported and the namespace is
        // not counted as enforced. Unmanaged objects are watched (names only), so the blocker's deletion wakes this
        // namespace again. One created after the cache looked fails the create (409), never taken over.
        const creates = [...actions.create];
        for (const kind of ['NetworkPolicy', 'RoleBinding'] as const) {
            const names = creates.filter((o) => o.kind === kind).map((o) => o.metadata.name);
            if (names.length === 0) continue;
            const foreign = view.foreignObjects(kind, name, names);
            for (const f of foreign) {
                const by = f.manager ? ` (last written by ${f.manager})` : '';
                const msg =
                    `${f.kind} ${f.name} already exists and was not created by isolation-operator${by}; ` +
                    'it is never adopted: delete or rename it';
                failures.push({ msg, terminal: true });
                events.record(profile, 'Warning', 'ForeignObject', `${name}: ${msg}`);
                const i = creates.findIndex((o) => o.kind === f.kind && o.metadata.name === f.name);
                if (i >= 0) creates.splice(i, 1);
            }
        }
        const changes = [...actions.update, ...actions.replace];
        const changing = new Set<DesiredObject>([...creates, ...changes.map((c) => c.desired)]);
        for (const obj of desired) if (!changing.has(obj)) this.#d.onApplyResult?.(obj.kind, 'unchanged');
        await inParallel(creates, WRITES_IN_FLIGHT_PER_NAMESPACE, (obj) =>
            attempt(`create ${obj.kind} ${obj.metadata.name}`, async () => {
                await create(obj);
                written.created++;
            }),
        );
        const replacing = new Set(actions.replace);
        await inParallel(changes, WRITES_IN_FLIGHT_PER_NAMESPACE, async (change) => {
            const { desired: obj, live: cur } = change;
            const manager = lastForeignManager(cur)?.manager;
            const label = `${obj.kind} ${obj.metadata.name}`;
            if (manager && driftPolicyOf(spec) === 'Report') {
                drift.push(`${label} (changed by ${manager})`);
                this.#d.onDriftDetected?.(obj.kind);
                events.record(
                    profile,
                    'Warning',
                    'DriftDetected',
                    `${label} in ${name} was changed by ${manager}; left as is (driftPolicy: Report)`,
                );
                return;
            }
            await attempt(`update ${label}`, async () => {
                // roleRef is immutable: a changed role means delete and create.
                if (replacing.has(change)) {
                    await writer.delete(
                        obj.kind,
                        name,
                        obj.metadata.name,
                        cur.metadata?.uid,
                        cur.metadata?.resourceVersion,
                    );
                    await create(obj);
                } else {
                    const { uid, resourceVersion } = cur.metadata ?? {};
                    await write(obj, () => writer.update(obj, { uid, resourceVersion }));
                }
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
        });
        await inParallel(actions.delete, WRITES_IN_FLIGHT_PER_NAMESPACE, (d) =>
            attempt(`delete ${d.kind} ${d.name}`, async () => {
                await writer.delete(
                    d.kind,
                    name,
                    d.name,
                    d.live.metadata?.uid,
                    d.live.metadata?.resourceVersion,
                );
                written.deleted++;
            }),
        );

        if (failures.length > 0) {
            const terminal = failures.every((e) => e.terminal);
            const message = failures.map((e) => e.msg).join('; ');
            events.record(profile, 'Warning', 'ApplyFailed', `${name}: ${message}`);
            return { outcome: { ...base, state: 'Failed', message, terminal, drift }, failures };
        }
        return { outcome: { ...base, state: 'Enforced', drift }, failures };
    }
}
