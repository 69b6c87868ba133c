/**
 * Mocha root hooks of the fault suite: the integration suite's control plane (started once, stopped at the end),
 * plus stopping the fault proxy this process runs before the control plane goes.
 */
import { mochaHooks as integrationHooks } from '../integration/hooks.ts';
import { stopFaultWorld } from './world.ts';

export const mochaHooks = {
    async beforeAll(this: Mocha.Context): Promise<void> {
        await integrationHooks.beforeAll.call(this);
    },
    async afterAll(this: Mocha.Context): Promise<void> {
        this.timeout(180_000);
        await stopFaultWorld();
        await integrationHooks.afterAll.call(this);
    },
};
