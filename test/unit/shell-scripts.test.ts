/**
 * The project's shell scripts run under `set -o pipefail`. A pipe into a reader that can exit before its writer is
 * done (`head`, `grep -q`, `grep -m`, an awk/sed that quits) then kills the writer with SIGPIPE and fails the
 * script at random — exit 141, a race that warm caches hide (the control-plane build once died so after 12 minutes).
 * This test keeps such pipes out of every script, and checks each parses (`bash -n`).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { REPO } from '../support/operator.ts';

function scripts(): string[] {
    const found = [
        '.ci/run',
        'test/controlplane/build.sh',
        'test/gitops-health/build.sh',
        'bench/peer/build.sh',
    ];
    const hack = join(REPO, 'hack');
    if (existsSync(hack))
        for (const f of readdirSync(hack)) if (f.endsWith('.sh')) found.push(join('hack', f));
    return found.filter((f) => existsSync(join(REPO, f)));
}

/** Readers that may stop reading before EOF. */
const EARLY_EXIT = [
    /\|\s*head\b/,
    /\|\s*grep\b[^|]*\s-[a-zA-Z]*[qm]/,
    /\|\s*grep\b[^|]*--(quiet|silent|max-count)\b/,
    /\|\s*(awk|sed)\b[^|]*\b(exit|q)\b/,
];

/** Lines of a shell script with comments removed (a `#` that starts a word). */
function codeLines(text: string): { n: number; line: string }[] {
    return text.split('\n').map((l, i) => ({ n: i + 1, line: l.replace(/(^|\s)#.*$/, '') }));
}

export function earlyExitPipes(text: string): string[] {
    const bad: string[] = [];
    for (const { n, line } of codeLines(text)) {
        if (EARLY_EXIT.some((re) => re.test(line))) bad.push(`${n}: ${line.trim()}`);
    }
    return bad;
}

describe('shell scripts', () => {
    it('finds the scripts it checks', () => {
        assert.ok(scripts().includes('test/controlplane/build.sh'));
    });

    for (const file of scripts()) {
        it(`${file} has no pipe into a reader that can exit early (SIGPIPE under pipefail)`, () => {
            assert.deepEqual(earlyExitPipes(readFileSync(join(REPO, file), 'utf8')), []);
        });
        it(`${file} parses`, () => {
            execFileSync('bash', ['-n', join(REPO, file)]);
        });
    }

    it('Makefile recipes (bash -o pipefail) have no such pipe either', () => {
        assert.deepEqual(earlyExitPipes(readFileSync(join(REPO, 'Makefile'), 'utf8')), []);
    });

    it('the check catches the pipes that broke the build', () => {
        assert.equal(earlyExitPipes('"$BIN/etcd" --version | head -1 >&2').length, 1);
        assert.equal(earlyExitPipes('go env | grep -q GOPATH').length, 1);
        assert.equal(earlyExitPipes('x | grep -m1 y').length, 1);
        assert.equal(earlyExitPipes("x | awk '{print; exit}'").length, 1);
        assert.equal(earlyExitPipes('x | sed -n 1p | sort -u').length, 0);
        assert.equal(earlyExitPipes('x | grep -o y | sort -u # | head').length, 0);
    });
});
