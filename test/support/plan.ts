/** Helpers for tests that read a synthesized stack. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { inject } from 'vitest';

export type Plan = {
  resource: Record<string, Record<string, Record<string, unknown>>>;
  variable?: Record<string, unknown>;
  output?: Record<string, unknown>;
  provider?: Record<string, unknown>;
  terraform?: Record<string, unknown>;
};

export function stackDir(stack: string): string {
  return path.join(inject('synthDir'), 'stacks', stack);
}

export function readPlan(stack: string): Plan {
  return JSON.parse(readFileSync(path.join(stackDir(stack), 'cdk.tf.json'), 'utf8')) as Plan;
}

export function resourcesOf(plan: Plan, type: string): Record<string, unknown>[] {
  return Object.values(plan.resource[type] ?? {});
}
