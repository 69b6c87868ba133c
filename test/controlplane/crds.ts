/**
 * Installs the project's CRDs (every CRD file in `crds/`, or of another folder) into a control plane with the
 * cached kubectl and waits until each is Established, so tests and the controller manager's garbage collector see
 * the new types.
 *
 * The wait polls the condition itself, reading JSON: `kubectl wait --for=condition=Established` and a jsonpath
 * filter both fail at once, instead of waiting, when they read the CRD before it has any status condition.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';

const run = promisify(execFile);
export const CRD_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'crds');

export async function installCRDs(
    binDir: string,
    kubeconfig: string,
    timeoutMs = 60_000,
    dir = CRD_DIR,
): Promise<void> {
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    if (files.length === 0) return;
    const kubectl = join(binDir, 'kubectl');
    const args = files.flatMap((f) => ['-f', join(dir, f)]);
    await run(kubectl, ['--kubeconfig', kubeconfig, 'apply', '--server-side', '--force-conflicts', ...args]);
    const names = files.map(
        (f) => (parse(readFileSync(join(dir, f), 'utf8')) as { metadata: { name: string } }).metadata.name,
    );
    const deadline = Date.now() + timeoutMs;
    for (const name of names) {
        for (;;) {
            if (await established(kubectl, kubeconfig, name)) break;
            if (Date.now() > deadline)
                throw new Error(`CRD ${name} not Established after ${timeoutMs / 1000}s`);
            await new Promise((r) => setTimeout(r, 100));
        }
    }
}

/** Reads the CRD as JSON (kubectl's jsonpath filter fails while `status.conditions` is still null). */
async function established(kubectl: string, kubeconfig: string, name: string): Promise<boolean> {
    try {
        const { stdout } = await run(kubectl, ['--kubeconfig', kubeconfig, 'get', 'crd', name, '-o', 'json']);
        const crd = JSON.parse(stdout) as {
            status?: { conditions?: { type: string; status: string }[] | null };
        };
        return (crd.status?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True');
    } catch {
        return false;
    }
}
