/**
 * A whole synthesis, in this process: byte-for-byte the same as the suite's own (made by `npm run synth`'s code path
 * in the global setup, possibly in an earlier run on the same sources), so plan diffs show only real changes;
 * the state backend follows the WSCHAT_STATE_* environment, and a bad configuration stops synthesis before
 * anything is built.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { synthesize } from '../../infra/main.ts';
import { STAMP_FILE, synthArguments } from '../../local/synth.ts';
import { STAGE_NAMES, STAGES, stackName, StageConfigError } from '../../infra/config/stages.ts';
import { StateBackendError } from '../../infra/config/state-backend.ts';
import type { Plan } from '../support/plan.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
const STATE_ENV = { WSCHAT_STATE_BUCKET: 'acme-wschat-terraform-state', WSCHAT_STATE_REGION: 'eu-central-1' };

/** Every file under `dir`, as sorted paths relative to it. */
function filesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as { isFile(): boolean; parentPath: string; name: string }[])
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

/** A plan's text without its state backend and cdktf's notes on it: the only parts that follow WSCHAT_STATE_*. */
function withoutBackend(planText: Buffer): string {
  const plan = JSON.parse(planText.toString('utf8')) as Plan & { '//'?: { metadata?: Record<string, unknown> } };
  delete plan.terraform?.backend;
  delete plan['//']?.metadata?.backend;
  delete plan['//']?.metadata?.overrides;
  return JSON.stringify(plan);
}

describe('synthesis', () => {
  let workRoot: string;
  /** The global setup's synthesis (local state): an earlier run of the same code on the same sources. */
  const reference = inject('synthDir');
  let first: string;

  beforeAll(() => {
    workRoot = mkdtempSync(path.join(os.tmpdir(), 'wschat-synth-'));
    first = synthesize({ outdir: path.join(workRoot, 'first', 'cdktf.out'), env: STATE_ENV });
  });

  afterAll(() => rmSync(workRoot, { recursive: true, force: true }));

  it('is byte-identical from one run to the next, asset zips included (the state backend aside)', () => {
    const files = filesUnder(first);
    // The reference also carries the stamp of the inputs it was made from, which only synthesizeIfChanged writes.
    expect(filesUnder(reference).filter((file) => file !== STAMP_FILE)).toEqual(files);
    for (const stage of STAGE_NAMES) {
      expect(files, stage).toContain(`stacks/${stackName(stage)}/cdk.tf.json`);
      expect(files.filter((f) => f.startsWith(`stacks/${stackName(stage)}/assets/`) && f.endsWith('.zip')).length, stage).toBeGreaterThan(0);
    }
    const same = (file: string) => {
      const [ours, theirs] = [readFileSync(path.join(first, file)), readFileSync(path.join(reference, file))];
      return file.endsWith('cdk.tf.json') ? withoutBackend(ours) === withoutBackend(theirs) : ours.equals(theirs);
    };
    expect(files.filter((file) => !same(file))).toEqual([]);
  });

  it('keeps each stage state in the WSCHAT_STATE_BUCKET bucket, encrypted and S3-locked, under wschat/<stage>/', () => {
    for (const stage of STAGE_NAMES) {
      const plan = JSON.parse(readFileSync(path.join(first, 'stacks', stackName(stage), 'cdk.tf.json'), 'utf8')) as Plan;
      expect(plan.terraform?.backend, stage).toEqual({
        s3: {
          bucket: STATE_ENV.WSCHAT_STATE_BUCKET,
          key: `wschat/${stage}/terraform.tfstate`,
          region: STATE_ENV.WSCHAT_STATE_REGION,
          encrypt: true,
          use_lockfile: true,
        },
      });
    }
  });
});

describe('synthesis refuses bad settings before building anything', () => {
  let workRoot: string;
  beforeAll(() => {
    workRoot = mkdtempSync(path.join(os.tmpdir(), 'wschat-synth-bad-'));
  });
  afterAll(() => rmSync(workRoot, { recursive: true, force: true }));

  it('names the stage field that is wrong', () => {
    const outdir = path.join(workRoot, 'config', 'cdktf.out');
    const stages = { ...STAGES, prod: { ...STAGES.prod, logRetentionDays: 100 } };
    expect(() => synthesize({ outdir, env: {}, stages })).toThrow(StageConfigError);
    expect(() => synthesize({ outdir, env: {}, stages })).toThrow(/prod\.logRetentionDays: must be one of/);
    expect(existsSync(path.join(workRoot, 'config')), 'synthesis wrote something').toBe(false);
  });

  it('names the state variable that is missing', () => {
    const outdir = path.join(workRoot, 'state', 'cdktf.out');
    expect(() => synthesize({ outdir, env: { WSCHAT_STATE_BUCKET: 'acme-wschat-terraform-state' } })).toThrow(StateBackendError);
    expect(() => synthesize({ outdir, env: { WSCHAT_STATE_BUCKET: 'acme-wschat-terraform-state' } })).toThrow(/WSCHAT_STATE_REGION/);
    expect(existsSync(path.join(workRoot, 'state')), 'synthesis wrote something').toBe(false);
  });

  it('`npm run synth` exits 1 with the message and no stack trace', async () => {
    const run = promisify(execFile)(process.execPath, synthArguments(), {
      cwd: REPO_ROOT,
      env: { ...process.env, CDKTF_OUTDIR: path.join(workRoot, 'cli', 'cdktf.out'), WSCHAT_STATE_BUCKET: 'acme-wschat-terraform-state', WSCHAT_STATE_REGION: '' },
    });
    const failure = (await run.then(
      () => undefined,
      (error: unknown) => error,
    )) as { code: number; stderr: string } | undefined;
    expect(failure, 'the synth succeeded').toBeDefined();
    expect(failure!.code).toBe(1);
    expect(failure!.stderr).toContain('WSCHAT_STATE_REGION');
    expect(failure!.stderr).not.toMatch(/\n\s+at /);
  });
});
