/**
 * The controller description (src/controller/watches.ts) through the informer handlers it produces: which event
 * puts which key on which queue, and which events wake nothing.
 */
import assert from 'node:assert/strict';
import type { KubernetesObject } from '@kubernetes/client-node';

import { OutcomeStore } from '../../../src/controller/outcomes.ts';
import { handlersFor, operatorWatches } from '../../../src/controller/watches.ts';
import type { Enqueue } from '../../../src/controller/watches.ts';
import { MemoryCluster } from './memory-cluster.ts';

function setup() {
    const store = new MemoryCluster();
    store.addNamespace('team-a', { team: 'a' });
    store.addNamespace('team-b', { 'isolation.dev/profile': 'p' });
    store.addNamespace('other');
    const profile = store.addProfile('p', { namespaces: { names: ['team-a'] } });
    const echoes = new Set<KubernetesObject>();
    const deletes: string[] = [];
    const keys: string[] = [];
    let alignment = 0;
    let active = true;
    const watches = operatorWatches({
        view: store.view(),
        outcomes: new OutcomeStore(),
        isEcho: (_kind, obj) => echoes.has(obj),
        deleteSeen: (kind, obj) => deletes.push(`${kind}/${obj.metadata?.name}`),
    });
    const h = handlersFor(() => watches, {
        route: (e: Enqueue) => keys.push(`${e.queue}/${e.key}`),
        alignmentChanged: () => alignment++,
        active: () => active,
    });
    return {
        store,
        profile,
        echoes,
        keys,
        h,
        alignment: () => alignment,
        deactivate: () => (active = false),
    };
}

describe('controller description (watches)', () => {
    it('a profile event wakes the profile and every namespace it selects or labelled', () => {
        const s = setup();
        s.h.profile.onAdd!(s.profile);
        assert.deepEqual(s.keys, ['profile/p', 'namespace/team-a', 'namespace/team-b']);
    });

    it('a profile update that changes neither generation nor deletion wakes nothing and leaves alignment alone', () => {
        const s = setup();
        s.h.profile.onAdd!(s.profile);
        const before = s.alignment();
        s.keys.length = 0;
        s.h.profile.onUpdate!({ ...s.profile, status: { observedGeneration: 1 } });
        assert.deepEqual(s.keys, []);
        assert.equal(s.alignment(), before);
        s.h.profile.onUpdate!({ ...s.profile, metadata: { ...s.profile.metadata, generation: 2 } });
        assert.deepEqual(s.keys[0], 'profile/p', 'a spec change does');
        s.keys.length = 0;
        s.h.profile.onDelete!(s.profile);
        assert.equal(s.keys[0], 'profile/p', 'so does a deletion');
    });

    it("the echo of the operator's own write wakes nothing but still marks the alignment check stale", () => {
        const s = setup();
        const np = { metadata: { name: 'isolation-dns', namespace: 'team-a' } };
        s.echoes.add(np);
        s.h.networkPolicy.onUpdate!(np);
        assert.deepEqual(s.keys, []);
        assert.equal(s.alignment(), 1);
        s.h.networkPolicy.onDelete!(np);
        assert.deepEqual(s.keys, ['namespace/team-a'], 'a delete is never an echo');
        s.keys.length = 0;
        s.h.roleBinding.onAdd!({
            metadata: { name: 'x', namespace: 'team-b' },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
        });
        s.h.serviceAccount.onUpdate!({ metadata: { name: 'sa', namespace: 'other' } });
        s.h.namespace.onUpdate!({ metadata: { name: 'team-a' } });
        assert.deepEqual(s.keys, ['namespace/team-b', 'namespace/other', 'namespace/team-a']);
    });

    it('a ClusterRole appearing or going away wakes every profile; its updates wake nothing', () => {
        const s = setup();
        s.h.clusterRole.onAdd!({ metadata: { name: 'auditor' } });
        s.h.clusterRole.onUpdate!({ metadata: { name: 'auditor' } });
        s.h.clusterRole.onDelete!({ metadata: { name: 'auditor' } });
        assert.deepEqual(s.keys, ['profile/p', 'profile/p']);
        assert.equal(s.alignment(), 0);
    });

    it('an unmanaged object under a generated name wakes its namespace when it appears or goes; others wake nothing', () => {
        const s = setup();
        const blocker = { metadata: { name: 'isolation-default-deny', namespace: 'team-a' } };
        s.h.unmanagedNetworkPolicy.onAdd!(blocker);
        s.h.unmanagedNetworkPolicy.onUpdate!(blocker);
        s.h.unmanagedNetworkPolicy.onDelete!(blocker);
        s.h.unmanagedRoleBinding.onDelete!({
            metadata: { name: 'isolation-access-dev', namespace: 'team-b' },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
        });
        s.h.unmanagedNetworkPolicy.onDelete!({ metadata: { name: 'allow-web', namespace: 'team-a' } });
        s.h.unmanagedRoleBinding.onAdd!({
            metadata: { name: 'admins', namespace: 'team-b' },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
        });
        assert.deepEqual(s.keys, ['namespace/team-a', 'namespace/team-a', 'namespace/team-b']);
        assert.equal(s.alignment(), 0);
    });

    it('routes nothing until active, while the filters and the alignment mark still see every event', () => {
        const s = setup();
        s.deactivate();
        s.h.profile.onAdd!(s.profile);
        s.h.namespace.onAdd!({ metadata: { name: 'new' } });
        assert.deepEqual(s.keys, []);
        assert.equal(s.alignment(), 2);
    });
});
