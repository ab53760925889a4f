/**
 * Synthesizes every stack once into .test-out/synth-<digest of the inputs>/, so no suite touches the developer's
 * cdktf.out, and later runs on unchanged sources reuse it. Each digest has its own directory, so a run that
 * started on older sources keeps reading its own output while a newer run synthesizes.
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { synthesizeIfChanged, synthInputsDigest } from '../../local/synth.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    synthDir: string;
  }
}

const root = path.resolve(import.meta.dirname, '..', '..');
const testOut = path.join(root, '.test-out');
/** Longer than any test run, so pruning never removes the output a concurrent run still reads. */
const STALE_MS = 2 * 60 * 60 * 1000;

export default function setup(project: TestProject): void {
  // Local state: a developer's or pipeline's state bucket settings must never reach the suites' terraform init.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('WSCHAT_STATE_')));
  const digest = synthInputsDigest(env);
  const synthDir = path.join(testOut, `synth-${digest.slice(0, 16)}`, 'cdktf.out');
  synthesizeIfChanged({ outdir: synthDir, env });
  pruneOtherSyntheses(path.basename(path.dirname(synthDir)));
  project.provide('synthDir', synthDir);
}

function pruneOtherSyntheses(keep: string): void {
  for (const entry of readdirSync(testOut)) {
    const dir = path.join(testOut, entry);
    if (entry !== keep && entry.startsWith('synth-') && Date.now() - statSync(dir).mtimeMs > STALE_MS) rmSync(dir, { recursive: true, force: true });
  }
}
