/**
 * Runs the cdktf app (infra/main.ts) in a child process on this Node, as `npm run synth` does, and skips it when
 * nothing it reads has changed since the output was written.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { REPO_ROOT } from './paths.ts';

/** Everything a synthesis reads: the app, the bundled functions and catalogs, and the pinned dependencies. */
const SYNTH_INPUTS = ['infra', 'functions', 'dashboards', 'package-lock.json', 'cdktf.json', 'tsconfig.json'];
/** Written last into a finished output: its presence means the output is whole, its content what it was made from. */
export const STAMP_FILE = '.synth-inputs.sha256';

/**
 * The node arguments of a synthesis. cdktf 0.21.0 (the final release) calls util.isArray, deprecated at runtime
 * since Node 22 (DEP0044): that one warning is silenced, every other one still prints.
 */
export function synthArguments(): string[] {
  return [createRequire(import.meta.url).resolve('tsx/cli'), '--disable-warning=DEP0044', path.join(REPO_ROOT, 'infra', 'main.ts')];
}

export interface SynthOptions {
  readonly outdir?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Keep the app's stdout (it names what it wrote) out of the caller's output; errors still print. */
  readonly quiet?: boolean;
}

export function synthesizeStacks(options: SynthOptions = {}): void {
  const env = { ...(options.env ?? process.env), ...(options.outdir ? { CDKTF_OUTDIR: options.outdir } : {}) };
  execFileSync(process.execPath, synthArguments(), { cwd: REPO_ROOT, env, stdio: options.quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit' });
}

function listFiles(entry: string): string[] {
  const full = path.join(REPO_ROOT, entry);
  if (!existsSync(full)) return [];
  if (!statSync(full).isDirectory()) return [entry];
  return readdirSync(full, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(REPO_ROOT, path.join(d.parentPath, d.name)));
}

/** A digest of every input file and of the state-backend settings (WSCHAT_STATE_*) the app reads from the environment. */
export function synthInputsDigest(env: NodeJS.ProcessEnv = process.env): string {
  const hash = createHash('sha256');
  for (const file of SYNTH_INPUTS.flatMap(listFiles).sort()) {
    hash.update(`${file}\0`).update(readFileSync(path.join(REPO_ROOT, file))).update('\0');
  }
  for (const [key, value] of Object.entries(env).filter(([k]) => k.startsWith('WSCHAT_STATE_')).sort()) hash.update(`${key}=${value}\0`);
  return hash.digest('hex');
}

/** True when `outdir` holds a whole synthesis of exactly these inputs. */
export function synthIsCurrent(outdir: string, digest: string): boolean {
  try {
    return readFileSync(path.join(outdir, STAMP_FILE), 'utf8') === digest;
  } catch {
    return false;
  }
}

/**
 * Synthesizes into `outdir` unless it already holds the output of the same inputs. The new output is written
 * beside it and swapped in whole, so a reader (a concurrent test run, a running stack) never sees half of one.
 */
export function synthesizeIfChanged(options: SynthOptions & { beforeSynthesis?: () => void } = {}): 'current' | 'synthesized' {
  const outdir = options.outdir ?? path.join(REPO_ROOT, 'cdktf.out');
  const digest = synthInputsDigest(options.env);
  if (synthIsCurrent(outdir, digest)) return 'current';
  options.beforeSynthesis?.();
  // Its own parent: the app builds bundles next to its output, so concurrent syntheses never share build files.
  const stagingRoot = `${outdir}.staging-${process.pid}`;
  const staging = path.join(stagingRoot, 'cdktf.out');
  rmSync(stagingRoot, { recursive: true, force: true });
  try {
    // Quiet: the app would name the staging directory as where it wrote.
    synthesizeStacks({ env: options.env, outdir: staging, quiet: true });
    writeFileSync(path.join(staging, STAMP_FILE), digest);
    const previous = path.join(stagingRoot, 'previous');
    if (existsSync(outdir)) renameSync(outdir, previous);
    renameSync(staging, outdir);
  } finally {
    rmSync(stagingRoot, { recursive: true, force: true });
  }
  return 'synthesized';
}
