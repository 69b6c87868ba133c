/**
 * Installs the project's CRDs (everything in `crds/`) into a control plane with the cached kubectl and waits
 * until each is Established, so tests and the controller manager's garbage collector see the new types.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const CRD_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'crds');

export async function installCRDs(binDir: string, kubeconfig: string): Promise<void> {
    const files = readdirSync(CRD_DIR)
        .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
        .flatMap((f) => ['-f', join(CRD_DIR, f)]);
    if (files.length === 0) return;
    const kubectl = join(binDir, 'kubectl');
    await run(kubectl, ['--kubeconfig', kubeconfig, 'apply', '--server-side', '--force-conflicts', ...files]);
    await run(kubectl, [
        '--kubeconfig',
        kubeconfig,
        'wait',
        '--for=condition=Established',
        '--timeout=60s',
        ...files,
    ]);
}
