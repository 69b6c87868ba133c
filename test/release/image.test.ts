/**
 * The operator image in a pod-like container against the real local API server: podman runs the image built by
 * `make image` with exactly the Deployment's flags, environment, user and security context (translated from
 * config/manager/manager.yaml by test/support/podman.ts) — read-only root filesystem, every capability dropped,
 * UID 65532 — authenticated only by the ServiceAccount token, CA and namespace mounted where the kubelet mounts
 * them, finding the API server through KUBERNETES_SERVICE_HOST/PORT. It must elect itself leader, converge a
 * sample profile, serve /metrics (over HTTPS with delegated auth when the Deployment says so, scraped with the token
 * of a ServiceAccount bound to config/rbac's metrics-reader role) and /readyz, and exit 0 on SIGTERM, releasing its
 * Lease. The container shares the host network, so the Deployment's ports are mapped to free host ports.
 *
 * There is no skip: without podman or the image this suite fails (`make image` first; .ci/run does both).
 */
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { NetworkingV1Api } from '@kubernetes/client-node';

import type { IsolationProfile } from '../../src/api/types.ts';
import { testEnv, uniqueName } from '../integration/env.ts';
import { eventually } from '../support/eventually.ts';
import {
    freePort,
    installOperatorRbac,
    metricValue,
    OPERATOR_NAMESPACE,
    OPERATOR_SA,
    REPO,
} from '../support/operator.ts';
import {
    containerPort,
    managerContainer,
    managerDeployment,
    mebibytes,
    podman,
    podmanRunArgs,
    PODMAN,
    PODMAN_RUN,
} from '../support/podman.ts';

const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string };
export const IMAGE = process.env.IMG ?? `localhost/isolation-operator:${pkg.version}`;
const LEASE = 'isolation-operator';

