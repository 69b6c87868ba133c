import assert from 'node:assert/strict';
import { advisoriesOf, failing, lockfileProblems, validIgnores } from '../supply-chain/audit.ts';

const report = {
    auditReportVersion: 2,
    vulnerabilities: {
        'node-forge': {
            severity: 'high',
            via: [
                {
                    source: 1,
                    name: 'node-forge',
                    title: 'Signature forgery',
                    url: 'https://github.com/advisories/GHSA-aaaa-bbbb-cccc',
                    severity: 'high',
                },
            ],
        },
        wrapper: { severity: 'high', via: ['node-forge'] },
        'lodash.merge': {
            severity: 'moderate',
            via: [
                {
                    name: 'lodash.merge',
                    title: 'x',
                    url: 'https://github.com/advisories/GHSA-mmmm',
                    severity: 'moderate',
                },
            ],
        },
    },
};

describe('supply-chain gate', () => {
    it('reads advisories once each from an npm audit report, and nothing from an error answer', () => {
        const a = advisoriesOf(report) ?? [];
        assert.deepEqual(
            a.map((x) => `${x.package} ${x.severity}`),
            ['node-forge high', 'lodash.merge moderate'],
        );
        assert.equal(advisoriesOf({ message: '405 Method Not Allowed', statusCode: 405 }), undefined);
    });

    it('fails on high and critical advisories unless ignored with a written, unexpired reason', () => {
        const a = advisoriesOf(report) ?? [];
        assert.deepEqual(
            failing(a, []).map((x) => x.url),
            ['https://github.com/advisories/GHSA-aaaa-bbbb-cccc'],
        );
        const { valid, rejected } = validIgnores(
            [
                {
                    advisory: 'GHSA-aaaa-bbbb-cccc',
                    reason: 'only verify() is affected; we only sign',
                    expires: '2027-06-30',
                },
                { advisory: 'GHSA-dddd', reason: '' },
                { advisory: 'GHSA-eeee', reason: 'was fine until the fix shipped', expires: '2026-01-01' },
            ],
            '2026-12-04',
        );
        assert.deepEqual(rejected, ['GHSA-dddd: no written reason', 'GHSA-eeee: expired on 2026-01-01']);
        assert.deepEqual(failing(a, valid), []);
    });

    it('flags lockfile entries without sha512 integrity or resolved outside the registry', () => {
        const problems = lockfileProblems({
            lockfileVersion: 3,
            packages: {
                '': {},
                'node_modules/ok': { integrity: 'sha512-abc' },
                'node_modules/ok2': {
                    resolved: 'https://registry.npmjs.org/ok2/-/ok2-1.0.0.tgz',
                    integrity: 'sha512-x',
                },
                'node_modules/git': { resolved: 'git+ssh://git@example.com/x.git', integrity: 'sha512-y' },
                'node_modules/weak': { integrity: 'sha1-abc' },
                'node_modules/local': { link: true },
            },
        });
        assert.deepEqual(problems, [
            'node_modules/git: resolved from git+ssh://git@example.com/x.git',
            'node_modules/weak: no sha512 integrity',
        ]);
    });
});
