/**
 * Leader election for the operator: the generic runtime elector on the `coordination.k8s.io` Lease named in the
 * settings. The Lease is released explicitly after the queues drained on shutdown (not on cancel), so a standby
 * takes over at once but never while this replica still writes.
 */
import { CoordinationV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';

import type { Logger } from '../observability/logger.ts';
import { errorFields } from '../observability/logger.ts';
import type { Clock } from '../runtime/clock.ts';
import { KubeLeaseStore, LeaderElector } from '../runtime/leader.ts';
import type { OperatorSettings } from './settings.ts';

export interface Leadership {
    start(): void;
    /** Stops campaigning and gives up the Lease if held. */
    release(): Promise<void>;
    isLeader(): boolean;
}

export function leaderElection(
    kc: KubeConfig,
    settings: OperatorSettings,
    log: Logger,
    clock: Clock,
    callbacks: { onStartedLeading: () => void; onStoppedLeading: () => void },
): Leadership {
    const store = new KubeLeaseStore(
        kc.makeApiClient(CoordinationV1Api),
        settings.leaseNamespace,
        settings.leaseName,
    );
    const elector = new LeaderElector({
        store,
        identity: settings.identity,
        leaseDurationMs: settings.leaseDurationMs,
        renewDeadlineMs: settings.renewDeadlineMs,
        retryPeriodMs: settings.retryPeriodMs,
        releaseOnCancel: false,
        clock,
        callbacks: {
            onStartedLeading: () => callbacks.onStartedLeading(),
            onStoppedLeading: () => callbacks.onStoppedLeading(),
            onNewLeader: (identity) => log.info('leader observed', { leader: identity }),
        },
        onError: (err) => log.warn('leader election error', errorFields(err)),
    });
    const abort = new AbortController();
    let running: Promise<void> | undefined;
    return {
        start() {
            log.info('campaigning for leadership', {
                lease: `${settings.leaseNamespace}/${settings.leaseName}`,
            });
            running = elector.run(abort.signal);
        },
        async release() {
            abort.abort();
            await running;
            if (await elector.release()) log.info('released the leader lease');
        },
        isLeader: () => elector.isLeader(),
    };
}
