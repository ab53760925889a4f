/**
 * The bench scripts refuse bad flags with a message that names the flag, before they boot anything: a typo must
 * not cost a fifteen-minute run that measures the wrong thing.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../local/paths.ts';

function run(script: string, args: readonly string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', path.join(REPO_ROOT, 'bench', script), ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stderr: result.stderr };
}

describe('bench flags', () => {
  it.each([
    ['main.ts', ['nosuch'], /unknown benchmark nosuch; available: coldstart, connections, fanout, start, storm/],
    ['main.ts', ['coldstart', '--runs', '4'], /--runs must be a whole number >= 5/],
    ['main.ts', ['coldstart', '--runs', 'many'], /--runs must be a whole number >= 5/],
    ['main.ts', ['coldstart', '--stack-dir', '/nonexistent/wschat-dev'], /\/nonexistent\/wschat-dev has no plan: run npm run synth first/],
    ['main.ts', ['connections', '--count', '0'], /--count must be a whole number >= 1/],
    ['main.ts', ['connections', '--rounds', '1.5'], /--rounds must be a whole number >= 1/],
    ['main.ts', ['connections', '--timeout-s', 'soon'], /--timeout-s must be a positive number/],
    ['main.ts', ['fanout', '--sizes', '100,ten'], /--sizes must be whole numbers >= 1/],
    ['main.ts', ['fanout', '--rounds', '0'], /--rounds must be a whole number >= 1/],
    ['main.ts', ['start', '--runs', '2'], /--runs must be a whole number >= 3/],
    ['main.ts', ['start', '--runs', 'x'], /--runs must be a whole number >= 3/],
    ['main.ts', ['storm', '--clients', '0'], /--clients must be a whole number >= 1/],
    ['main.ts', ['storm', '--clients', '2.5'], /--clients must be a whole number >= 1/],
    ['main.ts', ['storm', '--provisioned', 'maybe'], /--provisioned must be on, off or both/],
    ['main.ts', ['storm', '--timeout-s', '0'], /--timeout-s must be a positive number/],
    ['soak.ts', ['--minutes', 'ten'], /--minutes, --clients and --sends-per-second must be positive numbers/],
    ['soak.ts', ['--minutes', '3', '--warmup-minutes', '3'], /--minutes \(3\) must exceed --warmup-minutes \(3\) by at least 2/],
    ['soak.ts', ['--minutes', '4', '--warmup-minutes', '3'], /--minutes \(4\) must exceed --warmup-minutes \(3\) by at least 2/],
    ['load.ts', ['--no-synth', '--clients', 'many'], /--clients must be a non-negative number, got "many"/],
  ] as const)('%s %j is refused', (script, args, message) => {
    const { status, stderr } = run(script, args);
    expect(status).not.toBe(0);
    expect(stderr).toMatch(message);
  });
});
