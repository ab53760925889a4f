/** Builds each function's deployable bundle with esbuild: the same files Lambda and the local runtime run. */
import { buildSync } from 'esbuild';
import { chmodSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FunctionName } from '../functions/catalog/functions.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BUNDLE_FILE = 'index.mjs';
/** `index.handler`: Lambda resolves index.mjs as an ES module. */
export const HANDLER = 'index.handler';

/**
 * cdktf zips each bundle with archiver, which stamps every entry with the file's mtime and mode. esbuild rewrites
 * the file on every synth, so without these the zips (and the cdktf.out a pipeline diffs) would differ each time.
 * 1980-01-01 is the earliest time a zip entry can hold.
 */
const ZIP_EPOCH = new Date(Date.UTC(1980, 0, 1));
const BUNDLE_MODE = 0o644;

// The X-Ray SDK (under the Powertools tracer) calls require(); ES module bundles need one.
const REQUIRE_BANNER =
  "import { createRequire as __bundleCreateRequire } from 'node:module'; const require = __bundleCreateRequire(import.meta.url);";

/** Bundles one handler into `<outRoot>/<name>/index.mjs` (with a fixed mtime and mode) and returns that directory. */
export function bundleFunction(name: FunctionName, outRoot: string): string {
  const outDir = path.join(outRoot, name);
  const outfile = path.join(outDir, BUNDLE_FILE);
  buildSync({
    absWorkingDir: REPO_ROOT,
    entryPoints: [path.join(REPO_ROOT, 'functions', 'handlers', `${name}.ts`)],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    mainFields: ['module', 'main'],
    banner: { js: REQUIRE_BANNER },
    legalComments: 'none',
    logLevel: 'warning',
  });
  chmodSync(outfile, BUNDLE_MODE);
  utimesSync(outfile, ZIP_EPOCH, ZIP_EPOCH);
  return outDir;
}
