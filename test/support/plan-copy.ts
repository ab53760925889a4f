/**
 * Boots the local stack on an edited copy of the synthesized dev plan (a lowered throttle, a removed permission,
 * an extra function), the way an SRE's change to the Terraform would reach it. The copy shares the original's
 * assets through a symlink, so no bundle is copied.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ENV } from '../../functions/catalog/env.ts';
import { bootStack, type BootedStack, type StackOptions } from './local-stack.ts';
import { stackDir } from './plan.ts';

export type PlanJson = {
  resource: Record<string, Record<string, Record<string, unknown>>>;
} & Record<string, unknown>;

export interface EditedStack extends BootedStack {
  readonly planDir: string;
}

/** The one resource of `type` whose key contains `nameContains` (the construct path), e.g. ('aws_iam_role_policy', 'send'). */
export function resourceOf(plan: PlanJson, type: string, nameContains: string): Record<string, unknown> {
  const matches = Object.entries(plan.resource[type] ?? {}).filter(([name]) => name.includes(`_${nameContains}_`));
  if (matches.length !== 1) throw new Error(`expected one ${type} named like ${nameContains}, found ${matches.length}`);
  return (matches[0] as [string, Record<string, unknown>])[1];
}

export function editedPlanDir(edit: (plan: PlanJson, dir: string) => void): string {
  const source = stackDir('wschat-dev');
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'wschat-plan-')), 'wschat-dev');
  mkdirSync(dir);
  symlinkSync(path.join(source, 'assets'), path.join(dir, 'assets'));
  const plan = JSON.parse(readFileSync(path.join(source, 'cdk.tf.json'), 'utf8')) as PlanJson;
  edit(plan, dir);
  writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify(plan, null, 2));
  return dir;
}

export async function bootEditedStack(edit: (plan: PlanJson, dir: string) => void, options: StackOptions = {}): Promise<EditedStack> {
  const planDir = editedPlanDir(edit);
  const stack = await bootStack(planDir, options);
  const closeStack = stack.close.bind(stack);
  return Object.assign(stack, {
    planDir,
    async close() {
      await closeStack();
      rmSync(path.dirname(planDir), { recursive: true, force: true });
    },
  });
}

/**
 * Adds a function to a plan copy: `source` is its whole ESM handler module (bundled with esbuild so it may import
 * packages such as @aws-sdk/client-lambda), zipped as the plan's bundles are, with its own role and inline policy.
 */
export function addFunction(
  plan: PlanJson,
  dir: string,
  fn: { id: string; source: string; timeout?: number; reservedConcurrency?: number; statements?: unknown[] },
): string {
  const functionName = `wschat-dev-${fn.id}`;
  const work = path.join(dir, 'fixtures', fn.id);
  mkdirSync(work, { recursive: true });
  const entry = path.join(work, 'entry.mjs');
  writeFileSync(entry, fn.source);
  const root = path.resolve(import.meta.dirname, '..', '..');
  execFileSync(
    path.join(root, 'node_modules', '.bin', 'esbuild'),
    [entry, '--bundle', '--platform=node', '--format=esm', `--outfile=${path.join(work, 'out', 'index.mjs')}`, '--log-level=warning',
      // As the plan's bundles do: bundled CommonJS packages (the AWS SDK) still call require for Node built-ins.
      "--banner:js=import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);"],
    // The entry lives outside the project; NODE_PATH lets it import the project's packages.
    { cwd: root, env: { ...process.env, NODE_PATH: path.join(root, 'node_modules') } },
  );
  execFileSync('zip', ['-q', '-j', path.join(work, 'archive.zip'), path.join(work, 'out', 'index.mjs')]);
  plan.resource.aws_iam_role ??= {};
  plan.resource.aws_iam_role[`fixture_${fn.id}_role`] = { name: `${functionName}-fn`, assume_role_policy: '{}' };
  plan.resource.aws_iam_role_policy ??= {};
  plan.resource.aws_iam_role_policy[`fixture_${fn.id}_policy`] = {
    role: `\${aws_iam_role.fixture_${fn.id}_role.id}`,
    name: 'fixture',
    policy: JSON.stringify({ Version: '2012-10-17', Statement: fn.statements ?? [{ Effect: 'Allow', Action: 'logs:PutLogEvents', Resource: '*' }] }),
  };
  (plan.resource.aws_lambda_function ??= {})[`fixture_${fn.id}`] = {
    function_name: functionName,
    filename: `fixtures/${fn.id}/archive.zip`,
    handler: 'index.handler',
    runtime: 'nodejs22.x',
    memory_size: 128,
    timeout: fn.timeout ?? 3,
    role: `\${aws_iam_role.fixture_${fn.id}_role.arn}`,
    source_code_hash: `fixture-${fn.id}-${Date.now()}`,
    ...(fn.reservedConcurrency === undefined ? {} : { reserved_concurrent_executions: fn.reservedConcurrency }),
  };
  return functionName;
}

/**
 * A fixture handler that holds its environment (logging `HOLDING <gate>`) until the file its event's `gate` names
 * exists: a test decides when it ends, with no race against the clock.
 */
export const GATED_HANDLER = `
import { existsSync } from 'node:fs';
export const handler = async (event) => {
  console.log('HOLDING ' + event.gate);
  while (!existsSync(event.gate)) await new Promise((r) => setTimeout(r, 5));
  return 'released';
};`;

/** A plan edit: the send function's rate-limit window set to `windowMs` (within SEND_RATE_BOUNDS). */
/** Sets the send function's message retention, so a test's messages expire after `seconds` of its clock. */
export function messageRetention(seconds: number): (plan: PlanJson) => void {
  return (plan) => {
    const send = resourceOf(plan, 'aws_lambda_function', 'send') as { environment: { variables: Record<string, string> } };
    send.environment.variables[ENV.messageRetentionSeconds] = String(seconds);
  };
}

export function sendRateWindow(windowMs: number): (plan: PlanJson) => void {
  return (plan) => {
    const send = resourceOf(plan, 'aws_lambda_function', 'send') as { environment: { variables: Record<string, string> } };
    send.environment.variables[ENV.sendRateWindowMs] = String(windowMs);
  };
}
