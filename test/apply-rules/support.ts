/** What every apply-rule suite shares: the synthesized stacks, their resources, and the data files. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { inject } from 'vitest';
import { readPlan, resourcesOf, type Plan } from '../support/plan.ts';

export { readPlan, resourcesOf, type Plan };

/** Every stack the global setup synthesized (one per stage). */
export function synthesizedStacks(): string[] {
  return readdirSync(path.join(inject('synthDir'), 'stacks'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

/** A data file of test/apply-rules/data/, which names its source and the date it was read. */
export function ruleData<T>(file: string): T & { source: string; read: string } {
  return JSON.parse(readFileSync(path.join(import.meta.dirname, 'data', file), 'utf8')) as T & { source: string; read: string };
}

/** Every data file under data/ (recursively), for the test that each states where it comes from. */
export function dataFiles(dir = path.join(import.meta.dirname, 'data')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? dataFiles(path.join(dir, entry.name)).map((f) => path.join(entry.name, f)) : [entry.name],
  );
}

/** Resources of a type with their logical names, e.g. for messages that say which alarm broke a rule. */
export function named(plan: Plan, type: string): [string, Record<string, unknown>][] {
  return Object.entries(plan.resource[type] ?? {});
}
