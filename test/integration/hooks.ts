/**
 * Mocha root hooks for the integration suite: start one real control plane before all tests (building the
 * binaries on first use), install the CRDs before the controller manager starts, and stop every process
 * afterwards. An interrupted run is cleaned up by the exit handlers and the watchdog in test/controlplane.
 */
import { startControlPlane } from '../controlplane/controlplane.ts';
import type { ControlPlane } from '../controlplane/controlplane.ts';
import { installCRDs } from '../controlplane/crds.ts';
import { setTestEnv } from './env.ts';

let cp: ControlPlane | undefined;

export const mochaHooks = {
    async beforeAll(this: Mocha.Context): Promise<void> {
        this.timeout(60 * 60 * 1000); // a cold build of the control plane takes many minutes
        const t0 = Date.now();
        cp = await startControlPlane({
            log: (m) => console.error(`  [controlplane] ${m}`),
            beforeControllerManager: (state) => installCRDs(state.binDir, state.kubeconfigPath),
        });
        console.error(`  [controlplane] ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
        setTestEnv(cp);
    },
    async afterAll(this: Mocha.Context): Promise<void> {
        this.timeout(120_000);
        await cp?.stop();
    },
};
