#!/usr/bin/env node
/**
 * CLI entry: `run` (the operator), `plan` (render the objects a profile would generate, offline, as YAML for
 * review in a GitOps pull request), `explain` (who can reach what and who can act where, read-only) and `version`.
 * This module only parses flags and wires; the work lives in src/controller (run), src/plan (plan) and src/explain.
 * Flags can also come from ISOLATION_* environment variables.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { Command, Option } from 'commander';

import { DEFAULT_SETTINGS, parseBool, parseDuration, parseList } from './controller/settings.ts';
import type { OperatorSettings } from './controller/settings.ts';
import { runPlanCommand } from './controller/plan-command.ts';
import { planSettingsFromFlags, planSettingsOptions } from './cli/plan-flags.ts';
import { explainCommand } from './explain/cli.ts';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
};

function opt(flags: string, description: string, env: string, def?: string): Option {
    const o = new Option(flags, description).env(env);
    if (def !== undefined) o.default(def);
    return o;
}

const program = new Command()
    .name('isolation-operator')
    .description('Keeps RoleBindings and NetworkPolicies aligned from IsolationProfiles')
    .version(pkg.version, '--version');

program
    .command('version')
    .description('print the version')
    .action(() => console.log(pkg.version));

program
    .command('run')
    .description('run the operator against the cluster of the kubeconfig (or in-cluster config)')
    .addOption(
        opt(
            '--kubeconfig <path>',
            'kubeconfig path (default: in-cluster, then $KUBECONFIG)',
            'KUBECONFIG',
            '',
        ),
    )
    .addOption(
        opt(
            '--concurrency <n>',
            'parallel namespace reconciles',
            'ISOLATION_CONCURRENCY',
            String(DEFAULT_SETTINGS.concurrency),
        ),
    )
    .addOption(
        opt(
            '--resync-period <duration>',
            'periodic re-check of everything (±10% jitter)',
            'ISOLATION_RESYNC_PERIOD',
            '10m',
        ),
    )
    .addOption(
        opt(
            '--status-delay <duration>',
            'batching delay for profile status writes',
            'ISOLATION_STATUS_DELAY',
            '500ms',
        ),
    )
    .addOption(
        opt(
            '--dns-namespace <name>',
            'namespace of the cluster DNS pods',
            'ISOLATION_DNS_NAMESPACE',
            DEFAULT_SETTINGS.plan.dnsNamespace,
        ),
    )
    .addOption(
        opt(
            '--dns-pod-labels <k=v,...>',
            'labels of the cluster DNS pods',
            'ISOLATION_DNS_POD_LABELS',
            'k8s-app=kube-dns',
        ),
    )
    .addOption(
        opt('--dns-ports <port,...>', 'DNS ports, each allowed on UDP and TCP', 'ISOLATION_DNS_PORTS', '53'),
    )
    .addOption(
        opt(
            '--node-local-dns <address,...>',
            'node-local DNS cache addresses allowed as ipBlocks (e.g. 169.254.20.10)',
            'ISOLATION_NODE_LOCAL_DNS',
            '',
        ),
    )
    .addOption(
        opt(
            '--never-govern <ns,...>',
            'namespaces never governed',
            'ISOLATION_NEVER_GOVERN',
            DEFAULT_SETTINGS.plan.neverGovern.join(','),
        ),
    )
    .addOption(
        opt(
            '--operator-namespace <name>',
            "the operator's own namespace (never governed)",
            'POD_NAMESPACE',
            DEFAULT_SETTINGS.plan.operatorNamespace,
        ),
    )
    .addOption(
        opt(
            '--bindable-roles <role,...>',
            'ClusterRoles the RBAC lets the operator bind (informational)',
            'ISOLATION_BINDABLE_ROLES',
            DEFAULT_SETTINGS.bindableRoles.join(','),
        ),
    )
    .addOption(
        new Option('--leader-elect', 'use a Lease so only one replica works')
            .env('ISOLATION_LEADER_ELECT')
            .default(false),
    )
    .addOption(
        opt(
            '--leader-election-namespace <name>',
            'namespace of the Lease (default: operator namespace)',
            'ISOLATION_LEADER_ELECTION_NAMESPACE',
        ),
    )
    .addOption(opt('--lease-duration <duration>', 'leader lease duration', 'ISOLATION_LEASE_DURATION', '15s'))
    .addOption(opt('--renew-deadline <duration>', 'leader renew deadline', 'ISOLATION_RENEW_DEADLINE', '10s'))
    .addOption(
        opt('--retry-period <duration>', 'leader election retry period', 'ISOLATION_RETRY_PERIOD', '2s'),
    )
    .addOption(opt('--identity <id>', 'leader election identity (default: pod name or host_pid)', 'POD_NAME'))
    .addOption(
        opt(
            '--metrics-bind-address <addr>',
            'metrics endpoint, 0 disables',
            'ISOLATION_METRICS_BIND_ADDRESS',
            DEFAULT_SETTINGS.metricsBindAddress,
        ),
    )
    .addOption(
        opt(
            '--metrics-secure <bool>',
            'serve metrics over HTTPS with TokenReview authentication and SubjectAccessReview authorization ' +
                '(false: plain HTTP, open to anyone who reaches the port)',
            'ISOLATION_METRICS_SECURE',
            String(DEFAULT_SETTINGS.metricsSecure),
        ),
    )
    .addOption(
        opt(
            '--metrics-cert-dir <dir>',
            'directory with tls.crt and tls.key for the metrics endpoint (default: a self-signed certificate)',
            'ISOLATION_METRICS_CERT_DIR',
        ),
    )
    .addOption(
        opt(
            '--health-probe-bind-address <addr>',
            'healthz/readyz endpoint, 0 disables',
            'ISOLATION_HEALTH_PROBE_BIND_ADDRESS',
            DEFAULT_SETTINGS.healthProbeBindAddress,
        ),
    )
    .addOption(
        new Option('--log-level <level>', 'log level')
            .env('LOG_LEVEL')
            .default('info')
            .choices(['error', 'warn', 'info', 'debug']),
    )
    .addOption(
        new Option('--log-format <format>', 'log format')
            .env('LOG_FORMAT')
            .default('json')
            .choices(['json', 'text']),
    )
    .addOption(
        opt(
            '--list-page-size <n>',
            'items per page when listing (bounds memory of a relist)',
            'ISOLATION_LIST_PAGE_SIZE',
            String(DEFAULT_SETTINGS.listPageSize),
        ),
    )
    .addOption(
        opt(
            '--shutdown-timeout <duration>',
            'grace for in-flight reconciles on SIGTERM',
            'ISOLATION_SHUTDOWN_TIMEOUT',
            '30s',
        ),
    )
    .action(async (o: Record<string, string | boolean | undefined>) => {
        const s = (k: string) => String(o[k] ?? '');
        const concurrency = Number(s('concurrency'));
        if (!Number.isInteger(concurrency) || concurrency < 1)
            throw new Error('--concurrency must be a positive integer');
        const operatorNamespace = s('operatorNamespace');
        const settings: OperatorSettings = {
            kubeconfig: s('kubeconfig'),
            concurrency,
            resyncPeriodMs: parseDuration(s('resyncPeriod')),
            statusDelayMs: parseDuration(s('statusDelay')),
            plan: planSettingsFromFlags({
                dnsNamespace: s('dnsNamespace'),
                dnsPodLabels: s('dnsPodLabels'),
                neverGovern: s('neverGovern'),
                operatorNamespace,
                dnsPorts: s('dnsPorts'),
                nodeLocalDns: s('nodeLocalDns'),
                alignment: s('alignment'),
            }),
            bindableRoles: parseList(s('bindableRoles')),
            leaderElect: o.leaderElect === true || o.leaderElect === 'true',
            leaseName: DEFAULT_SETTINGS.leaseName,
            leaseNamespace: s('leaderElectionNamespace') || operatorNamespace,
            identity: s('identity') || `${hostname()}_${process.pid}`,
            leaseDurationMs: parseDuration(s('leaseDuration')),
            renewDeadlineMs: parseDuration(s('renewDeadline')),
            retryPeriodMs: parseDuration(s('retryPeriod')),
            metricsBindAddress: s('metricsBindAddress'),
            healthProbeBindAddress: s('healthProbeBindAddress'),
            metricsSecure: parseBool(s('metricsSecure'), '--metrics-secure'),
            metricsCertDir: s('metricsCertDir'),
            logLevel: s('logLevel'),
            logFormat: s('logFormat') === 'text' ? 'text' : 'json',
            shutdownTimeoutMs: parseDuration(s('shutdownTimeout')),
            listPageSize: Number(s('listPageSize')),
        };
        const { runOperator } = await import('./controller/manager.ts');
        const code = await runOperator(settings);
        process.exitCode = code;
        // Everything is stopped; do not let a stray handle hold the pod past its grace period.
        setTimeout(() => process.exit(code), 200).unref();
    });

const planCommand = program
    .command('plan')
    .description('print, as YAML, the objects the operator would generate for the given profiles (no writes)')
    .requiredOption('-f, --filename <file...>', 'YAML file(s) with IsolationProfiles ("-" for stdin)')
    .option('--namespaces <file>', 'YAML file with Namespace (and ServiceAccount) objects to plan against')
    .option('--cluster', 'read namespaces and ServiceAccounts from the current kubeconfig (read-only)');
for (const o of planSettingsOptions()) planCommand.addOption(o);
planCommand.action(
    async (o: { filename: string[]; namespaces?: string; cluster?: boolean } & Record<string, unknown>) => {
        const out = await runPlanCommand({
            files: o.filename,
            namespacesFile: o.namespaces,
            cluster: o.cluster === true,
            settings: planSettingsFromFlags(o as Record<string, string>),
        });
        process.stdout.write(out);
    },
);

program.addCommand(explainCommand());

try {
    await program.parseAsync(process.argv);
} catch (err) {
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
}
