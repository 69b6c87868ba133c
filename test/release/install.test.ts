/**
 * The release bundle: `make dist` renders install.yaml (CRD, RBAC, Deployment, NetworkPolicy, admission policies)
 * with the image pinned by digest, and the one-line install from docs/operations.md —
 * `kubectl apply --server-side -f install.yaml` — installs it on the real local control plane, twice (an upgrade
 * re-applies the same file). The Deployment's pods do not run here (no kubelet); the image test covers that.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

import { testEnv } from '../integration/env.ts';
import { eventually } from '../support/eventually.ts';
import { REPO } from '../support/operator.ts';

const execFileP = promisify(execFile);
const IMAGE = 'registry.example.com/isolation-operator:v0.1.0';
const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;

interface Meta {
    kind: string;
    apiVersion: string;
    metadata: { name: string; namespace?: string };
}

describe('release bundle (make dist) installs with kubectl apply --server-side', function () {
    this.timeout(180_000);
    let file = '';
    let objects: Meta[] = [];

    async function kubectl(args: string[]): Promise<string> {
        const res = await testEnv().kubectl(args);
        if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${res.stderr}`);
        return res.stdout;
    }

    before(async () => {
        const dir = join(testEnv().runDir, 'dist');
        await execFileP('make', ['-s', 'dist', `IMG=${IMAGE}`, `IMG_DIGEST=${DIGEST}`, `DIST_DIR=${dir}`], {
            cwd: REPO,
        });
        file = join(dir, 'install.yaml');
        objects = parseAllDocuments(await readFile(file, 'utf8'))
            .map((d) => d.toJS() as Meta | null)
            .filter((o): o is Meta => o !== null);
    });

    it('holds the CRD, RBAC, the Deployment and the admission policies', () => {
        const kinds = new Set(objects.map((o) => o.kind));
        for (const k of [
            'CustomResourceDefinition',
            'Namespace',
            'ServiceAccount',
            'ClusterRole',
            'ClusterRoleBinding',
            'Role',
            'RoleBinding',
            'Deployment',
            'NetworkPolicy',
            'ValidatingAdmissionPolicy',
            'ValidatingAdmissionPolicyBinding',
            'MutatingAdmissionPolicy',
            'MutatingAdmissionPolicyBinding',
        ])
            assert.ok(kinds.has(k), `install.yaml lacks a ${k}`);
    });

    it('sets the operator image by tag and digest', () => {
        const dep = objects.find((o) => o.kind === 'Deployment') as unknown as {
            spec: { template: { spec: { containers: { image: string }[] } } };
        };
        assert.deepEqual(
            dep.spec.template.spec.containers.map((c) => c.image),
            [`${IMAGE}@${DIGEST}`],
        );
    });

    it('installs: every object exists afterwards, the CRD is Established, and a re-apply changes nothing', async () => {
        await kubectl(['apply', '--server-side', '-f', file]);
        await eventually(
            'CRD Established',
            async () =>
                (await kubectl([
                    'get', 'crd', 'isolationprofiles.isolation.dev', '-o',
                    'jsonpath={.status.conditions[?(@.type=="Established")].status}',
                ])) === 'True', // prettier-ignore
            30_000,
            200,
        );
        const names = (await kubectl(['get', '-f', file, '-o', 'name'])).trim().split('\n');
        assert.equal(names.length, objects.length);
        const image = await kubectl([
            'get', 'deployment', 'isolation-operator', '-n', 'isolation-system', '-o',
            'jsonpath={.spec.template.spec.containers[0].image}',
        ]); // prettier-ignore
        assert.equal(image, `${IMAGE}@${DIGEST}`);
        const again = await kubectl(['apply', '--server-side', '-f', file]);
        assert.match(again, /serverside-applied/);
    });
});
