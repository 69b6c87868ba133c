/**
 * Converge and latency phases, observed from outside the operator through watches. The watches run from before
 * the baselines on, so the API server and the machine carry the same watch load when the plain client is timed
 * as when the operator is; they are reset before the converge clock starts.
 *
 * Converge: the namespaces and ServiceAccounts exist and the operator is running and ready; the clock starts when
 * the bench creates the ONE profile and stops when the last expected object (every planned NetworkPolicy and
 * RoleBinding, plus the `isolation.dev/profile` namespace label) has been seen — the same set of writes the
 * baseline timed. Latency: namespaces are created at a fixed rate (a schedule, not back-to-back, so a slow
 * request does not slow the rate) and each one's creation request time is paired with the arrival of its
 * `isolation-default-deny` NetworkPolicy.
 */
import type { V1Namespace, V1NetworkPolicy, V1RoleBinding } from '@kubernetes/client-node';

import {
    GROUP,
    LABEL_MANAGED_BY,
    LABEL_PROFILE,
    MANAGED_BY_VALUE,
    PLURAL,
    VERSION,
} from '../src/api/types.ts';
import { NAME_DEFAULT_DENY } from '../src/plan/index.ts';
import { benchProfile, desiredFor, namespaceObject, objectKey, PROFILE_NAME } from './fixture.ts';
import { ArrivalTracker, nowMs, sleep } from './kube.ts';
import type { Clients } from './kube.ts';
import { maxOf, minOf } from './stats.ts';

const MANAGED = `${LABEL_MANAGED_BY}=${MANAGED_BY_VALUE}`;

export interface Trackers {
    networkPolicies: ArrivalTracker<V1NetworkPolicy>;
    roleBindings: ArrivalTracker<V1RoleBinding>;
    labelled: ArrivalTracker<V1Namespace>;
    all(): { start(): Promise<void>; stop(): Promise<void>; reset(): void }[];
}

/**
 * Starts the watches. `generated` selects the generated NetworkPolicies and RoleBindings (the operator's
 * managed-by label by default; a peer controller's own label in the side-by-side benchmark).
 */
export async function startTrackers(c: Clients, generated = MANAGED): Promise<Trackers> {
    const key = (kind: string) => (o: { metadata?: { namespace?: string; name?: string } }) =>
        objectKey(kind, o.metadata?.namespace ?? '', o.metadata?.name ?? '');
    const t: Trackers = {
        networkPolicies: new ArrivalTracker<V1NetworkPolicy>(
            c,
            '/apis/networking.k8s.io/v1/networkpolicies',
            (labelSelector) => c.net.listNetworkPolicyForAllNamespaces({ labelSelector }),
            generated,
            key('NetworkPolicy'),
        ),
        roleBindings: new ArrivalTracker<V1RoleBinding>(
            c,
            '/apis/rbac.authorization.k8s.io/v1/rolebindings',
            (labelSelector) => c.rbac.listRoleBindingForAllNamespaces({ labelSelector }),
            generated,
            key('RoleBinding'),
        ),
        // Any profile label, so the baseline's label writes load this watch as the operator's will; only the
        // bench profile's label counts as an arrival.
        labelled: new ArrivalTracker<V1Namespace>(
            c,
            '/api/v1/namespaces',
            (labelSelector) => c.core.listNamespace({ labelSelector }),
            LABEL_PROFILE,
            (o) => objectKey('Namespace', '', o.metadata?.name ?? ''),
            (o) => o.metadata?.labels?.[LABEL_PROFILE] === PROFILE_NAME,
        ),
        all: () => [t.networkPolicies, t.roleBindings, t.labelled],
    };
    await Promise.all(t.all().map((x) => x.start()));
    return t;
}

export interface ConvergeResult {
    seconds: number;
    expected: number;
    arrived: number;
    /** Seconds from profile creation to the first object seen. */
    firstObjectSeconds: number;
    startedAt: Date;
    finishedAt: Date;
}

/** One object the converge clock waits for: its key in one tracker's arrivals. */
export interface Expected {
    arrivals: Map<string, number>;
    key: string;
}

/** The expected key of a generated object in the right tracker. */
export function expectedObject(t: Trackers, kind: string, namespace: string, name: string): Expected {
    const tracker = kind === 'NetworkPolicy' ? t.networkPolicies : t.roleBindings;
    return { arrivals: tracker.arrivals, key: objectKey(kind, namespace, name) };
}

