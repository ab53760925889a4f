/**
 * The cost model's measurement run: `npx tsx ops/cost/measure.ts` (docs/capacity.md#regenerating-the-coefficients).
 * Boots the synthesized dev plan on the local stack, measures every client action (ops/cost/measurement.ts),
 * counts the fixed resources of each stage's plan (alarms, dashboards, keys, trails, per-route metrics), and
 * writes ops/cost/coefficients.json with the commit it measured. A test re-measures and fails when the counts
 * differ (test/e2e/cost-coefficients.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT, synthesizedStackDir } from '../../local/paths.ts';
import { startLocalStack } from '../../local/stack.ts';
import { synthesizeIfChanged } from '../../local/synth.ts';
import { STAGE_NAMES } from '../../infra/config/stages.ts';
import { COEFFICIENTS_FILE, fixedResources, type Coefficients } from './coefficients.ts';
import { measureActions } from './measurement.ts';

synthesizeIfChanged({ beforeSynthesis: () => console.log('synthesizing the stacks (cdktf) ...') });
const stateDir = mkdtempSync(path.join(tmpdir(), 'wschat-cost-'));
let logBytes = 0;
const stack = await startLocalStack({
  stackDir: synthesizedStackDir('dev'),
  port: 0,
  stateDir,
  log: (_source, line) => (logBytes += Buffer.byteLength(line) + 1),
});
let run;
try {
  run = await measureActions(stack, () => logBytes, undefined, (action, work) => console.log(action, JSON.stringify(work)));
} finally {
  await stack.close();
  rmSync(stateDir, { recursive: true, force: true });
}
const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
const dirty = execFileSync('git', ['status', '--porcelain', '--', 'functions', 'infra', 'local'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim() !== '';
const coefficients: Coefficients = {
  about:
    'Work per client action, measured on the local stack running the synthesized dev plan (ops/cost/measure.ts); ' +
    'regenerate with: npx tsx ops/cost/measure.ts. Counts are exact; billedMs and logs.bytes were measured on this machine.',
  measuredAt: { commit: dirty ? `${commit} (with uncommitted changes)` : commit, date: new Date().toISOString().slice(0, 10) },
  stage: 'dev',
  actions: run.actions,
  customMetricSeries: run.customMetricSeries,
  fixed: Object.fromEntries(
    STAGE_NAMES.map((stage) => [stage, fixedResources(JSON.parse(readFileSync(path.join(synthesizedStackDir(stage), 'cdk.tf.json'), 'utf8')))]),
  ),
};
writeFileSync(COEFFICIENTS_FILE, `${JSON.stringify(coefficients, null, 2)}\n`);
console.log(`wrote ${path.relative(REPO_ROOT, COEFFICIENTS_FILE)}`);