describe(`operator image ${IMAGE} run as the Deployment runs it`, function () {
    this.timeout(240_000);
    const dep = managerDeployment();
    const { container } = managerContainer(dep);
    const name = uniqueName('isolation-operator-image');
    const podName = `${name}-pod`;
    const ports = new Map<number, number>();
    let probesPort = 0;
    let metricsPort = 0;
    let started = false;
    let token = '';
    let scraperToken = '';

    async function logs(): Promise<string> {
        const res = await podman(['logs', '--tail', '60', name]);
        return res.stdout + res.stderr;
    }

    /**
     * GET on the metrics port: plain HTTP, or HTTPS with a metrics-reader ServiceAccount's token as bearer when the
     * Deployment serves metrics over TLS (its certificate is self-signed by default, so it is not verified here).
     */
    async function scrape(port: number, path: string): Promise<string> {
        try {
            return await (await fetch(`http://127.0.0.1:${port}${path}`)).text();
        } catch {
            return new Promise((res, rej) => {
                const req = httpsRequest(
                    `https://127.0.0.1:${port}${path}`,
                    { rejectUnauthorized: false, headers: { authorization: `Bearer ${scraperToken}` } },
                    (r) => {
                        let body = '';
                        r.on('data', (d: Buffer) => (body += d.toString()));
                        r.on('end', () => res(body));
                    },
                );
                req.on('error', rej);
                req.end();
            });
        }
    }

    async function kubectl(args: string[], input?: string): Promise<string> {
        const res = await testEnv().kubectl(args, input === undefined ? {} : { input });
        if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${res.stderr}`);
        return res.stdout;
    }

    before(async function () {
        const version = await podman(['--version']);
        if (version.code !== 0)
            throw new Error(`podman is required (apt-get install podman runc): ${version.stderr}`);
        const exists = await podman(['image', 'exists', IMAGE]);
        if (exists.code !== 0) throw new Error(`image ${IMAGE} not found: run \`make image\` first`);

        const env = testEnv();
        await installOperatorRbac(env.controlPlane);
        // What the kubelet mounts: a bound token, the cluster CA, the namespace; readable by the container user.
        const sa = join(env.runDir, `${name}-serviceaccount`);
        await mkdir(sa, { recursive: true });
        token = (
            await kubectl(['create', 'token', OPERATOR_SA, '-n', OPERATOR_NAMESPACE, '--duration=3600s'])
        ).trim();
        await writeFile(join(sa, 'token'), token);
        // A scraper as Prometheus would be: a ServiceAccount bound to the metrics-reader ClusterRole of config/rbac.
        const scraper = `${name}-scraper`;
        await kubectl(['create', 'serviceaccount', scraper, '-n', OPERATOR_NAMESPACE]);
        await kubectl([
            'create', 'clusterrolebinding', scraper, '--clusterrole=isolation-operator-metrics-reader',
            `--serviceaccount=${OPERATOR_NAMESPACE}:${scraper}`,
        ]); // prettier-ignore
        scraperToken = (
            await kubectl(['create', 'token', scraper, '-n', OPERATOR_NAMESPACE, '--duration=3600s'])
        ).trim();
        await writeFile(join(sa, 'ca.crt'), await readFile(join(env.runDir, 'pki', 'ca.crt')));
        await writeFile(join(sa, 'namespace'), OPERATOR_NAMESPACE);
        for (const f of ['token', 'ca.crt', 'namespace']) await chmod(join(sa, f), 0o644);
        await chmod(sa, 0o755);

        for (const p of container.ports ?? []) ports.set(p.containerPort, await freePort());
        const readiness = container.readinessProbe?.httpGet;
        assert.ok(readiness, 'the Deployment has an HTTP readiness probe');
        probesPort = ports.get(containerPort(container, readiness.port)) ?? 0;
        const metrics = container.ports?.find((p) => /metrics|https/.test(p.name ?? ''));
        assert.ok(metrics, 'the Deployment declares a metrics port');
        metricsPort = ports.get(metrics.containerPort) ?? 0;

        const server = new URL(env.controlPlane.state.server);
        const args = podmanRunArgs(dep, {
            image: IMAGE,
            name,
            serviceAccountDir: sa,
            apiServerHost: server.hostname,
            apiServerPort: Number(server.port),
            podName,
            podNamespace: OPERATOR_NAMESPACE,
            ports,
        });
        const run = await podman(['run', '--detach', ...args]);
        if (run.code !== 0) throw new Error(`${PODMAN} run failed: ${run.stderr}`);
        started = true;
    });

    after(async function () {
        if (started) await podman(['rm', '--force', '--time', '5', name]);
    });

    it('runs as the non-root user, read-only root filesystem, no capabilities, the memory limit', async () => {
        const res = await podman([
            'inspect',
            name,
            '--format',
            '{{.Config.User}} {{.HostConfig.ReadonlyRootfs}} {{json .EffectiveCaps}} {{.HostConfig.Memory}}',
        ]);
        assert.equal(res.code, 0, res.stderr);
        const [user, readOnly, caps, memory] = res.stdout.trim().split(' ');
        assert.equal(user, '65532:65532');
        assert.equal(readOnly, 'true');
        assert.ok(caps === 'null' || caps === '[]', `effective capabilities: ${caps}`);
        const limit = String(container.resources?.limits?.memory ?? '');
        assert.equal(
            memory,
            String(mebibytes(limit) * 1024 * 1024),
            `the Deployment's memory limit ${limit}`,
        );
    });

    it('carries the OCI labels, an SBOM, and no shell', async () => {
        const inspect = await podman(['image', 'inspect', IMAGE, '--format', '{{json .Config.Labels}}']);
        const labels = JSON.parse(inspect.stdout) as Record<string, string>;
        assert.equal(labels['org.opencontainers.image.version'], pkg.version);
        assert.match(labels['org.opencontainers.image.revision'] ?? '', /^([0-9a-f]{40}|unknown)$/);
        assert.match(labels['org.opencontainers.image.source'] ?? '', /^https:\/\//);
        const sbomPath = labels['dev.isolation.sbom'] ?? '';
        const read = await podman([
            'run', '--rm', ...PODMAN_RUN, '--network', 'host', '--entrypoint', '/usr/local/bin/node', IMAGE,
            '-e', `process.stdout.write(require('fs').readFileSync(${JSON.stringify(sbomPath)}))`,
        ]); // prettier-ignore
        assert.equal(read.code, 0, read.stderr);
        const sbom = JSON.parse(read.stdout) as { bomFormat: string; components: { name: string }[] };
        assert.equal(sbom.bomFormat, 'CycloneDX');
        assert.ok(
            sbom.components.some((c) => c.name === 'client-node' || c.name === '@kubernetes/client-node'),
        );
        assert.ok(!sbom.components.some((c) => c.name === 'typescript'), 'dev dependencies are not shipped');
        const shell = await podman([
            'run',
            '--rm',
            ...PODMAN_RUN,
            '--entrypoint',
            '/bin/sh',
            IMAGE,
            '-c',
            'true',
        ]);
        assert.notEqual(shell.code, 0, 'the image has no /bin/sh');
    });

    it('becomes ready: /readyz answers 200 on the probe port', async () => {
        const path = container.readinessProbe?.httpGet?.path ?? '/readyz';
        await eventually(
            '/readyz 200',
            async () => {
                const state = await podman(['inspect', name, '--format', '{{.State.Status}}']);
                if (state.stdout.trim() === 'exited') throw new Error(`container exited:\n${await logs()}`);
                const res = await fetch(`http://127.0.0.1:${probesPort}${path}`);
                return res.status === 200;
            },
            90_000,
            250,
        ).catch(async (err: Error) => {
            throw new Error(`${err.message}\n${await logs()}`);
        });
    });

    it('elects itself leader through the Lease', async () => {
        const holder = await eventually(
            'Lease held by the pod',
            async () => {
                const h = await kubectl([
                    'get', 'lease', LEASE, '-n', OPERATOR_NAMESPACE, '-o', 'jsonpath={.spec.holderIdentity}',
                ]); // prettier-ignore
                return h === podName ? h : undefined;
            },
            60_000,
            250,
        );
        assert.equal(holder, podName);
    });

    it('converges a sample profile (config/samples/platform-baseline.yaml)', async () => {
        const ns = uniqueName('image-baseline');
        await kubectl([
            'apply',
            '--server-side',
            '-f',
            join(REPO, 'config', 'samples', 'platform-baseline.yaml'),
        ]);
        await kubectl(['create', 'namespace', ns]);
        await kubectl(['label', 'namespace', ns, 'isolation.dev/baseline=enabled']);
        const net = testEnv().kc().makeApiClient(NetworkingV1Api);
        await eventually(
            `default-deny in ${ns}`,
            async () =>
                (await net.readNamespacedNetworkPolicy({ namespace: ns, name: 'isolation-default-deny' })) !==
                undefined,
            60_000,
            250,
        );
        const profile = await eventually(
            'platform-baseline Ready at its generation, the namespace enforced',
            async () => {
                const p = JSON.parse(
                    await kubectl(['get', 'isolationprofile', 'platform-baseline', '-o', 'json']),
                ) as IsolationProfile;
                const ready = p.status?.conditions?.find((c) => c.type === 'Ready');
                return ready?.status === 'True' &&
                    p.status?.observedGeneration === p.metadata.generation &&
                    (p.status?.namespaces?.enforced ?? 0) >= 1
                    ? p
                    : undefined;
            },
            60_000,
            250,
        );
        assert.ok((profile.status?.namespaces?.enforced ?? 0) >= 1);
    });

    it('serves /metrics: the leader gauge and reconcile counters', async () => {
        const text = await scrape(metricsPort, '/metrics');
        assert.equal(metricValue(text, 'leader_election_master_status', { name: LEASE }), 1);
        assert.ok(metricValue(text, 'controller_runtime_reconcile_total', { result: 'success' }) > 0);
    });

    it('exits 0 on SIGTERM within the grace period and releases the Lease', async () => {
        const grace = dep.spec?.template.spec?.terminationGracePeriodSeconds ?? 30;
        const stop = await podman(['stop', '--time', String(grace), name]);
        assert.equal(stop.code, 0, stop.stderr);
        const state = await podman(['inspect', name, '--format', '{{.State.ExitCode}} {{.State.OOMKilled}}']);
        assert.equal(state.stdout.trim(), '0 false', await logs());
        const holder = await kubectl([
            'get', 'lease', LEASE, '-n', OPERATOR_NAMESPACE, '-o', 'jsonpath={.spec.holderIdentity}',
        ]); // prettier-ignore
        assert.equal(holder, '', 'a graceful stop hands the Lease over at once');
    });
});
