import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stackName, type StageName } from '../infra/config/stages.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Machine-local state: extracted bundles and the development identity provider's key. Gitignored. */
export const STATE_DIR = path.join(REPO_ROOT, '.local');

export function synthesizedStackDir(stage: StageName, outdir = path.join(REPO_ROOT, 'cdktf.out')): string {
  return path.join(outdir, 'stacks', stackName(stage));
}
