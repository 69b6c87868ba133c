/**
 * src/api/defaults.ts is the only place the API's defaults are written down: every DESIGN default is there, an
 * explicit value always wins, and the readers that resolve optional fields (planner, conflict resolution, status)
 * get their defaults from it.
 */
import assert from 'node:assert/strict';

import {
    DEFAULT_DELETION_POLICY,
    DEFAULT_DRIFT_POLICY,
    DEFAULT_MODE,
    DEFAULT_PRIORITY,
    DEFAULT_PROTOCOL,
    deletionPolicyOf,
    driftPolicyOf,
    effectiveNetwork,
    isSuspended,
    modeOf,
} from '../../src/api/defaults.ts';
import type { IsolationProfile, IsolationProfileSpec } from '../../src/api/types.ts';
import { computeStatus } from '../../src/controller/status.ts';
import { isEnforcing, plan, priorityOf } from '../../src/plan/index.ts';
import type { NetworkPolicyObject } from '../../src/plan/index.ts';
import { kitchenSinkProfile, minimalProfile } from './fixtures/profiles.ts';

const spec = (extra: Partial<IsolationProfileSpec> = {}): IsolationProfileSpec => ({
    namespaces: { names: ['a'] },
    ...extra,
});

describe('api/defaults', () => {
    it('has the defaults the design names', () => {
        assert.equal(DEFAULT_PRIORITY, 0);
        assert.equal(DEFAULT_MODE, 'Enforce');
        assert.equal(DEFAULT_DELETION_POLICY, 'Delete');
        assert.equal(DEFAULT_DRIFT_POLICY, 'Correct');
        assert.equal(DEFAULT_PROTOCOL, 'TCP');
    });

    it('resolves the scalar defaults of a minimal spec, and of no spec at all', () => {
        for (const s of [minimalProfile.spec, undefined]) {
            assert.equal(modeOf(s), 'Enforce');
            assert.equal(isSuspended(s), false);
            assert.equal(deletionPolicyOf(s), 'Delete');
            assert.equal(driftPolicyOf(s), 'Correct');
        }
    });

    it('keeps every explicit value, including non-default enums', () => {
        const k = kitchenSinkProfile.spec;
        assert.equal(deletionPolicyOf(k), 'Orphan');
        assert.equal(driftPolicyOf(k), 'Report');
        assert.equal(modeOf(spec({ mode: 'DryRun' })), 'DryRun');
        assert.equal(isSuspended(spec({ suspend: true })), true);
        assert.equal(isSuspended(spec({ suspend: false })), false);
    });

    it('resolves a spec without network to default-deny both ways with same-namespace and DNS allowed', () => {
        assert.deepEqual(effectiveNetwork(minimalProfile.spec), {
            denyIngress: true,
            denyEgress: true,
            allowSameNamespace: true,
            allowDNS: true,
            ingress: [],
            egress: [],
        });
    });

    it('keeps explicit network switches, and defaults one direction of defaultDeny when only the other is set', () => {
        const k = effectiveNetwork(kitchenSinkProfile.spec);
        assert.deepEqual([k.denyIngress, k.denyEgress, k.allowDNS], [true, false, false]);
        assert.equal(
            k.ingress,
            kitchenSinkProfile.spec.network?.ingress,
            'rules are passed through, not copied',
        );
        const e = effectiveNetwork(spec({ network: { defaultDeny: { egress: false } } }));
        assert.deepEqual([e.denyIngress, e.denyEgress], [true, false]);
    });

    it('the planner applies them: no network section plans default-deny, same-namespace and DNS policies', () => {
        const objects = plan({
            namespace: { name: 'a', labels: {} },
            profile: { metadata: { name: 'p', uid: 'u' }, spec: spec() },
            serviceAccounts: [],
        });
        const deny = objects.find(
            (o): o is NetworkPolicyObject =>
                o.kind === 'NetworkPolicy' && o.metadata.name === 'isolation-default-deny',
        );
        assert.deepEqual(deny?.spec.policyTypes, ['Ingress', 'Egress']);
        assert.ok(objects.some((o) => o.metadata.name === 'isolation-same-namespace'));
        assert.ok(objects.some((o) => o.metadata.name === 'isolation-dns'));
    });

    it('the planner defaults a port protocol to TCP and keeps an explicit one', () => {
        const objects = plan({
            namespace: { name: 'a', labels: {} },
            profile: {
                metadata: { name: 'p', uid: 'u' },
                spec: spec({
                    network: {
                        ingress: [{ name: 'in', ports: [{ port: 80 }, { protocol: 'UDP', port: 53 }] }],
                    },
                }),
            },
            serviceAccounts: [],
        });
        const rule = objects.find(
            (o): o is NetworkPolicyObject => o.kind === 'NetworkPolicy' && o.metadata.name.includes('in'),
        );
        assert.deepEqual(rule?.spec.ingress?.[0]?.ports, [
            { protocol: 'TCP', port: 80 },
            { protocol: 'UDP', port: 53 },
        ]);
    });

    it('conflict resolution reads the priority and mode defaults', () => {
        const p = (s: Partial<IsolationProfileSpec>) => ({ metadata: { name: 'x' }, spec: spec(s) });
        assert.equal(priorityOf(p({})), DEFAULT_PRIORITY);
        assert.equal(priorityOf(p({ priority: -3 })), -3);
        assert.equal(isEnforcing(p({})), true);
        assert.equal(isEnforcing(p({ mode: 'DryRun' })), false);
        assert.equal(isEnforcing(p({ suspend: true })), false);
    });

    it('the status reports the defaulted mode of a profile that does not set one', () => {
        const profile: IsolationProfile = { ...minimalProfile, metadata: { name: 'm', generation: 1 } };
        const r = computeStatus({
            profile,
            governed: [],
            conflicts: [],
            skipped: [],
            outcome: () => undefined,
            unresolved: [],
            now: '2026-01-01T00:00:00Z',
        });
        assert.equal(r.kind === 'ready' ? r.status.mode : undefined, 'Enforce');
    });
});
