/**
 * Runs the operator image with podman the way the Deployment in config/manager/manager.yaml runs it in a cluster:
 * the Deployment is the single source of the flags, environment, user, security context and mounts, translated
 * here into `podman run` options, and any setting this translation does not understand is an error (so the
 * Deployment cannot gain something the image test silently ignores).
 *
 * Resource limits become podman's --memory and --cpus (cgroup limits, as the kubelet sets them).
 * What the kubelet adds is added the same way: the ServiceAccount token, CA and namespace mounted read-only at
 * /var/run/secrets/kubernetes.io/serviceaccount, and KUBERNETES_SERVICE_HOST/PORT pointing at the API server.
 * The one deliberate difference: the container shares the host network (no pod network here), so each port the
 * Deployment declares is mapped to a free host port, in the flags and for the probes alike.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { V1Container, V1Deployment, V1PodSpec } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

import { REPO } from './operator.ts';

const execFileP = promisify(execFile);

export const MANAGER_YAML = join(REPO, 'config', 'manager', 'manager.yaml');
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The podman of this machine kind: crun fails on cgroups here, and runc needs explicit ulimits. */
export const PODMAN = process.env.PODMAN ?? 'podman';
export const PODMAN_GLOBAL = (process.env.PODMAN_FLAGS ?? '--runtime runc --cgroup-manager cgroupfs')
    .split(/\s+/)
    .filter(Boolean);
export const PODMAN_RUN = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];

export async function podman(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
        const { stdout, stderr } = await execFileP(PODMAN, [...PODMAN_GLOBAL, ...args], {
            maxBuffer: 64 * 1024 * 1024,
        });
        return { code: 0, stdout, stderr };
    } catch (err) {
        const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
        return {
            code: typeof e.code === 'number' ? e.code : 127,
            stdout: e.stdout ?? '',
            stderr: e.stderr ?? e.message,
        };
    }
}

/** The operator Deployment of config/manager. */
export function managerDeployment(path = MANAGER_YAML): V1Deployment {
    for (const doc of parseAllDocuments(readFileSync(path, 'utf8'))) {
        const obj = doc.toJS() as V1Deployment | null;
        if (obj?.kind === 'Deployment') return obj;
    }
    throw new Error(`no Deployment in ${path}`);
}

export function managerContainer(dep: V1Deployment): { pod: V1PodSpec; container: V1Container } {
    const pod = dep.spec?.template.spec;
    const container = pod?.containers.find((c) => c.name === 'manager') ?? pod?.containers[0];
    if (!pod || !container) throw new Error('the Deployment has no container');
    return { pod, container };
}

export interface RunAsPod {
    image: string;
    name: string;
    /** Host folder holding token, ca.crt and namespace (readable by the container user). */
    serviceAccountDir: string;
    apiServerHost: string;
    apiServerPort: number;
    podName: string;
    podNamespace: string;
    /** containerPort -> host port (the container shares the host network). */
    ports: Map<number, number>;
}

const SIZE_UNITS: Record<string, number> = { Ki: 1 / 1024, Mi: 1, Gi: 1024 };

export function mebibytes(q: string): number {
    const m = /^(\d+)(Ki|Mi|Gi)$/.exec(q);
    if (!m?.[1] || !m[2]) throw new Error(`unsupported quantity ${q}`);
    return Math.ceil(Number(m[1]) * (SIZE_UNITS[m[2]] ?? 1));
}

function cpus(q: string): number {
    const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(q);
    if (!m?.[1]) throw new Error(`unsupported CPU quantity ${q}`);
    return m[2] === 'm' ? Number(m[1]) / 1000 : Number(m[1]);
}

/** Rewrites `--x-bind-address=[host]:port` flags through the port map. */
function mapArg(arg: string, ports: Map<number, number>): string {
    const m = /^(--[a-z-]+=)(.*):(\d+)$/.exec(arg);
    if (!m?.[1] || m[2] === undefined || !m[3]) return arg;
    const mapped = ports.get(Number(m[3]));
    return mapped === undefined ? arg : `${m[1]}${m[2]}:${mapped}`;
}

