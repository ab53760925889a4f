/** What a local function environment inherits of the stack process's Node options (local/lambda/function-pool.ts). */
import { describe, expect, it } from 'vitest';
import { functionExecArgv } from '../../local/lambda/function-pool.ts';

describe('function environment Node options', () => {
  it("drops tsx's loader, in both spellings, and source maps", () => {
    expect(
      functionExecArgv([
        '--require',
        '/repo/node_modules/tsx/dist/preflight.cjs',
        '--import',
        'file:///repo/node_modules/tsx/dist/loader.mjs',
        '--import=tsx',
        '-r',
        'ts-node/register',
        '--loader=ts-node/esm',
        '--experimental-loader',
        'hooks.mjs',
        '--enable-source-maps',
      ]),
    ).toEqual([]);
  });

  it('keeps every other option, in order, and their values', () => {
    expect(functionExecArgv(['--cpu-prof', '--cpu-prof-dir=/tmp/prof', '--import', 'tsx', '--expose-gc', '--max-semi-space-size', '16'])).toEqual([
      '--cpu-prof',
      '--cpu-prof-dir=/tmp/prof',
      '--expose-gc',
      '--max-semi-space-size',
      '16',
    ]);
  });
});
