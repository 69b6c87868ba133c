/**
 * Events about IsolationProfiles, through the runtime's aggregating recorder (events.k8s.io/v1): repeats of one
 * (profile, type, reason) become one Event with a growing series count, and a token bucket caps the write rate,
 * so a problem in 10,000 namespaces is a handful of Events, not 10,000. Details per namespace live in status.
 */
import { EventsV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';

import { API_VERSION, KIND } from '../api/types.ts';
import type { IsolationProfile } from '../api/types.ts';
import type { Logger } from '../observability/logger.ts';
import { errorFields } from '../observability/logger.ts';
import type { Clock } from '../runtime/clock.ts';
import { EventRecorder, KubeEventSink } from '../runtime/events.ts';
import type { ProfileEvents } from './ports.ts';

export const REPORTING_CONTROLLER = 'isolation.dev/isolation-operator';

export function profileEvents(
    kc: KubeConfig,
    log: Logger,
    clock: Clock,
    instance = process.env.POD_NAME ?? 'local',
): ProfileEvents & { flush(): Promise<void> } {
    const recorder = new EventRecorder({
        sink: new KubeEventSink(kc.makeApiClient(EventsV1Api)),
        reporting: { controller: REPORTING_CONTROLLER, instance },
        clock,
        onError: (err) => log.debug('event write failed', errorFields(err)),
    });
    return {
        record(profile: IsolationProfile, type, reason, message) {
            log.info(message, { profile: profile.metadata.name, event: reason, type });
            recorder.event({
                regarding: {
                    apiVersion: API_VERSION,
                    kind: KIND,
                    name: profile.metadata.name,
                    uid: profile.metadata.uid,
                },
                type,
                reason,
                note: message,
            });
        },
        flush: () => recorder.stop(),
    };
}
