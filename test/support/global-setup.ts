/**
 * Synthesizes every stack once per test run into its own directory under .test-out/, so no suite touches the
 * developer's cdktf.out and concurrent runs never read each other's half-written assets.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    synthDir: string;
  }
}

const root = path.resolve(import.meta.dirname, '..', '..');

export default function setup(project: TestProject): () => void {
  const runDir = path.join(root, '.test-out', `run-${process.pid}`);
  const synthDir = path.join(runDir, 'cdktf.out');
  mkdirSync(synthDir, { recursive: true });
  const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
  // Local state: a developer's or pipeline's state bucket settings must never reach the suites' terraform init.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('WSCHAT_STATE_')));
  execFileSync(process.execPath, [tsxCli, path.join(root, 'infra', 'main.ts')], {
    cwd: root,
    env: { ...env, CDKTF_OUTDIR: synthDir },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  project.provide('synthDir', synthDir);
  return () => rmSync(runDir, { recursive: true, force: true });
}
