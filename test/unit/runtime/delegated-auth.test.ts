import assert from 'node:assert/strict';
import type { V1SubjectAccessReview, V1TokenReview } from '@kubernetes/client-node';
import { FakeClock } from '../../support/fake-clock.ts';
import { DelegatedAuth, type ReviewApis } from '../../../src/runtime/delegated-auth.ts';

/** A fake API server: tokens map to users; `allowed` lists the users RBAC lets `get /metrics`. */
function fakeApis(users: Record<string, { username: string; groups?: string[] }>, allowed: string[]) {
    const calls = { tokenReviews: [] as V1TokenReview[], accessReviews: [] as V1SubjectAccessReview[] };
    const apis: ReviewApis = {
        createTokenReview: ({ body }) => {
            calls.tokenReviews.push(body);
            const user = users[body.spec.token ?? ''];
            return Promise.resolve({
                ...body,
                status: user
                    ? { authenticated: true, user }
                    : { authenticated: false, error: 'invalid bearer token' },
            });
        },
        createSubjectAccessReview: ({ body }) => {
            calls.accessReviews.push(body);
            return Promise.resolve({
                ...body,
                status: { allowed: allowed.includes(body.spec.user ?? '') },
            });
        },
    };
    return { apis, calls };
}

describe('runtime/delegated-auth', () => {
    const users = {
        'token-reader': {
            username: 'system:serviceaccount:monitoring:prometheus',
            groups: ['system:serviceaccounts'],
        },
        'token-other': { username: 'system:serviceaccount:default:other' },
    };

    it('answers 401 without a bearer token, without asking the API server', async () => {
        const { apis, calls } = fakeApis(users, []);
        const auth = new DelegatedAuth({ apis });
        assert.deepEqual(await auth.authorize(undefined), {
            allowed: false,
            status: 401,
            reason: 'no bearer token',
        });
        assert.equal((await auth.authorize('Basic dXNlcjpwdw==')).allowed, false);
        assert.equal(calls.tokenReviews.length, 0);
    });

    it('answers 401 for a token the API server does not authenticate', async () => {
        const { apis } = fakeApis(users, []);
        const d = await new DelegatedAuth({ apis }).authorize('Bearer forged');
        assert.deepEqual(d, { allowed: false, status: 401, reason: 'invalid bearer token' });
    });

    it('answers 403 for an authenticated user without get on /metrics, naming the user', async () => {
        const { apis, calls } = fakeApis(users, []);
        const d = await new DelegatedAuth({ apis }).authorize('Bearer token-other');
        assert.equal(d.allowed, false);
        assert.equal(!d.allowed && d.status, 403);
        assert.match(!d.allowed ? d.reason : '', /system:serviceaccount:default:other may not get \/metrics/);
        assert.deepEqual(calls.accessReviews[0]?.spec.nonResourceAttributes, {
            path: '/metrics',
            verb: 'get',
        });
    });

    it('allows a user RBAC lets get /metrics, passing its groups to the SubjectAccessReview', async () => {
        const { apis, calls } = fakeApis(users, ['system:serviceaccount:monitoring:prometheus']);
        const d = await new DelegatedAuth({ apis }).authorize('Bearer token-reader');
        assert.deepEqual(d, { allowed: true, user: 'system:serviceaccount:monitoring:prometheus' });
        assert.deepEqual(calls.accessReviews[0]?.spec.groups, ['system:serviceaccounts']);
    });

    it('caches a decision per token for the TTL, then asks again', async () => {
        const clock = new FakeClock();
        const { apis, calls } = fakeApis(users, ['system:serviceaccount:monitoring:prometheus']);
        const auth = new DelegatedAuth({ apis, clock, ttlMs: 10_000 });
        await auth.authorize('Bearer token-reader');
        await auth.authorize('Bearer token-reader');
        await auth.authorize('Bearer token-other');
        assert.equal(calls.tokenReviews.length, 2);
        clock.advance(10_000);
        await auth.authorize('Bearer token-reader');
        assert.equal(calls.tokenReviews.length, 3);
    });

    it('does not cache a failure to reach the API server', async () => {
        let fail = true;
        const { apis } = fakeApis(users, ['system:serviceaccount:monitoring:prometheus']);
        const auth = new DelegatedAuth({
            apis: {
                ...apis,
                createTokenReview: (p) =>
                    fail ? Promise.reject(new Error('ECONNREFUSED')) : apis.createTokenReview(p),
            },
        });
        await assert.rejects(auth.authorize('Bearer token-reader'), /ECONNREFUSED/);
        fail = false;
        assert.equal((await auth.authorize('Bearer token-reader')).allowed, true);
    });
});
