/** What a benchmark prints about the run it measured: the code's commit and the machine's load. */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { REPO_ROOT } from '../local/paths.ts';

/** The checkout's commit, marked when tracked files have uncommitted changes. */
export function revision(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    return dirty ? `${commit} with uncommitted changes` : commit;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

/** The 1, 5 and 15-minute load averages. */
export const loadAverage = (): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