/** The `podman run` arguments (after `run`) that run the Deployment's manager container as the kubelet would. */
export function podmanRunArgs(dep: V1Deployment, o: RunAsPod): string[] {
    const { pod, container } = managerContainer(dep);
    const args = ['--name', o.name, '--network', 'host', ...PODMAN_RUN];

    const psc = pod.securityContext ?? {};
    const csc = container.securityContext ?? {};
    const uid = csc.runAsUser ?? psc.runAsUser;
    const gid = csc.runAsGroup ?? psc.runAsGroup;
    if (uid === undefined) throw new Error('the Deployment sets no runAsUser');
    if ((csc.runAsNonRoot ?? psc.runAsNonRoot) && uid === 0) throw new Error('runAsNonRoot with UID 0');
    args.push('--user', gid === undefined ? `${uid}` : `${uid}:${gid}`);
    if (psc.fsGroup !== undefined) args.push('--group-add', `${psc.fsGroup}`);
    const seccomp = csc.seccompProfile?.type ?? psc.seccompProfile?.type;
    if (seccomp && seccomp !== 'RuntimeDefault') throw new Error(`seccomp profile ${seccomp} not supported`);
    // Only the declared volumes are writable: no tmpfs podman would add on its own.
    if (csc.readOnlyRootFilesystem) args.push('--read-only', '--read-only-tmpfs=false');
    if (csc.allowPrivilegeEscalation === false) args.push('--security-opt', 'no-new-privileges');
    for (const cap of csc.capabilities?.drop ?? []) args.push(`--cap-drop=${cap}`);
    for (const cap of csc.capabilities?.add ?? []) args.push(`--cap-add=${cap}`);
    if (csc.privileged) throw new Error('privileged containers are not supported');

    const limits = container.resources?.limits ?? {};
    if (limits.memory !== undefined) args.push('--memory', `${mebibytes(String(limits.memory))}m`);
    if (limits.cpu !== undefined) args.push('--cpus', `${cpus(String(limits.cpu))}`);

    for (const mount of container.volumeMounts ?? []) {
        const vol = pod.volumes?.find((v) => v.name === mount.name);
        if (!vol?.emptyDir) throw new Error(`volume ${mount.name}: only emptyDir volumes are translated`);
        const size = vol.emptyDir.sizeLimit ? `,size=${mebibytes(String(vol.emptyDir.sizeLimit))}m` : '';
        // An emptyDir is writable by the pod's user (fsGroup); a world-writable sticky tmpfs is the nearest.
        args.push('--tmpfs', `${mount.mountPath}:rw,mode=1777${size}`);
    }
    if (pod.automountServiceAccountToken !== false) {
        args.push('--volume', `${o.serviceAccountDir}:${SERVICE_ACCOUNT_DIR}:ro`);
    }

    const env: [string, string][] = [
        ['KUBERNETES_SERVICE_HOST', o.apiServerHost],
        ['KUBERNETES_SERVICE_PORT', String(o.apiServerPort)],
    ];
    for (const e of container.env ?? []) {
        if (e.value !== undefined) env.push([e.name, e.value]);
        else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env.push([e.name, o.podName]);
        else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace')
            env.push([e.name, o.podNamespace]);
        else
            throw new Error(
                `env ${e.name}: only values and metadata.name/namespace field refs are translated`,
            );
    }
    for (const [k, v] of env) args.push('--env', `${k}=${v}`);
    if (container.envFrom?.length) throw new Error('envFrom is not translated');

    if (container.command?.length) args.push('--entrypoint', JSON.stringify(container.command));
    args.push(o.image, ...(container.args ?? []).map((a) => mapArg(a, o.ports)));
    return args;
}

/** containerPort of a named (or numbered) port of the manager container. */
export function containerPort(container: V1Container, port: number | string): number {
    if (typeof port === 'number') return port;
    const p = container.ports?.find((x) => x.name === port);
    if (!p) throw new Error(`no container port named ${port}`);
    return p.containerPort;
}
