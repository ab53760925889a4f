/**
 * `npm run drill -- <alarm id> [--time-scale 60] [--no-synth]`: boots the local stack, injects the alarm's
 * fault under traffic, and waits for the plan's alarm to fire and recover. `--list` shows every alarm and SLO burn-rate tier.
 * The time scale defaults to 60, or to the lowest a requested drill allows (the canary's: 10).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ALARMS } from '../dashboards/alarms.ts';
import { drillableIds, drillRequirements, runDrill } from './drills.ts';
import { synthesizedStackDir } from './paths.ts';
import { startLocalStack } from './stack.ts';
import { synthesizeIfChanged } from './synth.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'time-scale': { type: 'string' },
    'no-synth': { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
  },
});

if (values.list || positionals.length === 0) {
  const ids = drillableIds();
  const idWidth = Math.max(...ids.map((a) => a.id.length)) + 1;
  for (const { id, severity, drill } of ids) console.log(`${id.padEnd(idWidth)} ${severity.padEnd(7)} ${drill}`);
  process.exit(positionals.length === 0 && !values.list ? 2 : 0);
}

// Drills that need the stack's schedules (the canary's) get them, and a time scale that a canary run fits in.
const requirements = positionals.flatMap((id) => {
  const required = ALARMS.some((a) => a.id === id) ? drillRequirements(id) : undefined;
  return required ? [required] : [];
});
const timeScale = values['time-scale'] === undefined ? Math.min(60, ...requirements.map((r) => r.maxTimeScale)) : Number(values['time-scale']);
if (!(timeScale >= 1)) {
  console.error(`error: --time-scale must be a number >= 1, got "${values['time-scale']}"`);
  process.exit(2);
}
if (!values['no-synth']) {
  synthesizeIfChanged();
}

const stack = await startLocalStack({
  stackDir: synthesizedStackDir('dev'),
  port: 0,
  stateDir: mkdtempSync(path.join(tmpdir(), 'wschat-drill-')),
  timeScale,
  runSchedules: requirements.length > 0,
});
console.log(`local stack on ${stack.url} (dashboard http://127.0.0.1:${stack.port}/_dashboard), periods compressed ${timeScale}x`);
let failed = 0;
for (const id of positionals) {
  try {
    const result = await runDrill(stack, id, (line) => console.log(`  ${line}`));
    console.log(`PASS ${id}: ${result.alarm} fired after ${result.firedAfterMs} ms and recovered after ${result.recoveredAfterMs} ms`);
  } catch (error) {
    failed++;
    console.log(`FAIL ${id}: ${(error as Error).message}`);
  }
}
await stack.close();
process.exit(failed ? 1 : 0);
