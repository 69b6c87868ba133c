/**
 * Bundles the operator into one minified ES module, `dist/bundle/operator.mjs`, which the image runs (and the
 * benchmarks measure).
 *
 * Why: V8 keeps the source text of every module it loads (lazy compilation needs it), and
 * `@kubernetes/client-node`'s index loads every API group's client and model — 26 MiB of source strings and most
 * of the operator's code space, against a live set of about 35 MiB for the caches of 2,000 namespaces. esbuild
 * keeps only what `src/main.ts` reaches and minifies it: the started process holds 16.7 MiB of heap instead of
 * 34.3 MiB and 94 MB RSS instead of 135 MB (docs/benchmarks.md, "Memory"). The image then needs no node_modules
 * at all. Type-checking stays `tsc`'s job (`npm run typecheck`); this only strips and bundles.
 *
 * The licence files of every bundled package are collected into `THIRD-PARTY-LICENSES.txt` beside the bundle (the
 * image no longer carries node_modules and their LICENSE files); a linked source map (`--enable-source-maps`)
 * maps stack traces back to src/.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLE = join(REPO, 'dist', 'bundle', 'operator.mjs');

const result = await build({
    entryPoints: [join(REPO, 'src', 'main.ts')],
    outfile: BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    metafile: true,
    // CommonJS dependencies (winston's, undici's) call require(); an ES module has none of its own.
    banner: {
        js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    logLevel: 'warning',
});
// node_modules/<name> or node_modules/@scope/<name> of every bundled input, with its licence files.
const packages = new Set<string>();
for (const input of Object.keys(result.metafile.inputs)) {
    const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m?.[1]) packages.add(m[1]);
}
const notices: string[] = [];
for (const dir of [...packages].sort()) {
    const abs = join(REPO, dir);
    const pkg = JSON.parse(readFileSync(join(abs, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
        license?: string;
    };
    const files = existsSync(abs)
        ? readdirSync(abs).filter((f) => /^(licen[cs]e|copying|notice)/i.test(f))
        : [];
    const texts = files.map((f) => readFileSync(join(abs, f), 'utf8').trim());
    notices.push(
        `${pkg.name}@${pkg.version} (${pkg.license ?? 'see text'})\n\n${texts.join('\n\n') || '(no licence file in the package)'}`,
    );
}
writeFileSync(
    join(dirname(BUNDLE), 'THIRD-PARTY-LICENSES.txt'),
    notices.join(`\n\n${'-'.repeat(80)}\n\n`) + '\n',
);
// src/main.ts reads the version from `../package.json` relative to itself: dist/package.json for the bundle.
mkdirSync(join(REPO, 'dist'), { recursive: true });
copyFileSync(join(REPO, 'package.json'), join(REPO, 'dist', 'package.json'));
console.log(`wrote ${BUNDLE} (${packages.size} packages bundled)`);
