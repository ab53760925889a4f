/** Builds each function's deployable bundle with esbuild: the same files Lambda and the local runtime run. */
import { buildSync } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FunctionName } from '../functions/catalog/functions.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BUNDLE_FILE = 'index.mjs';
/** `index.handler`: Lambda resolves index.mjs as an ES module. */
export const HANDLER = 'index.handler';

// The X-Ray SDK (under the Powertools tracer) calls require(); ES module bundles need one.
const REQUIRE_BANNER =
  "import { createRequire as __bundleCreateRequire } from 'node:module'; const require = __bundleCreateRequire(import.meta.url);";

/** Bundles one handler into `<outRoot>/<name>/index.mjs` and returns that directory. */
export function bundleFunction(name: FunctionName, outRoot: string): string {
  const outDir = path.join(outRoot, name);
  buildSync({
    absWorkingDir: REPO_ROOT,
    entryPoints: [path.join(REPO_ROOT, 'functions', 'handlers', `${name}.ts`)],
    outfile: path.join(outDir, BUNDLE_FILE),
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    mainFields: ['module', 'main'],
    banner: { js: REQUIRE_BANNER },
    legalComments: 'none',
    logLevel: 'warning',
  });
  return outDir;
}
