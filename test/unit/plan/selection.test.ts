import assert from 'node:assert/strict';
import {
    DEFAULT_PLAN_SETTINGS,
    isNeverGoverned,
    matchesSelector,
    namespaceLabels,
    neverGovernSet,
    normalizeSelector,
    selectionState,
    selects,
} from '../../../src/plan/index.ts';
import { profile } from './fixtures.ts';

describe('plan/selection', () => {
    describe('matchesSelector', () => {
        const labels = { team: 'payments', tier: 'prod' };

        it('matches everything with an empty selector', () => {
            assert.equal(matchesSelector({}, labels), true);
            assert.equal(matchesSelector({}, {}), true);
        });

        it('requires every matchLabels entry', () => {
            assert.equal(matchesSelector({ matchLabels: { team: 'payments' } }, labels), true);
            assert.equal(matchesSelector({ matchLabels: { team: 'payments', tier: 'dev' } }, labels), false);
            assert.equal(matchesSelector({ matchLabels: { missing: 'x' } }, labels), false);
        });

        it('implements In, NotIn, Exists and DoesNotExist', () => {
            const m = (
                operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist',
                key: string,
                values?: string[],
            ) => matchesSelector({ matchExpressions: [{ key, operator, values }] }, labels);
            assert.equal(m('In', 'tier', ['prod', 'staging']), true);
            assert.equal(m('In', 'tier', ['dev']), false);
            assert.equal(m('In', 'absent', ['x']), false);
            assert.equal(m('NotIn', 'tier', ['dev']), true);
            assert.equal(m('NotIn', 'tier', ['prod']), false);
            assert.equal(m('NotIn', 'absent', ['x']), true, 'NotIn matches objects lacking the key');
            assert.equal(m('Exists', 'team'), true);
            assert.equal(m('Exists', 'absent'), false);
            assert.equal(m('DoesNotExist', 'absent'), true);
            assert.equal(m('DoesNotExist', 'team'), false);
        });

        it('ANDs matchLabels and matchExpressions', () => {
            const sel = {
                matchLabels: { team: 'payments' },
                matchExpressions: [{ key: 'tier', operator: 'In' as const, values: ['dev'] }],
            };
            assert.equal(matchesSelector(sel, labels), false);
        });

        it('fails closed on malformed requirements', () => {
            assert.equal(
                matchesSelector({ matchExpressions: [{ key: 'tier', operator: 'In' }] }, labels),
                false,
            );
            const bogus = { matchExpressions: [{ key: 'tier', operator: 'Bogus' }] } as unknown as Parameters<
                typeof matchesSelector
            >[0];
            assert.equal(matchesSelector(bogus, labels), false);
        });
    });

    it('injects kubernetes.io/metadata.name as the API server does, overriding a forged value', () => {
        assert.deepEqual(
            namespaceLabels({ name: 'a', labels: { 'kubernetes.io/metadata.name': 'b', x: 'y' } }),
            {
                'kubernetes.io/metadata.name': 'a',
                x: 'y',
            },
        );
        assert.deepEqual(namespaceLabels({ name: 'a' }), { 'kubernetes.io/metadata.name': 'a' });
    });

    it('normalizes selectors to the server shape (empty parts dropped)', () => {
        assert.deepEqual(normalizeSelector(undefined), {});
        assert.deepEqual(normalizeSelector({ matchLabels: {}, matchExpressions: [] }), {});
        assert.deepEqual(
            normalizeSelector({ matchExpressions: [{ key: 'k', operator: 'Exists', values: [] }] }),
            {
                matchExpressions: [{ key: 'k', operator: 'Exists' }],
            },
        );
    });

    describe('selects', () => {
        it('selects by name', () => {
            const p = profile('p', { namespaces: { names: ['a', 'b'] } });
            assert.equal(selects(p, { name: 'a' }), true);
            assert.equal(selects(p, { name: 'c' }), false);
        });

        it('selects by label selector', () => {
            const p = profile('p', { namespaces: { selector: { matchLabels: { team: 'x' } } } });
            assert.equal(selects(p, { name: 'a', labels: { team: 'x' } }), true);
            assert.equal(selects(p, { name: 'b', labels: { team: 'y' } }), false);
            assert.equal(selects(p, { name: 'c' }), false);
        });

        it('ORs names and selector', () => {
            const p = profile('p', {
                namespaces: { names: ['named'], selector: { matchLabels: { team: 'x' } } },
            });
            assert.equal(selects(p, { name: 'named' }), true);
            assert.equal(selects(p, { name: 'labelled', labels: { team: 'x' } }), true);
            assert.equal(selects(p, { name: 'other' }), false);
        });

        it('lets exclude win over names and selector', () => {
            const p = profile('p', {
                namespaces: { names: ['a'], selector: { matchLabels: { team: 'x' } }, exclude: ['a', 'b'] },
            });
            assert.equal(selects(p, { name: 'a', labels: { team: 'x' } }), false);
            assert.equal(selects(p, { name: 'b', labels: { team: 'x' } }), false);
            assert.equal(selects(p, { name: 'c', labels: { team: 'x' } }), true);
        });

        it('matches the injected name label in a selector', () => {
            const p = profile('p', {
                namespaces: {
                    selector: {
                        matchExpressions: [
                            { key: 'kubernetes.io/metadata.name', operator: 'In', values: ['a'] },
                        ],
                    },
                },
            });
            assert.equal(selects(p, { name: 'a' }), true);
            assert.equal(selects(p, { name: 'b' }), false);
        });

        it('treats an empty selector as all namespaces and an absent one as none', () => {
            assert.equal(selects(profile('p', { namespaces: { selector: {} } }), { name: 'any' }), true);
            assert.equal(selects(profile('p', { namespaces: {} }), { name: 'any' }), false);
        });
    });

    describe('never-govern set', () => {
        it('defaults to the system namespaces plus the operator namespace', () => {
            const set = neverGovernSet(DEFAULT_PLAN_SETTINGS);
            assert.deepEqual([...set].sort(), [
                'isolation-system',
                'kube-node-lease',
                'kube-public',
                'kube-system',
            ]);
        });

        it('always includes a custom operator namespace', () => {
            const settings = { neverGovern: ['kube-system'], operatorNamespace: 'ops' };
            assert.equal(isNeverGoverned('ops', settings), true);
            assert.equal(isNeverGoverned('kube-public', settings), false);
        });

        it('reports a selected never-govern namespace as skipped, not selected', () => {
            const p = profile('p', { namespaces: { names: ['kube-system', 'apps'] } });
            const never = neverGovernSet(DEFAULT_PLAN_SETTINGS);
            assert.equal(selectionState(p, { name: 'kube-system' }, never), 'skipped');
            assert.equal(selectionState(p, { name: 'apps' }, never), 'selected');
            assert.equal(selectionState(p, { name: 'other' }, never), 'none');
        });
    });
});
