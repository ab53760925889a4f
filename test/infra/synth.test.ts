/**
 * Whole syntheses, in this process: they are byte-for-byte repeatable (so plan diffs show only real changes),
 * the state backend follows the WSCHAT_STATE_* environment, and a bad configuration stops synthesis before
 * anything is built.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesize } from '../../infra/main.ts';
import { synthArguments } from '../../local/synth.ts';
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

describe('synthesis', () => {
  let workRoot: string;
  let first: string;
  let second: string;

  beforeAll(() => {
    workRoot = mkdtempSync(path.join(os.tmpdir(), 'wschat-synth-'));
    // Each synthesis gets its own directory (and bundle build directory beside it), one after the other.
    first = synthesize({ outdir: path.join(workRoot, 'first', 'cdktf.out'), env: STATE_ENV });
    second = synthesize({ outdir: path.join(workRoot, 'second', 'cdktf.out'), env: STATE_ENV });
  });

  afterAll(() => rmSync(workRoot, { recursive: true, force: true }));

  it('is byte-identical from one run to the next, asset zips included', () => {
    const files = filesUnder(first);
    expect(filesUnder(second)).toEqual(files);
    for (const stage of STAGE_NAMES) {
      expect(files, stage).toContain(`stacks/${stackName(stage)}/cdk.tf.json`);
      expect(files.filter((f) => f.startsWith(`stacks/${stackName(stage)}/assets/`) && f.endsWith('.zip')).length, stage).toBeGreaterThan(0);
    }
    const differing = files.filter((file) => !readFileSync(path.join(first, file)).equals(readFileSync(path.join(second, file))));
    expect(differing).toEqual([]);
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
