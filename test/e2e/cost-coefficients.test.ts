/**
 * The committed cost coefficients (ops/cost/coefficients.json) are the work the code does now: this file measures
 * every action again on the dev plan and fails when a count differs — regenerate them with
 * `npx tsx ops/cost/measure.ts` and commit the file. Only counts are compared (invocations, messages, connects,
 * DynamoDB requests and request units, custom metric series, each stage's fixed resources): billed milliseconds
 * and log bytes depend on this machine and its load.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STAGE_NAMES, stackName } from '../../infra/config/stages.ts';
import { fixedResources, MEASURED_ROOM_SIZES, readCoefficients, type ActionMeasurement } from '../../ops/cost/coefficients.ts';
import { measureActions, type MeasurementRun } from '../../ops/cost/measurement.ts';
import { bootDevStack, type BootedStack } from '../support/local-stack.ts';
import { readPlan } from '../support/plan.ts';

const REGENERATE = 'the code does different work per action than ops/cost/coefficients.json says: run `npx tsx ops/cost/measure.ts` and commit the file';

/** The series of a measurement that are counts, not timings or sizes of this machine's output. */
function counts(work: ActionMeasurement | undefined): Record<string, number> {
  return Object.fromEntries(Object.entries(work ?? {}).filter(([key]) => !key.startsWith('lambda.billedMs.') && key !== 'logs.bytes'));
}

const committed = readCoefficients();
let stack: BootedStack;
let run: MeasurementRun;

beforeAll(async () => {
  stack = await bootDevStack();
  // Every line the stack printed is a log line of some source; its bytes are only a progress signal here.
  const logBytes = () => stack.printed.reduce((sum, line) => sum + Buffer.byteLength(line), 0);
  run = await measureActions(stack, logBytes, MEASURED_ROOM_SIZES);
}, 1_200_000);

afterAll(async () => {
  await stack?.close();
});

describe('ops/cost/coefficients.json', () => {
  it('was measured on the dev plan, at a commit, in rooms of every measured size', () => {
    expect(committed.stage).toBe('dev');
    expect(committed.measuredAt.commit).toMatch(/^[0-9a-f]{40}$/);
    for (const size of MEASURED_ROOM_SIZES) for (const action of ['join', 'send', 'typing', 'history', 'disconnect']) expect(committed.actions).toHaveProperty(`${action}.${size}`);
  });

  it('holds the actions measured now, each with the same counts', () => {
    expect(Object.keys(committed.actions).sort(), REGENERATE).toEqual(Object.keys(run.actions).sort());
    for (const action of Object.keys(run.actions)) expect(counts(committed.actions[action]), `${action}: ${REGENERATE}`).toEqual(counts(run.actions[action]));
    // The comparison has something to compare: a send into the largest room posts to every member.
    expect(run.actions[`send.${MEASURED_ROOM_SIZES.at(-1)}`]!['apigateway.MessageCount']).toBeGreaterThanOrEqual(MEASURED_ROOM_SIZES.at(-1)!);
  });

  it('holds the custom metric series the functions publish', () => {
    expect(committed.customMetricSeries, REGENERATE).toBe(run.customMetricSeries);
  });

  it.each(STAGE_NAMES)("holds the %s plan's fixed-cost resources", (stage) => {
    expect(committed.fixed[stage], REGENERATE).toEqual(fixedResources(readPlan(stackName(stage))));
  });
});
