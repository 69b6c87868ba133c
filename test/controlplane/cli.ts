/**
 * Shell entry for the local control plane (used by the Makefile):
 *   build   build the binaries into the cache (no-op when present); prints the bin dir
 *   up      start a control plane that stays running in CONTROLPLANE_DIR (default ./.controlplane),
 *           install the CRDs, and print the `export KUBECONFIG=…` line
 *   down    stop the control plane recorded in CONTROLPLANE_DIR by pid and remove the directory
 *   env     print the export lines for a running control plane
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

import { ControlPlane, ensureBinaries, startControlPlane } from './controlplane.ts';
import { installCRDs } from './crds.ts';

const runDir = resolve(process.env.CONTROLPLANE_DIR ?? '.controlplane');
const log = (m: string) => process.stderr.write(`${m}\n`);

function printEnv(cp: ControlPlane): void {
    console.log(`export KUBECONFIG=${cp.kubeconfigPath}`);
    console.log(`export PATH=${cp.state.binDir}:$PATH`);
}

async function main(cmd: string | undefined): Promise<number> {
    switch (cmd) {
        case 'build':
            console.log(await ensureBinaries(log));
            return 0;
        case 'up': {
            const existing = await ControlPlane.attach(runDir);
            if (existing && (await existing.healthy())) {
                log(`control plane already running in ${runDir}`);
                printEnv(existing);
                return 0;
            }
            if (existing) await existing.stop();
            const cp = await startControlPlane({
                runDir,
                watchdog: false,
                log,
                beforeControllerManager: (state) => installCRDs(state.binDir, state.kubeconfigPath),
            });
            log(`kubectl: ${cp.kubectlPath}`);
            log('stop it with: make cluster-down');
            printEnv(cp);
            return 0;
        }
        case 'down': {
            const cp = await ControlPlane.attach(runDir);
            if (!cp) {
                log(existsSync(runDir) ? `no state in ${runDir}` : 'no control plane running');
                return 0;
            }
            await cp.stop();
            log('control plane stopped');
            return 0;
        }
        case 'env': {
            const cp = await ControlPlane.attach(runDir);
            if (!cp) {
                log('no control plane running: make cluster-up');
                return 1;
            }
            printEnv(cp);
            return 0;
        }
        default:
            log('usage: cli.ts build|up|down|env');
            return 2;
    }
}

process.exitCode = await main(process.argv[2]);
