/**
 * `npm run bench -- start [--runs 5]`: how long `npm start` takes until it serves (the banner's ws:// URL printed),
 * when nothing changed since the last synthesis: issue #20's target is 10 s. Beside it, in the same run, the
 * baseline: a process of the same Node and loader (tsx) importing an empty module, what any TypeScript script of
 * this project costs before its own work. Runs alternate subject and baseline, so load drifting weighs on both.
 *
 * Each `npm start` listens on a free port (`--port 0`) with the default state directory, as a developer's second
 * start would, and is stopped with SIGTERM once it has printed its URL.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../local/paths.ts';
import { synthesizeIfChanged } from '../local/synth.ts';
import { loadAverage, revision } from './run-context.ts';
import { median } from './statistics.ts';

const TARGET_MS = 10_000;
const SERVE_TIMEOUT_MS = 180_000;
const URL_LINE = /^ws:\/\/127\.0\.0\.1:\d+\/\w+$/m;

const { values, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: 'string', default: '5' } } });
if (positionals[0] !== 'start') throw new Error(`unknown benchmark ${positionals[0] ?? '(none)'}; this is start`);
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 3) throw new Error('--runs must be a whole number >= 3');

/** Spawns a process group and resolves with the milliseconds until `ready` matched its output; then ends it. */
function timeUntil(command: string, args: readonly string[], ready: RegExp | 'exit'): Promise<number> {
  const started = performance.now();
  const child = spawn(command, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const output: string[] = [];
  let served: number | undefined;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      process.kill(-(child.pid as number), 'SIGKILL');
      reject(new Error(`${args.join(' ')}: not ready after ${SERVE_TIMEOUT_MS} ms:\n${output.join('')}`));
    }, SERVE_TIMEOUT_MS);
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      output.push(chunk.toString());
      if (ready !== 'exit' && served === undefined && ready.test(output.join(''))) {
        served = performance.now() - started;
        clearTimeout(timer);
        process.kill(-(child.pid as number), 'SIGTERM');
      }
    });
    child.once('exit', (code) => {
      if (served !== undefined) return resolve(served);
      if (ready !== 'exit') return reject(new Error(`${args.join(' ')} exited with ${code} before it was ready:\n${output.join('')}`));
      clearTimeout(timer);
      if (code === 0) resolve(performance.now() - started);
      else reject(new Error(`${args.join(' ')} exited with ${code}:\n${output.join('')}`));
    });
  });
}

// The target is for a start with nothing changed: bring the synthesis up to date first, unmeasured.
synthesizeIfChanged({ beforeSynthesis: () => console.log('synthesizing first (not measured) ...') });
const emptyDir = mkdtempSync(path.join(os.tmpdir(), 'wschat-bench-start-'));
const emptyModule = path.join(emptyDir, 'empty.ts');
writeFileSync(emptyModule, 'export {};\n');
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

const startMs: number[] = [];
const baselineMs: number[] = [];
const loadBefore = loadAverage();
try {
  for (let run = 0; run < runs; run++) {
    startMs.push(await timeUntil('npm', ['start', '--', '--port', '0'], URL_LINE));
    baselineMs.push(await timeUntil(process.execPath, ['--import', tsxLoader, emptyModule], 'exit'));
    console.log(`run ${run + 1}/${runs}: npm start ${Math.round(startMs.at(-1) as number)} ms, baseline ${Math.round(baselineMs.at(-1) as number)} ms`);
  }
} finally {
  rmSync(emptyDir, { recursive: true, force: true });
}
const start = median(startMs) as number;
const baseline = median(baselineMs) as number;
console.log(`
npm start until it serves, nothing changed since the last synthesis (${revision()}; load average ${loadBefore} → ${loadAverage()})
  npm start        median ${Math.round(start)} ms of ${runs} (${startMs.map(Math.round).join(', ')})
  baseline         median ${Math.round(baseline)} ms (Node ${process.version} + tsx importing an empty module)
  ratio            ${(start / baseline).toFixed(1)}× the baseline
  target ≤ ${TARGET_MS / 1000} s   ${start <= TARGET_MS ? 'met' : `missed by ${((start - TARGET_MS) / 1000).toFixed(1)} s`}`);
if (start > TARGET_MS) process.exitCode = 1;
