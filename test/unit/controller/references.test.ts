import assert from 'node:assert/strict';

import type { IsolationProfile, IsolationProfileSpec } from '../../../src/api/types.ts';
import { unresolvedReferences } from '../../../src/controller/profile-reconciler.ts';
import { fakeView } from './fake-view.ts';

const p = (name: string, spec: Partial<IsolationProfileSpec>): IsolationProfile => ({
    apiVersion: 'isolation.dev/v1alpha1',
    kind: 'IsolationProfile',
    metadata: { name },
    spec: { namespaces: { names: ['a'] }, ...spec },
});

const view = fakeView;

describe('unresolvedReferences', () => {
    const peer = (profile: string, tenant?: string) => ({
        network: {
            ingress: [{ name: 'r', from: [tenant === undefined ? { profile } : { profile, tenant }] }],
        },
    });

    it('reports a missing ClusterRole and a missing profile', () => {
        const me = p('me', {
            ...peer('ghost'),
            access: [
                {
                    name: 'a',
                    roleRef: { kind: 'ClusterRole', name: 'auditor' },
                    subjects: [{ kind: 'User', name: 'u' }],
                },
            ],
        });
        assert.deepEqual(unresolvedReferences(me, view([me])), [
            'ClusterRole "auditor" not found',
            'profile "ghost" not found',
        ]);
    });

    it('reports a profile peer whose target belongs to another tenant than the one meant', () => {
        const web = p('web', { tenant: 'evil' });
        const me = p('me', { tenant: 'shop', ...peer('web') });
        assert.deepEqual(unresolvedReferences(me, view([me, web])), [
            'profile "web" belongs to tenant "evil", not tenant "shop" (set the peer\'s tenant)',
        ]);
        const explicit = p('me', { tenant: 'shop', ...peer('web', 'evil') });
        assert.deepEqual(unresolvedReferences(explicit, view([explicit, web])), []);
    });

    it('accepts a cluster-wide target for any tenant, and reports a tenant target from a cluster-wide profile', () => {
        const base = p('baseline', {});
        const me = p('me', { tenant: 'shop', ...peer('baseline') });
        assert.deepEqual(unresolvedReferences(me, view([me, base])), []);
        const web = p('web', { tenant: 'shop' });
        const platform = p('platform', peer('web'));
        assert.match(
            unresolvedReferences(platform, view([platform, web]))[0] ?? '',
            /not namespaces without a tenant/,
        );
    });
});
