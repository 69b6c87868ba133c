/**
 * The `explain` command line: `can`, `matrix` and `who-can-act`, answered from a live cluster (read-only, the
 * kubeconfig) or from YAML files (`-f`, planned like `plan`). Plain text by default, `-o json|yaml` for tools.
 *
 * Exit codes are part of the interface, for scripts: 0 = allowed (`can`: at least one pair allowed; `who-can-act`:
 * every ServiceAccount subject has a network path; `gaps`: none; `matrix`: answered), 1 = denied (`can`: no pair
 * allowed; `who-can-act`: some ServiceAccount subject has no path; `gaps`: some), 2 = error (bad arguments, unknown
 * pod, cluster unreachable). `--require-all` makes `can` exit 1 unless every pair is allowed.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import type { CommanderError } from 'commander';
import { stringify } from 'yaml';

import { readManifests } from '../cli/manifests.ts';
import { planSettingsFromFlags, planSettingsOptions } from '../cli/plan-flags.ts';
import type { PlanFlagValues } from '../cli/plan-flags.ts';
import type { EvaluatorOptions } from '../netpol/index.ts';
import { explainCan } from './can.ts';
import { parseEndpoint, parseTarget, UsageError } from './endpoints.ts';
import { explainMatrix } from './matrix.ts';
import { explainGaps } from './gaps.ts';
import { renderCan, renderGaps, renderMatrix, renderWhoCanAct } from './render.ts';
import type { Snapshot } from './snapshot.ts';
import { snapshotFromDocs } from './snapshot.ts';
import { explainWhoCanAct } from './who-can-act.ts';

export const EXIT_ALLOWED = 0;
export const EXIT_DENIED = 1;
export const EXIT_ERROR = 2;

interface CommonFlags extends PlanFlagValues {
    filename?: string[];
    kubeconfig?: string;
    output: 'text' | 'json' | 'yaml';
    ipBlocksMatchPods: boolean;
}

/** Files as given; a directory stands for its `*.yaml` / `*.yml` files (not recursive, kustomization skipped). */
function expand(files: string[]): string[] {
    return files.flatMap((f) =>
        f !== '-' && statSync(f).isDirectory()
            ? readdirSync(f)
                  .filter((n) => /\.ya?ml$/.test(n) && !/^kustomization\.ya?ml$/.test(n))
                  .sort()
                  .map((n) => join(f, n))
            : [f],
    );
}

function readDocs(files: string[]): unknown[] {
    const out: unknown[] = [];
    for (const file of expand(files)) {
        try {
            out.push(...readManifests(file));
        } catch (err) {
            // A file that does not parse is a usage error (exit code 2), not an internal one.
            if (err instanceof Error && err.message.startsWith(`${file}: `))
                throw new UsageError(err.message);
            throw err;
        }
    }
    return out;
}

async function snapshot(o: CommonFlags): Promise<Snapshot> {
    if (o.filename && o.filename.length > 0)
        return snapshotFromDocs(readDocs(o.filename), planSettingsFromFlags(o));
    const { snapshotFromCluster } = await import('./live.ts');
    return snapshotFromCluster(o.kubeconfig ?? '');
}

function print(o: CommonFlags, answer: object, text: (a: never) => string): void {
    if (o.output === 'json') process.stdout.write(JSON.stringify(answer, null, 2) + '\n');
    else if (o.output === 'yaml') process.stdout.write(stringify(answer));
    else process.stdout.write(text(answer as never));
}

function evaluatorOptions(o: CommonFlags): EvaluatorOptions {
    return { ipBlockMatchesPods: o.ipBlocksMatchPods };
}

/** Runs an action; maps thrown errors to exit code 2 with a one-line message. */
async function guarded(fn: () => Promise<number>): Promise<void> {
    try {
        process.exitCode = await fn();
    } catch (err) {
        console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
        process.exitCode = EXIT_ERROR;
    }
}

