import assert from 'node:assert/strict';

import { labelsByNamespace, podsIn, policiesIn } from '../../../src/netpol/by-namespace.ts';
import type { NetworkPolicyInput, Workload } from '../../../src/netpol/index.ts';

const np = (namespace: string | undefined, name: string): NetworkPolicyInput => ({
    metadata: { ...(namespace !== undefined ? { namespace } : {}), name },
    spec: {},
});

describe('netpol/by-namespace', () => {
    it('groups policies by namespace in input order, an unset namespace as ""', () => {
        const policies = [np('a', 'p1'), np('b', 'p2'), np('a', 'p3'), np(undefined, 'p4')];
        assert.deepEqual(
            policiesIn(policies, 'a').map((p) => p.metadata.name),
            ['p1', 'p3'],
        );
        assert.deepEqual(
            policiesIn(policies, 'b').map((p) => p.metadata.name),
            ['p2'],
        );
        assert.deepEqual(
            policiesIn(policies, '').map((p) => p.metadata.name),
            ['p4'],
        );
        assert.deepEqual(policiesIn(policies, 'none'), []);
    });

    it('builds one index per input array and shares it between callers', () => {
        const policies = [np('a', 'p1'), np('a', 'p2')];
        const first = policiesIn(policies, 'a');
        assert.equal(policiesIn(policies, 'a'), first, 'the second question reads the same index');
        const other = [np('a', 'q1')];
        assert.deepEqual(
            policiesIn(other, 'a').map((p) => p.metadata.name),
            ['q1'],
            'another array gets its own index',
        );
        assert.equal(policiesIn(policies, 'a'), first);
    });

    it('groups pods by namespace', () => {
        const pods: Workload[] = [
            { namespace: 'a', name: 'x', labels: {} },
            { namespace: 'b', name: 'y', labels: {} },
            { namespace: 'a', name: 'z', labels: {} },
        ];
        assert.deepEqual(
            podsIn(pods, 'a').map((p) => p.name),
            ['x', 'z'],
        );
        assert.deepEqual(podsIn(pods, 'c'), []);
    });

    it('maps namespace names to their labels as given', () => {
        const labels = { team: 'x' };
        const namespaces = [{ name: 'a', labels }, { name: 'b' }];
        const index = labelsByNamespace(namespaces);
        assert.equal(index.get('a'), labels);
        assert.equal(index.has('b'), true);
        assert.equal(index.get('b'), undefined);
        assert.equal(index.has('c'), false);
        assert.equal(labelsByNamespace(namespaces), index, 'built once per array');
    });
});
