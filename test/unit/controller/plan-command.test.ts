import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

import { readProfiles, renderPlan } from '../../../src/controller/plan-command.ts';
import { DEFAULT_PLAN_SETTINGS } from '../../../src/plan/index.ts';
import type { PlanSettings } from '../../../src/plan/index.ts';

const run = promisify(execFile);
const REPO = join(import.meta.dirname, '..', '..', '..');
const NODE = join(REPO, 'node_modules', '.bin', 'node');
const settings = DEFAULT_PLAN_SETTINGS as PlanSettings;

function docs(yaml: string): { kind: string; metadata: { name: string; namespace: string } }[] {
    return parseAllDocuments(yaml)
        .map((d) => d.toJS() as { kind: string; metadata: { name: string; namespace: string } } | null)
        .filter((d) => d !== null);
}

describe('plan command (offline rendering for GitOps review)', () => {
    it('renders the objects of a profile for the namespaces it names', () => {
        const profiles = readProfiles([join(REPO, 'config', 'samples', 'shop-web.yaml')]);
        const out = renderPlan(
            profiles,
            {
                namespaces: [{ name: 'shop-web', labels: { 'isolation.dev/tenant': 'shop' } }],
                serviceAccounts: new Map(),
            },
            settings,
        );
        assert.match(out, /# namespace shop-web: governed by shop-web/);
        const names = docs(out).map((d) => `${d.kind}/${d.metadata.namespace}/${d.metadata.name}`);
        assert.ok(names.includes('NetworkPolicy/shop-web/isolation-default-deny'));
        assert.ok(names.includes('NetworkPolicy/shop-web/isolation-egress-to-api'));
        assert.ok(names.includes('RoleBinding/shop-web/isolation-access-developers'));
    });

    it('resolves conflicts and skips never-govern namespaces like the operator', () => {
        const dir = mkdtempSync(join(tmpdir(), 'plan-'));
        const file = join(dir, 'p.yaml');
        writeFileSync(
            file,
            ['low', 'high']
                .map(
                    (n, i) => `apiVersion: isolation.dev/v1alpha1
kind: IsolationProfile
metadata: {name: ${n}}
spec:
  priority: ${i * 10}
  namespaces: {names: [shared, kube-system]}
`,
                )
                .join('---\n'),
        );
        const out = renderPlan(
            readProfiles([file]),
            {
                namespaces: [
                    { name: 'shared', labels: {} },
                    { name: 'kube-system', labels: {} },
                ],
                serviceAccounts: new Map(),
            },
            settings,
        );
        assert.match(out, /# namespace shared: governed by high \(conflict: also selected by low\)/);
        assert.match(out, /# namespace kube-system: never governed/);
        assert.ok(
            docs(out)
                .filter((d) => d.kind !== 'Namespace')
                .every((d) => d.metadata.namespace === 'shared'),
        );
    });

    it('shows the namespace label the operator would write, and its removal', () => {
        const profiles = readProfiles([join(REPO, 'config', 'samples', 'shop-web.yaml')]);
        const out = renderPlan(
            profiles,
            {
                namespaces: [
                    { name: 'shop-web', labels: { 'isolation.dev/tenant': 'shop' } },
                    { name: 'old', labels: { 'isolation.dev/profile': 'gone' } },
                ],
                serviceAccounts: new Map(),
            },
            settings,
        );
        const ns = docs(out).find((d) => d.kind === 'Namespace') as unknown as {
            metadata: { name: string; labels: Record<string, string> };
        };
        assert.deepEqual(ns.metadata, { name: 'shop-web', labels: { 'isolation.dev/profile': 'shop-web' } });
        assert.match(
            out,
            /# namespace old: no longer governed; the operator would remove its label isolation.dev\/profile=gone/,
        );
        const labelled = renderPlan(
            profiles,
            {
                namespaces: [
                    {
                        name: 'shop-web',
                        labels: { 'isolation.dev/profile': 'shop-web', 'isolation.dev/tenant': 'shop' },
                    },
                ],
                serviceAccounts: new Map(),
            },
            settings,
        );
        assert.ok(!docs(labelled).some((d) => d.kind === 'Namespace'));
    });

    it('fails clearly when a file holds no IsolationProfile', () => {
        const dir = mkdtempSync(join(tmpdir(), 'plan-'));
        const file = join(dir, 'x.yaml');
        writeFileSync(file, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n');
        assert.throws(() => readProfiles([file]), /no IsolationProfile \(isolation.dev\/v1alpha1\) found/);
    });

    it('runs as `isolation-operator plan` on Node 24 with a namespaces file', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'plan-'));
        const nsFile = join(dir, 'ns.yaml');
        writeFileSync(
            nsFile,
            `apiVersion: v1
kind: Namespace
metadata: {name: payments-prod, labels: {isolation.dev/team: payments, isolation.dev/tenant: payments}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: auditor, namespace: payments-prod, labels: {isolation.dev/role: reader}}
`,
        );
        const { stdout } = await run(NODE, [
            join(REPO, 'src', 'main.ts'),
            'plan',
            '-f',
            join(REPO, 'config', 'samples', 'payments.yaml'),
            '--namespaces',
            nsFile,
        ]);
        const readers = docs(stdout).find((d) => d.metadata.name === 'isolation-sa-readers') as unknown as {
            subjects: { name: string }[];
        };
        assert.deepEqual(
            readers.subjects.map((s) => s.name),
            ['auditor'],
        );
        // The same planning settings as `run`: a customised never-govern list and DNS.
        const custom = await run(NODE, [
            join(REPO, 'src', 'main.ts'),
            'plan',
            '-f',
            join(REPO, 'config', 'samples', 'payments.yaml'),
            '--namespaces',
            nsFile,
            '--dns-ports',
            '53,5353',
            '--node-local-dns',
            '169.254.20.10',
        ]);
        const dns = docs(custom.stdout).find((d) => d.metadata.name === 'isolation-dns') as unknown as {
            spec: { egress: { to: unknown[]; ports: unknown[] }[] };
        };
        assert.deepEqual(dns.spec.egress[0]!.to[1], { ipBlock: { cidr: '169.254.20.10/32' } });
        assert.equal(dns.spec.egress[0]!.ports.length, 4);
        const never = await run(NODE, [
            join(REPO, 'src', 'main.ts'),
            'plan',
            '-f',
            join(REPO, 'config', 'samples', 'payments.yaml'),
            '--namespaces',
            nsFile,
            '--never-govern',
            'payments-prod',
        ]);
        assert.match(never.stdout, /# namespace payments-prod: never governed/);
        const v = await run(NODE, [join(REPO, 'src', 'main.ts'), 'version']);
        assert.match(v.stdout, /^\d+\.\d+\.\d+/);
    });
});
