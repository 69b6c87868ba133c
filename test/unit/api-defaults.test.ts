/**
 * withDefaults: every DESIGN default is applied on a copy, explicit values win, absent selectors keep their
 * meaning, and the input is never mutated or shared with the result.
 */
import assert from 'node:assert/strict';

import {
    DEFAULT_ALLOW_DNS,
    DEFAULT_ALLOW_SAME_NAMESPACE,
    DEFAULT_DELETION_POLICY,
    DEFAULT_DENY_EGRESS,
    DEFAULT_DENY_INGRESS,
    DEFAULT_DRIFT_POLICY,
    DEFAULT_MODE,
    DEFAULT_PRIORITY,
    DEFAULT_PROTOCOL,
    DEFAULT_SUSPEND,
    withDefaults,
    type ResolvedSpec,
} from '../../src/api/defaults.ts';
import type { IsolationProfileSpec } from '../../src/api/types.ts';
import { DEFAULT_PROTOCOL as PLANNER_DEFAULT_PROTOCOL, effectiveNetwork } from '../../src/plan/effective.ts';
import { kitchenSinkProfile, minimalProfile } from './fixtures/profiles.ts';

function deepFreeze<T>(v: T): T {
    if (typeof v === 'object' && v !== null) {
        for (const child of Object.values(v)) deepFreeze(child);
        Object.freeze(v);
    }
    return v;
}

