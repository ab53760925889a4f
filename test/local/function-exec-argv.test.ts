/** What a local function environment inherits of the stack process's Node options (local/lambda/function-pool.ts). */
import { Worker } from 'node:worker_threads';
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

  it("drops V8's process-wide options, in every spelling, with their values", () => {
    expect(functionExecArgv(['--expose-gc', '--expose_gc', '--max-semi-space-size', '16', '--max-old-space-size=512', '--stack-trace-limit=50'])).toEqual([]);
  });

  it('keeps every other option, in order, and their values', () => {
    expect(functionExecArgv(['--cpu-prof', '--cpu-prof-dir=/tmp/prof', '--import', 'tsx', '--expose-gc', '--no-warnings', '--max-semi-space-size', '16', '--disable-warning=DEP0044'])).toEqual([
      '--cpu-prof',
      '--cpu-prof-dir=/tmp/prof',
      '--no-warnings',
      '--disable-warning=DEP0044',
    ]);
  });

  it('gives a Worker options it starts with, from a parent run with V8 options (the connections bench runs with --expose-gc)', async () => {
    const parent = ['--expose-gc', '--max-old-space-size=512', '--stack-trace-limit', '50', '--no-warnings', '--import', 'tsx'];
    // The positive control: the parent's options as they are make the Worker refuse to start.
    expect(() => new Worker('', { eval: true, execArgv: parent.filter((o) => o !== '--import' && o !== 'tsx') })).toThrow(/invalid execArgv flags/);
    const worker = new Worker("require('node:worker_threads').parentPort.postMessage('started')", { eval: true, execArgv: functionExecArgv(parent) });
    expect(await new Promise((resolve) => worker.once('message', resolve))).toBe('started');
    await worker.terminate();
  });
});
