/**
 * What each function's bundle carries (infra/bundle.ts): minified, within issue #20's size budget, with a linked
 * source map for stack traces, and none of the libraries the function does not use. The source map's `sources`
 * list every file that went into the bundle, so they say what a bundle carries.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleLimitBytes } from '../../bench/coldstart-report.ts';
import { FUNCTION_NAMES, FUNCTIONS, type FunctionName } from '../../functions/catalog/functions.ts';
import { BUNDLE_FILE, bundleFunction, REPO_ROOT, SOURCE_MAP_FILE } from '../../infra/bundle.ts';

interface Bundle {
  readonly code: string;
  readonly sources: readonly string[];
}

let outRoot: string;
const bundles = new Map<FunctionName, Bundle>();

beforeAll(() => {
  outRoot = mkdtempSync(path.join(os.tmpdir(), 'wschat-bundles-'));
  for (const name of FUNCTION_NAMES) {
    const dir = bundleFunction(name, outRoot);
    const map = JSON.parse(readFileSync(path.join(dir, SOURCE_MAP_FILE), 'utf8')) as { sources: string[]; sourcesContent?: unknown };
    expect(map.sourcesContent, 'the map carries positions, not the sources').toBeUndefined();
    bundles.set(name, { code: readFileSync(path.join(dir, BUNDLE_FILE), 'utf8'), sources: map.sources });
  }
});

afterAll(() => rmSync(outRoot, { recursive: true, force: true }));

const bundle = (name: FunctionName) => bundles.get(name) as Bundle;
const carries = (name: FunctionName, fragment: string) => bundle(name).sources.some((source) => source.includes(fragment));
const handlerSource = (name: FunctionName) => readFileSync(path.join(REPO_ROOT, 'functions', 'handlers', `${name}.ts`), 'utf8');

describe('function bundles', () => {
  it.each(FUNCTION_NAMES)('%s is minified, within its budget, and names its source map', (name) => {
    const { code } = bundle(name);
    expect(Buffer.byteLength(code)).toBeLessThanOrEqual(bundleLimitBytes(name));
    // Unminified, esbuild starts each module with a `// path` comment; minified code has none.
    expect(code).not.toMatch(/^\/\/ .*node_modules/m);
    expect(code.trimEnd().endsWith(`//# sourceMappingURL=${SOURCE_MAP_FILE}`)).toBe(true);
    expect(carries(name, `functions/handlers/${name}.ts`)).toBe(true);
  });

  it.each(FUNCTION_NAMES)('%s gets node:http as a module, never through its ES module facade', (name) => {
    expect(bundle(name).code).not.toMatch(/from\s*"(node:)?http"/);
    expect(bundle(name).code).not.toMatch(/import\s*"(node:)?http"/);
    // Functions with an AWS client or the @connections notifier use HTTP: they must get it through the shim.
    if (name !== 'authorizer') expect(carries(name, 'infra/bundle-shims/node-http.cjs')).toBe(true);
  });

  it.each(FUNCTION_NAMES)('%s carries the environment credentials link, not the SDK default chain', (name) => {
    expect(carries(name, '@aws-sdk/credential-provider-')).toBe(false);
    expect(carries(name, '@aws-sdk/nested-clients')).toBe(false);
  });

  it('keeps the authorizer free of the AWS SDK clients, the X-Ray SDK and zod', () => {
    for (const library of ['@aws-sdk/', '@smithy/', 'aws-xray-sdk-core', '@aws-lambda-powertools/tracer', 'zod']) {
      expect(carries('authorizer', library), library).toBe(false);
    }
    expect(carries('authorizer', 'node_modules/jose/')).toBe(true);
  });

  // Request schemas are built lazily and their getters are pure, so a function that validates no frame (the
  // lifecycle routes) drops them, and zod with them.
  const lifecycle = FUNCTION_NAMES.filter((name) => handlerSource(name).includes('lifecycleRoute('));
  it('finds the lifecycle routes in the handlers', () => expect(lifecycle.length).toBeGreaterThan(0));
  it.each(lifecycle)('%s validates no frame and carries no zod', (name) => {
    expect(carries(name, 'node_modules/zod/')).toBe(false);
  });

  it.each(FUNCTION_NAMES.filter((name) => name !== 'authorizer'))('%s keeps the X-Ray context on the AsyncLocalStorage shim, without cls-hooked', (name) => {
    expect(carries(name, 'infra/bundle-shims/cls-hooked-context.ts')).toBe(true);
    for (const library of ['node_modules/cls-hooked/', 'node_modules/async-hook-jl/', 'node_modules/emitter-listener/']) {
      expect(carries(name, library), library).toBe(false);
    }
    // The environment variable cls-hooked reads at load: no copy of its code came in by another path.
    expect(bundle(name).code).not.toContain('DEBUG_CLS_HOOKED');
  });

  it.each(FUNCTION_NAMES)('%s calls nothing of semver but gte, and carries the gte shim instead of semver', (name) => {
    const calls = new Set<string>();
    let requirers = 0;
    for (const source of bundle(name).sources.filter((file) => file.includes('node_modules/'))) {
      const text = readFileSync(path.resolve(REPO_ROOT, source), 'utf8');
      for (const [, variable] of text.matchAll(/(\w+)\s*=\s*require\(['"]semver['"]\)/g)) {
        requirers++;
        for (const [, member] of text.matchAll(new RegExp(`\\b${variable}\\.(\\w+)`, 'g'))) calls.add(member as string);
      }
      expect(text, source).not.toMatch(/from\s*['"]semver|require\(['"]semver\//);
    }
    expect([...calls].filter((member) => member !== 'gte')).toEqual([]);
    expect(carries(name, 'node_modules/semver/')).toBe(false);
    expect(carries(name, 'infra/bundle-shims/semver-gte.ts')).toBe(requirers > 0);
  });

  it.each(FUNCTION_NAMES.filter((name) => name !== 'authorizer'))('%s is traced, and carries the clients its grants need', (name) => {
    expect(carries(name, '@aws-lambda-powertools/tracer')).toBe(true);
    expect(carries(name, '@aws-sdk/client-dynamodb')).toBe(FUNCTIONS[name].tables.length > 0);
    expect(carries(name, '@aws-sdk/client-lambda')).toBe(FUNCTIONS[name].broadcasts);
  });
});
