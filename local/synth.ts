/** Runs the cdktf app (infra/main.ts) in a child process on this Node, as `npm run synth` does. */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { REPO_ROOT } from './paths.ts';

/**
 * The node arguments of a synthesis. cdktf 0.21.0 (the final release) calls util.isArray, deprecated at runtime
 * since Node 22 (DEP0044): that one warning is silenced, every other one still prints.
 */
export function synthArguments(): string[] {
  return [createRequire(import.meta.url).resolve('tsx/cli'), '--disable-warning=DEP0044', path.join(REPO_ROOT, 'infra', 'main.ts')];
}

export function synthesizeStacks(options: { outdir?: string; env?: NodeJS.ProcessEnv; quiet?: boolean } = {}): void {
  const env = { ...(options.env ?? process.env), ...(options.outdir ? { CDKTF_OUTDIR: options.outdir } : {}) };
  execFileSync(process.execPath, synthArguments(), { cwd: REPO_ROOT, env, stdio: options.quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit' });
}
