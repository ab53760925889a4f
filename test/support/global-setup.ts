/**
 * Synthesizes every stack once per test run into its own directory under .test-out/, so no suite touches the
 * developer's cdktf.out and concurrent runs never read each other's half-written assets.
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { synthesizeStacks } from '../../local/synth.ts';

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
  // Local state: a developer's or pipeline's state bucket settings must never reach the suites' terraform init.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('WSCHAT_STATE_')));
  synthesizeStacks({ outdir: synthDir, env, quiet: true });
  project.provide('synthDir', synthDir);
  return () => rmSync(runDir, { recursive: true, force: true });
}