function common(cmd: Command): Command {
    cmd.option(
        '-f, --filename <file...>',
        'answer from YAML files or folders instead of the cluster ("-" for stdin)',
    )
        .addOption(new Option('--kubeconfig <path>', 'kubeconfig of the cluster to read').env('KUBECONFIG'))
        .addOption(
            new Option('-o, --output <format>', 'output format')
                .choices(['text', 'json', 'yaml'])
                .default('text'),
        )
        .option(
            '--no-ip-blocks-match-pods',
            'ipBlocks match only addresses outside the pod network (Cilium)',
        );
    for (const o of planSettingsOptions()) cmd.addOption(o);
    return cmd;
}

export function explainCommand(): Command {
    const explain = new Command('explain')
        .description('explain connectivity and access: who can reach what, and who can act where (read-only)')
        .exitOverride((err: CommanderError) => {
            process.exit(err.exitCode === 0 ? 0 : EXIT_ERROR);
        });

    common(
        explain
            .command('can')
            .description(
                'can <source> reach <target>[:<port>[/<protocol>]]? Endpoints: pod/<ns>/<name>, sa/<ns>/<name>, ns/<ns>, ip/<address>',
            )
            .argument('<source>', 'pod/<ns>/<name> | sa/<ns>/<name> | ns/<ns> | ip/<address>')
            .argument('<reach>', 'the word "reach"')
            .argument(
                '<target>',
                'endpoint, optionally :<port>[/<protocol>] (port number or name; default TCP)',
            )
            .option('--require-all', 'exit 0 only when every pair of workloads is allowed'),
    ).action(
        async (source: string, reach: string, target: string, o: CommonFlags & { requireAll?: boolean }) =>
            guarded(async () => {
                if (reach !== 'reach')
                    throw new UsageError(`expected "can <source> reach <target>", got "${reach}"`);
                const from = parseEndpoint(source);
                const to = parseTarget(target);
                const answer = explainCan(await snapshot(o), from, to.endpoint, to.port, evaluatorOptions(o));
                print(o, answer, renderCan);
                const ok = o.requireAll ? answer.verdict === 'allowed' : answer.verdict !== 'denied';
                return ok ? EXIT_ALLOWED : EXIT_DENIED;
            }),
    );

    common(
        explain
            .command('matrix')
            .description('connectivity matrix of a namespace (its pods, and a pod of every other namespace)')
            .argument('<namespace>')
            .option('--port <port[/protocol]>', 'show yes/no for one port instead of the allowed ports'),
    ).action(async (namespace: string, o: CommonFlags & { port?: string }) =>
        guarded(async () => {
            const q = o.port ? parseTarget(`ns/${namespace}:${o.port}`).port : {};
            const answer = explainMatrix(await snapshot(o), namespace, q, evaluatorOptions(o));
            print(o, answer, renderMatrix);
            return EXIT_ALLOWED;
        }),
    );

    common(
        explain
            .command('who-can-act')
            .description(
                'every RoleBinding subject of a namespace, and whether its ServiceAccounts can reach the pods',
            )
            .argument('<namespace>'),
    ).action(async (namespace: string, o: CommonFlags) =>
        guarded(async () => {
            const answer = explainWhoCanAct(await snapshot(o), namespace, evaluatorOptions(o));
            print(o, answer, renderWhoCanAct);
            return answer.withoutPath === 0 ? EXIT_ALLOWED : EXIT_DENIED;
        }),
    );
    common(
        explain
            .command('gaps')
            .description(
                'alignment gaps per profile: grants without a network path, allows only one side declares',
            )
            .argument('[profile]', 'only this profile'),
    ).action(async (profile: string | undefined, o: CommonFlags) =>
        guarded(async () => {
            const answer = explainGaps(await snapshot(o), profile, evaluatorOptions(o));
            print(o, answer, renderGaps);
            return answer.total === 0 ? EXIT_ALLOWED : EXIT_DENIED;
        }),
    );
    return explain;
}