describe('api/defaults', () => {
    it('has the defaults the design names', () => {
        assert.equal(DEFAULT_PRIORITY, 0);
        assert.equal(DEFAULT_MODE, 'Enforce');
        assert.equal(DEFAULT_SUSPEND, false);
        assert.equal(DEFAULT_DELETION_POLICY, 'Delete');
        assert.equal(DEFAULT_DRIFT_POLICY, 'Correct');
        assert.equal(DEFAULT_DENY_INGRESS, true);
        assert.equal(DEFAULT_DENY_EGRESS, true);
        assert.equal(DEFAULT_ALLOW_SAME_NAMESPACE, true);
        assert.equal(DEFAULT_ALLOW_DNS, true);
        assert.equal(DEFAULT_PROTOCOL, 'TCP');
    });

    it('resolves a minimal spec completely', () => {
        const expected: ResolvedSpec = {
            namespaces: { names: ['team-a'], exclude: [] },
            priority: 0,
            mode: 'Enforce',
            suspend: false,
            deletionPolicy: 'Delete',
            driftPolicy: 'Correct',
            network: {
                defaultDeny: { ingress: true, egress: true },
                allowSameNamespace: true,
                allowDNS: true,
                ingress: [],
                egress: [],
            },
            access: [],
            serviceAccounts: [],
        };
        assert.deepEqual(withDefaults(minimalProfile.spec), expected);
    });

    it('keeps every explicit value, including false and non-default enums', () => {
        const r = withDefaults(kitchenSinkProfile.spec);
        assert.equal(r.priority, 5);
        assert.equal(r.deletionPolicy, 'Orphan');
        assert.equal(r.driftPolicy, 'Report');
        assert.deepEqual(r.network.defaultDeny, { ingress: true, egress: false });
        assert.equal(r.network.allowDNS, false);
        assert.equal(r.suspend, false);
        assert.equal(
            withDefaults({ namespaces: { names: ['a'] }, mode: 'DryRun', suspend: true }).mode,
            'DryRun',
        );
        assert.equal(withDefaults({ namespaces: { names: ['a'] }, suspend: true }).suspend, true);
        assert.equal(withDefaults({ namespaces: { names: ['a'] }, priority: -3 }).priority, -3);
    });

    it('defaults one direction of defaultDeny when only the other is set', () => {
        const r = withDefaults({ namespaces: { names: ['a'] }, network: { defaultDeny: { egress: false } } });
        assert.deepEqual(r.network.defaultDeny, { ingress: true, egress: false });
    });

    it('defaults the protocol of every port to TCP and keeps explicit protocols', () => {
        const spec: IsolationProfileSpec = {
            namespaces: { names: ['a'] },
            network: {
                ingress: [{ name: 'in', ports: [{ port: 80 }, { protocol: 'UDP', port: 53 }] }],
                egress: [{ name: 'out', ports: [{ port: 'https' }] }],
            },
            access: [
                {
                    name: 'ci',
                    roleRef: { kind: 'ClusterRole', name: 'edit' },
                    subjects: [{ kind: 'ServiceAccount', namespace: 'ci', name: 'deployer' }],
                    network: { ports: [{ port: 8080, endPort: 8081 }] },
                },
            ],
        };
        const r = withDefaults(spec);
        assert.deepEqual(r.network.ingress[0]!.ports, [
            { protocol: 'TCP', port: 80 },
            { protocol: 'UDP', port: 53 },
        ]);
        assert.deepEqual(r.network.egress[0]!.ports, [{ protocol: 'TCP', port: 'https' }]);
        assert.deepEqual(r.access[0]!.network, {
            pods: {},
            ports: [{ protocol: 'TCP', port: 8080, endPort: 8081 }],
        });
    });

    it('resolves absent rule pods to every pod but leaves absent peers and ports absent (all, in NetworkPolicy terms)', () => {
        const r = withDefaults({ namespaces: { names: ['a'] }, network: { ingress: [{ name: 'open' }] } });
        assert.deepEqual(r.network.ingress, [{ name: 'open', pods: {} }]);
        assert.equal('from' in r.network.ingress[0]!, false);
        assert.equal('ports' in r.network.ingress[0]!, false);
    });

    it('never turns an absent namespace selector into one that selects everything', () => {
        const r = withDefaults({ namespaces: { names: ['a'] } });
        assert.equal('selector' in r.namespaces, false);
        const s = withDefaults({ namespaces: { selector: { matchLabels: { team: 'x' } } } });
        assert.deepEqual(s.namespaces, { names: [], selector: { matchLabels: { team: 'x' } }, exclude: [] });
    });

    it('leaves access entries without network without an alignment policy', () => {
        const r = withDefaults(kitchenSinkProfile.spec);
        assert.equal(r.access[1]!.name, 'local-role');
        assert.equal('network' in r.access[1]!, false);
    });

    it('does not mutate a deeply frozen input', () => {
        const input = deepFreeze(structuredClone(kitchenSinkProfile.spec));
        const before = JSON.stringify(input);
        assert.doesNotThrow(() => withDefaults(input));
        assert.equal(JSON.stringify(input), before);
    });

    it('shares no object with its input, so changing the result cannot change the spec', () => {
        const input = structuredClone(kitchenSinkProfile.spec);
        const before = JSON.stringify(input);
        const r = withDefaults(input);
        r.namespaces.names.push('intruder');
        r.namespaces.selector!.matchLabels!['x'] = 'y';
        r.network.ingress[0]!.from!.push({ profile: 'intruder' });
        r.access[0]!.subjects.push({ kind: 'Group', name: 'intruder' });
        r.serviceAccounts[0]!.roleRef.name = 'admin';
        assert.equal(JSON.stringify(input), before);
    });

    it('is idempotent on its own output shape', () => {
        const once = withDefaults(kitchenSinkProfile.spec);
        assert.deepEqual(withDefaults(once), once);
    });

    it('agrees with the planner, which reads the same defaults independently (src/plan/effective.ts)', () => {
        const specs: IsolationProfileSpec[] = [
            minimalProfile.spec,
            kitchenSinkProfile.spec,
            { namespaces: { names: ['a'] }, network: { defaultDeny: { ingress: false } } },
            { namespaces: { names: ['a'] }, network: { allowSameNamespace: false, allowDNS: true } },
        ];
        for (const spec of specs) {
            const planner = effectiveNetwork(spec);
            const api = withDefaults(spec).network;
            assert.deepEqual(
                [planner.denyIngress, planner.denyEgress, planner.allowSameNamespace, planner.allowDNS],
                [api.defaultDeny.ingress, api.defaultDeny.egress, api.allowSameNamespace, api.allowDNS],
            );
            assert.deepEqual(
                planner.ingress.map((r) => r.name),
                api.ingress.map((r) => r.name),
            );
        }
        assert.equal(PLANNER_DEFAULT_PROTOCOL, DEFAULT_PROTOCOL);
    });
});
