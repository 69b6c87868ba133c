import assert from 'node:assert/strict';

import {
    errorCode,
    explainRefusal,
    foreignManager,
    isTerminal,
} from '../../../src/controller/namespace-reconciler.ts';
import type { DesiredObject } from '../../../src/plan/index.ts';

const rb = (role: string): DesiredObject => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'isolation-access-x', namespace: 'ns', labels: {} },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [],
});

describe('namespace reconciler helpers', () => {
    it('classifies API errors: 400/403/422 are terminal, conflicts and 5xx are retried', () => {
        assert.equal(isTerminal({ code: 403 }), true);
        assert.equal(isTerminal({ code: 422 }), true);
        assert.equal(isTerminal({ code: 409 }), false);
        assert.equal(isTerminal({ code: 500 }), false);
        assert.equal(isTerminal(new Error('ECONNRESET')), false);
        assert.equal(errorCode({ response: { statusCode: 404 } }), 404);
    });

    it('explains a refused binding of a role outside the bindable list, keeping the 403', () => {
        const err = {
            code: 403,
            body: JSON.stringify({ message: 'rolebindings "x" is forbidden: user cannot bind' }),
        };
        const explained = explainRefusal(rb('cluster-admin'), err, ['view', 'edit']);
        assert.match(
            (explained as Error).message,
            /forbidden.*ClusterRole "cluster-admin" is not among the roles the operator may bind: view, edit/,
        );
        assert.equal(errorCode(explained), 403);
        assert.equal(
            explainRefusal(rb('view'), err, ['view']),
            err,
            'a bindable role: the API server message stands',
        );
        const other = { code: 500 };
        assert.equal(explainRefusal(rb('cluster-admin'), other, ['view']), other, 'only 403s are explained');
    });

    it('names the most recent field manager other than the operator', () => {
        const meta = {
            managedFields: [
                { manager: 'kubectl-edit', time: '2026-01-02T00:00:00Z' },
                { manager: 'isolation-operator', time: '2026-01-03T00:00:00Z' },
                { manager: 'argocd-controller', time: '2026-01-04T00:00:00Z' },
                { manager: 'isolation-operator-namespace', time: '2026-01-05T00:00:00Z' },
            ],
        };
        assert.equal(foreignManager(meta as never), 'argocd-controller');
        assert.equal(foreignManager({ managedFields: [{ manager: 'isolation-operator' }] }), undefined);
    });
});
