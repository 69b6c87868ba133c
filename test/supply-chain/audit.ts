/**
 * Supply-chain gate (`make audit`, run by .ci/run):
 * 1. Lockfile: every package in package-lock.json has a sha512 `integrity` and comes from the npm registry (no
 *    `resolved` at all means "by name and version from the configured registry"; git, file and other URLs fail) —
 *    so `npm ci`, which refuses a lockfile out of step with package.json and checks every tarball against that hash,
 *    installs exactly what was reviewed.
 * 2. Advisories: `npm audit --omit=dev` (production dependencies only — what ships in the image); any high or
 *    critical advisory fails, unless test/supply-chain/audit-ignore.json lists it with a written reason (entries
 *    without a reason, or past their `expires` date, do not count).
 *
 * When the registry offers no audit endpoint (some mirrors answer 405), step 2 cannot run: the gate says so loudly
 * and passes, or fails with AUDIT_REQUIRED=1.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const REGISTRY = 'https://registry.npmjs.org/';
const FAILING = new Set(['high', 'critical']);

export interface IgnoreEntry {
    /** The advisory URL (https://github.com/advisories/GHSA-...) or its GHSA id. */
    advisory: string;
    reason: string;
    /** YYYY-MM-DD; the entry stops applying after this day. */
    expires?: string;
}

export interface Advisory {
    package: string;
    title: string;
    url: string;
    severity: string;
}

interface LockPackage {
    resolved?: string;
    integrity?: string;
    link?: boolean;
}

/** Packages of a lockfile without a sha512 hash or resolved from somewhere other than the registry. */
export function lockfileProblems(lock: {
    lockfileVersion?: number;
    packages?: Record<string, LockPackage>;
}): string[] {
    const out: string[] = [];
    if ((lock.lockfileVersion ?? 0) < 2) out.push(`lockfileVersion ${lock.lockfileVersion} (need 2 or 3)`);
    for (const [path, p] of Object.entries(lock.packages ?? {})) {
        if (path === '' || p.link) continue;
        if (p.resolved !== undefined && !p.resolved.startsWith(REGISTRY))
            out.push(`${path}: resolved from ${p.resolved}`);
        if (!p.integrity?.startsWith('sha512-')) out.push(`${path}: no sha512 integrity`);
    }
    return out;
}

interface AuditVia {
    source?: number;
    name?: string;
    title?: string;
    url?: string;
    severity?: string;
}

/** The advisories of an `npm audit --json` report (deduplicated by URL), or undefined when it is no report. */
export function advisoriesOf(report: unknown): Advisory[] | undefined {
    if (!report || typeof report !== 'object' || !('vulnerabilities' in report)) return undefined;
    const vulns = (report as { vulnerabilities: Record<string, { via?: (AuditVia | string)[] }> })
        .vulnerabilities;
    const byUrl = new Map<string, Advisory>();
    for (const [pkg, v] of Object.entries(vulns)) {
        for (const via of v.via ?? []) {
            if (typeof via === 'string' || !via.url) continue;
            byUrl.set(via.url, {
                package: via.name ?? pkg,
                title: via.title ?? '',
                url: via.url,
                severity: via.severity ?? 'unknown',
            });
        }
    }
    return [...byUrl.values()];
}

/** Entries that may be used: with a reason, not expired. */
export function validIgnores(
    entries: IgnoreEntry[],
    today: string,
): { valid: IgnoreEntry[]; rejected: string[] } {
    const valid: IgnoreEntry[] = [];
    const rejected: string[] = [];
    for (const e of entries) {
        if (!e.reason || e.reason.trim().length < 10) rejected.push(`${e.advisory}: no written reason`);
        else if (e.expires && e.expires < today) rejected.push(`${e.advisory}: expired on ${e.expires}`);
        else valid.push(e);
    }
    return { valid, rejected };
}

/** High and critical advisories not ignored. */
export function failing(advisories: Advisory[], ignores: IgnoreEntry[]): Advisory[] {
    const ignored = (a: Advisory) =>
        ignores.some((i) => i.advisory === a.url || a.url.endsWith(`/${i.advisory}`));
    return advisories.filter((a) => FAILING.has(a.severity) && !ignored(a));
}

function npmAudit(): Promise<unknown> {
    return new Promise((resolve) => {
        execFile(
            process.env.NPM ?? 'npm',
            ['audit', '--omit=dev', '--json'],
            { cwd: REPO, maxBuffer: 64 * 1024 * 1024 },
            (_err, stdout) => {
                try {
                    resolve(JSON.parse(stdout));
                } catch {
                    resolve(undefined);
                }
            },
        );
    });
}

async function main(): Promise<number> {
    let code = 0;
    const lock = JSON.parse(await readFile(join(REPO, 'package-lock.json'), 'utf8')) as Parameters<
        typeof lockfileProblems
    >[0];
    const problems = lockfileProblems(lock);
    if (problems.length > 0) {
        console.error(`lockfile: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
        code = 1;
    } else {
        console.log(
            `lockfile: ${Object.keys(lock.packages ?? {}).length - 1} packages, each with a sha512 integrity, none from outside the registry`,
        );
    }

    const entries = JSON.parse(
        await readFile(join(REPO, 'test', 'supply-chain', 'audit-ignore.json'), 'utf8'),
    ) as IgnoreEntry[];
    const { valid, rejected } = validIgnores(entries, new Date().toISOString().slice(0, 10));
    for (const r of rejected) console.error(`audit-ignore.json: entry not applied: ${r}`);

    const report = await npmAudit();
    const advisories = advisoriesOf(report);
    if (!advisories) {
        const why = (report as { message?: string } | undefined)?.message ?? 'no report';
        const msg = `npm audit: the registry gave no advisory report (${why}); production dependencies NOT audited`;
        if (process.env.AUDIT_REQUIRED === '1') {
            console.error(msg);
            return 1;
        }
        console.warn(`WARNING: ${msg} (set AUDIT_REQUIRED=1 to fail instead)`);
        return code;
    }
    const bad = failing(advisories, valid);
    for (const a of bad) console.error(`${a.severity}: ${a.package}: ${a.title} (${a.url})`);
    console.log(
        `npm audit --omit=dev: ${advisories.length} advisories, ${bad.length} high/critical not ignored ` +
            `(${valid.length} documented ignores)`,
    );
    return bad.length > 0 ? 1 : code;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
    process.exitCode = await main();
}
