/**
 * Builds each function's deployable bundle with esbuild: the same files Lambda and the local runtime run. Bundles
 * are minified and tree-shaken (a cold start parses and compiles all of it), with a source map beside them for
 * stack traces (docs/performance.md: why it is shipped but not enabled).
 */
import { buildSync } from 'esbuild';
import { chmodSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FunctionName } from '../functions/catalog/functions.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BUNDLE_FILE = 'index.mjs';
export const SOURCE_MAP_FILE = `${BUNDLE_FILE}.map`;
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

/**
 * Node's `http` as a module, not as an ES module import: importing `node:http` as an ES module builds its ESM
 * facade, which reads every export, including the lazy WebSocket getters that load Node's fetch implementation
 * (undici). That was about 25 ms of CPU of the cold start of every function with an AWS client, for code none of
 * them runs.
 */
const NODE_HTTP_SHIM = path.join(REPO_ROOT, 'infra', 'bundle-shims', 'node-http.cjs');

/**
 * The X-Ray SDK's context (`require('cls-hooked/context')`) on AsyncLocalStorage instead of cls-hooked's own async
 * hook, which ran on every promise of every invocation (the shim's header says what it keeps).
 */
const CLS_HOOKED_SHIM = path.join(REPO_ROOT, 'infra', 'bundle-shims', 'cls-hooked-context.ts');

/** semver's `gte`, all that the bundles call of it (the shim says where), without the rest of semver. */
const SEMVER_SHIM = path.join(REPO_ROOT, 'infra', 'bundle-shims', 'semver-gte.ts');

const BUNDLE_ALIASES = {
  // Lambda's environment holds the role's credentials: the SDK's default chain is replaced by its environment link.
  '@aws-sdk/credential-provider-node': path.join(REPO_ROOT, 'functions', 'runtime', 'environment-credentials.ts'),
  http: NODE_HTTP_SHIM,
  'node:http': NODE_HTTP_SHIM,
  'cls-hooked/context': CLS_HOOKED_SHIM,
  semver: SEMVER_SHIM,
};

/**
 * Bundles one handler into `<outRoot>/<name>/index.mjs` and its source map (both with a fixed mtime and mode) and
 * returns that directory.
 */
export function bundleFunction(name: FunctionName, outRoot: string): string {
  const outDir = path.join(outRoot, name);
  const outfile = path.join(outDir, BUNDLE_FILE);
  const result = buildSync({
    absWorkingDir: REPO_ROOT,
    entryPoints: [path.join(REPO_ROOT, 'functions', 'handlers', `${name}.ts`)],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    mainFields: ['module', 'main'],
    alias: BUNDLE_ALIASES,
    banner: { js: REQUIRE_BANNER },
    minify: true,
    // Linked (the bundle names its map), so NODE_OPTIONS=--enable-source-maps alone maps stack traces. Without
    // the sources' text: a stack trace needs file, line and name, and the map stays a fraction of the size.
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'none',
    logLevel: 'warning',
    write: false,
  });
  mkdirSync(outDir, { recursive: true });
  for (const output of result.outputFiles) {
    const contents = output.path.endsWith('.map') ? repoRelativeSources(output.text, outDir) : output.contents;
    writeFileSync(output.path, contents);
    chmodSync(output.path, BUNDLE_MODE);
    utimesSync(output.path, ZIP_EPOCH, ZIP_EPOCH);
  }
  return outDir;
}

/**
 * esbuild names a map's sources relative to where the map is written, so the same code built into another
 * directory (a pipeline's checkout, a test's scratch directory) would give another map and another zip. Named
 * relative to the repository instead, as the bundle's files are everywhere else, the zips stay byte-identical.
 */
function repoRelativeSources(mapText: string, outDir: string): string {
  const map = JSON.parse(mapText) as { sources: string[] };
  map.sources = map.sources.map((source) => path.relative(REPO_ROOT, path.resolve(outDir, source)).split(path.sep).join('/'));
  return JSON.stringify(map);
}
