/** Synthesizes every stack once per test run into .test-out/, so no suite touches the developer's cdktf.out. */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    synthDir: string;
  }
}

const root = path.resolve(import.meta.dirname, '..', '..');

export default function setup(project: TestProject): void {
  const synthDir = path.join(root, '.test-out', 'cdktf.out');
  const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
  execFileSync(process.execPath, [tsxCli, path.join(root, 'infra', 'main.ts')], {
    cwd: root,
    env: { ...process.env, CDKTF_OUTDIR: synthDir },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  project.provide('synthDir', synthDir);
}
