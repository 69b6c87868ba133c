/**
 * The control plane goes away under a working operator: kube-apiserver stopped (SIGTERM) for a minute, kube-apiserver
 * frozen (SIGSTOP: connections stay open, nothing answers), etcd frozen (the API server answers, slowly or with
 * errors). Each time a profile edit was just applied, so work is pending when the fault starts; the SAME operator
 * process must converge once the control plane is back: no crash, no restart, nothing missing or leaked.
 */
import { testEnv } from '../integration/env.ts';
import { recordResult } from './results.ts';
import { faultWorld, type FaultWorld } from './world.ts';

const API_DOWN_MS = Number(process.env.FAULTS_API_DOWN_MS ?? 60_000);
const PAUSE_MS = Number(process.env.FAULTS_PAUSE_MS ?? 20_000);

/** Precondition converged, a profile edit applied, then `fault`; resolves with seconds to re-converge after it. */
async function editThenFault(w: FaultWorld, fault: () => Promise<void>): Promise<number> {
    await w.waitConverged('precondition', Date.now());
    const pid = w.operator.pid;
    await w.applyProfiles(w.profileRevision + 1);
    await fault();
    const back = Date.now();
    const s = await w.waitConverged('after the fault', back);
    await w.assertSameOperator(pid);
    return s;
}

describe('faults: control plane outages', function () {
    it(`kube-apiserver stopped (SIGTERM) for ${API_DOWN_MS / 1000} s: the same process converges once it is back`, async function () {
        const w = await faultWorld();
        const s = await editThenFault(w, () => testEnv().controlPlane.restartApiServer(API_DOWN_MS));
        recordResult({
            scenario: `kube-apiserver SIGTERM, down ${API_DOWN_MS / 1000} s`,
            reconvergeSeconds: s,
            from: 'the API server was ready again',
            namespaces: w.count,
        });
    });

    it(`kube-apiserver frozen (SIGSTOP) for ${PAUSE_MS / 1000} s: the same process converges after SIGCONT`, async function () {
        const w = await faultWorld();
        const s = await editThenFault(w, () => testEnv().controlPlane.pause('kube-apiserver', PAUSE_MS));
        recordResult({
            scenario: `kube-apiserver SIGSTOP ${PAUSE_MS / 1000} s`,
            reconvergeSeconds: s,
            from: 'SIGCONT',
            namespaces: w.count,
        });
    });

    it(`etcd frozen (SIGSTOP) for ${PAUSE_MS / 1000} s: the same process converges after SIGCONT`, async function () {
        const w = await faultWorld();
        const s = await editThenFault(w, () => testEnv().controlPlane.pause('etcd', PAUSE_MS));
        recordResult({
            scenario: `etcd SIGSTOP ${PAUSE_MS / 1000} s`,
            reconvergeSeconds: s,
            from: 'SIGCONT',
            namespaces: w.count,
        });
    });
});