/**
 * Times `trigger` (the request(s) that make the controller act) → the last of `expected` seen by the watches.
 * Polls the (cheap, in-memory) completion check; arrival times come from the watches, not from this loop.
 */
export async function timeArrivals(
    expected: readonly Expected[],
    trigger: () => Promise<unknown>,
    timeoutMs: number,
): Promise<ConvergeResult> {
    let remaining = expected;
    const done = () => {
        remaining = remaining.filter((e) => !e.arrivals.has(e.key));
        return remaining.length === 0;
    };
    const startedAt = new Date();
    const t0 = nowMs();
    await trigger();
    const deadline = Date.now() + timeoutMs;
    while (!done() && Date.now() < deadline) await sleep(50);
    const times = expected.map((e) => e.arrivals.get(e.key)).filter((x): x is number => x !== undefined);
    const last = times.length ? maxOf(times) : nowMs();
    return {
        seconds: (last - t0) / 1000,
        expected: expected.length,
        arrived: times.length,
        firstObjectSeconds: (minOf(times) - t0) / 1000,
        startedAt,
        finishedAt: new Date(),
    };
}

export async function runConverge(
    c: Clients,
    t: Trackers,
    names: readonly string[],
    member: string,
    timeoutMs: number,
): Promise<ConvergeResult> {
    const profile = benchProfile(PROFILE_NAME, member);
    const expected: Expected[] = [];
    for (const ns of names) {
        for (const o of desiredFor(ns, member, profile))
            expected.push(expectedObject(t, o.kind, ns, o.metadata.name));
        expected.push({ arrivals: t.labelled.arrivals, key: objectKey('Namespace', '', ns) });
    }
    return timeArrivals(
        expected,
        () =>
            c.custom.createClusterCustomObject({
                group: GROUP,
                version: VERSION,
                plural: PLURAL,
                body: profile,
            }),
        timeoutMs,
    );
}

export interface LatencyResult {
    rate: number;
    created: number;
    /** Creation request sent → default-deny seen, ms, for the namespaces whose policy arrived. */
    latenciesMs: number[];
    missing: number;
    createErrors: number;
}

export async function runLatency(
    c: Clients,
    t: Trackers,
    names: readonly string[],
    opts: {
        run: string;
        member: string;
        rate: number;
        graceMs: number;
        maxInFlight?: number;
        /** Makes the new namespace governed (default: creates it with the member label). */
        create?: (ns: string) => Promise<unknown>;
    },
): Promise<LatencyResult> {
    const create =
        opts.create ??
        ((ns: string) => c.core.createNamespace({ body: namespaceObject(ns, opts.run, opts.member) }));
    const sent = new Map<string, number>();
    const maxInFlight = opts.maxInFlight ?? 64;
    let inFlight = 0;
    let createErrors = 0;
    const pending: Promise<void>[] = [];
    const start = nowMs();
    for (let i = 0; i < names.length; i++) {
        const due = start + (i * 1000) / opts.rate;
        const wait = due - nowMs();
        if (wait > 0) await sleep(wait);
        if (inFlight >= maxInFlight) {
            createErrors++; // the API server cannot keep up with the rate: count it rather than queue unboundedly
            continue;
        }
        const ns = names[i]!;
        inFlight++;
        sent.set(ns, nowMs());
        pending.push(
            create(ns)
                .then(
                    () => undefined,
                    () => {
                        createErrors++;
                        sent.delete(ns);
                    },
                )
                .finally(() => inFlight--),
        );
    }
    await Promise.all(pending);
    const denyKey = (ns: string) => objectKey('NetworkPolicy', ns, NAME_DEFAULT_DENY);
    await t.networkPolicies.waitUntil(
        () => [...sent.keys()].every((ns) => t.networkPolicies.arrivals.has(denyKey(ns))),
        opts.graceMs,
    );
    const latenciesMs: number[] = [];
    let missing = 0;
    for (const [ns, at] of sent) {
        const arrived = t.networkPolicies.arrivals.get(denyKey(ns));
        if (arrived === undefined) missing++;
        else latenciesMs.push(arrived - at);
    }
    return { rate: opts.rate, created: sent.size, latenciesMs, missing, createErrors };
}
