/**
 * Runs the real terraform CLI on every synthesized stack, offline: init from a provider filesystem mirror,
 * validate, plan with fake credentials (a test-only override in a temp copy of the stack), then reads the
 * saved plan with `terraform show -json`; a second plan with invalid deployment values must be refused.
 *
 * Missing terraform or provider mirror FAILS this suite (with what is missing). Set SKIP_TERRAFORM=1 to skip it.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ENV } from '../../functions/catalog/env.ts';
import { FUNCTION_NAMES } from '../../functions/catalog/functions.ts';
import { TABLE_KEYS } from '../../functions/catalog/tables.ts';
import { SERVICE, STAGES, stackName, type StageConfig, type StageName } from '../../infra/config/stages.ts';
import { REPO_ROOT } from '../../local/paths.ts';
import { managedPolicyViolations, trustedService, trustPolicyViolations } from '../support/iam.ts';
import { namingViolations } from '../support/naming.ts';
import { readPlan } from '../support/plan.ts';
import {
  findProviderMirror,
  findTerraform,
  mirrorCandidates,
  mustRun,
  prepareWorkdir,
  providerDirIn,
  runTerraform,
  terraformEnv,
  terraformPlatform,
  writeCliConfig,
  type TerraformResult,
} from '../support/terraform.ts';

const SKIP = process.env.SKIP_TERRAFORM === '1';
if (SKIP) {
  console.warn(
    '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' +
      '!!! SKIP_TERRAFORM=1: the real-terraform suite (init/validate/plan) is SKIPPED. !!!\n' +
      '!!! The synthesized stacks were NOT validated or planned by terraform.          !!!\n' +
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n',
  );
}

const synthDir = inject('synthDir');
const stacksRoot = path.join(synthDir, 'stacks');
const STACKS = readdirSync(stacksRoot, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

/** Every resource type a deployable stage must plan, whatever its configuration. */
const EXPECTED_TYPES = [
  'aws_apigatewayv2_api',
  'aws_apigatewayv2_route',
  'aws_apigatewayv2_integration',
  'aws_apigatewayv2_authorizer',
  'aws_apigatewayv2_stage',
  'aws_apigatewayv2_deployment',
  'aws_lambda_function',
  'aws_lambda_permission',
  'aws_iam_role',
  'aws_iam_role_policy',
  'aws_dynamodb_table',
  'aws_cloudwatch_log_group',
  'aws_budgets_budget',
  'aws_sns_topic_policy',
  'aws_s3_bucket',
  'aws_s3_bucket_public_access_block',
  'aws_s3_bucket_ownership_controls',
  'aws_s3_bucket_server_side_encryption_configuration',
  'aws_s3_bucket_policy',
  'aws_s3_bucket_cors_configuration',
  'aws_s3_bucket_lifecycle_configuration',
  // The canary: its schedule and its client secret.
  'aws_cloudwatch_event_rule',
  'aws_cloudwatch_event_target',
  'aws_secretsmanager_secret',
  'aws_secretsmanager_secret_version',
] as const;

/** The stage's own audit trail and its key and bucket (planned while no organization trail is declared). */
const AUDIT_TYPES = [
  'aws_cloudtrail',
  'aws_kms_key',
  'aws_kms_key_policy',
  'aws_s3_bucket',
  'aws_s3_bucket_policy',
  'aws_s3_bucket_public_access_block',
  'aws_s3_bucket_ownership_controls',
  'aws_s3_bucket_versioning',
  'aws_s3_bucket_server_side_encryption_configuration',
  'aws_s3_bucket_lifecycle_configuration',
];

/** The example deployment values of a stage, planned below as an SRE would: terraform plan -var-file=… */
function exampleTfvars(stage: string): string {
  return path.join(REPO_ROOT, 'infra', 'examples', `${stage}.tfvars`);
}

/** The variable names an example tfvars file sets (one `name = value` per line). */
function tfvarsNames(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/^([a-z_][a-z0-9_]*)\s*=/gm)].map((m) => m[1]!).sort();
}

/** The types a stage's optional features add, by the stage configuration that turns them on. */
function featureTypes(config: StageConfig): string[] {
  return [
    ...(config.identityProvider === 'cognito'
      ? ['aws_cognito_user_pool', 'aws_cognito_user_pool_client', 'aws_cognito_resource_server', 'aws_cognito_user_pool_domain']
      : []),
    ...(config.customDomain ? ['aws_apigatewayv2_domain_name', 'aws_apigatewayv2_api_mapping'] : []),
    ...(config.manageApiGatewayAccount ? ['aws_api_gateway_account', 'aws_iam_role_policy_attachment'] : []),
    ...(config.audit.trail ? AUDIT_TYPES : []),
  ];
}

const IDENTITY_VARS = {
  jwt_issuer: 'https://issuer.terraform-test.invalid/',
  jwt_audience: 'wschat-terraform-test',
  jwks_url: 'https://issuer.terraform-test.invalid/.well-known/jwks.json',
  canary_token_endpoint: 'https://issuer.terraform-test.invalid/oauth2/token',
  canary_client_id: 'wschat-terraform-test-canary',
  canary_client_secret: 'terraform-test-secret',
  canary_scope: 'wschat/canary',
} as const;

/** A valid value for every deployment variable a stack may require, as an SRE's tfvars would hold. */
function validValues(config: StageConfig): Record<string, string> {
  return {
    ...IDENTITY_VARS,
    kms_key_arn: `arn:aws:kms:${config.region}:123456789012:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0`,
    custom_domain_name: 'chat.terraform-test.example.com',
    custom_domain_certificate_arn: `arn:aws:acm:${config.region}:123456789012:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0`,
    attachment_cors_origins: '["https://chat.terraform-test.example.com"]',
  };
}

/** A value each validated variable must refuse, and what its error says. */
const INVALID_VALUES: Record<string, { value: string; error: RegExp }> = {
  jwt_issuer: { value: ' ', error: /jwt_issuer must name the token issuer/ },
  jwt_audience: { value: '', error: /jwt_audience must name the token audience/ },
  jwks_url: { value: 'http://issuer.terraform-test.invalid/jwks.json', error: /jwks_url must be an https:\/\/ URL/ },
  canary_token_endpoint: { value: 'http://issuer.terraform-test.invalid/oauth2/token', error: /canary_token_endpoint must be an https:\/\/ URL/ },
  canary_client_id: { value: ' ', error: /canary_client_id must name the canary's machine client/ },
  canary_client_secret: { value: '', error: /canary_client_secret must hold the canary's client secret/ },
  canary_scope: { value: 'wschat/canary wschat/admin', error: /canary_scope must be one scope, without spaces/ },
  kms_key_arn: { value: 'alias/wschat', error: /kms_key_arn must be the ARN of a KMS key/ },
  custom_domain_name: { value: 'Chat.Example.com', error: /custom_domain_name must be a lowercase DNS host name/ },
  attachment_cors_origins: {
    value: '["https://chat.terraform-test.example.com/app"]',
    error: /attachment_cors_origins must list at least one origin, each\s+scheme:\/\/host\[:port\] without a path or wildcard/,
  },
  custom_domain_certificate_arn: {
    value: 'arn:aws:acm:ap-south-2:123456789012:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0',
    error: /custom_domain_certificate_arn must be the ARN of an ACM certificate in/,
  },
  monthly_budget_usd: { value: '0', error: /monthly_budget_usd must be a positive amount of USD per month/ },
  route53_zone_id: { value: 'example.com', error: /route53_zone_id must be empty or a Route 53 hosted zone id/ },
};

/** The variables of a stack (required or not) that validate their value. */
function validatedVariables(stack: string): string[] {
  return Object.keys(readPlan(stack).variable ?? {}).filter((name) => name in INVALID_VALUES).sort();
}

/** The variables a stack requires (no default): the -var arguments its plan needs. */
function requiredVariables(stack: string): string[] {
  const variables = (readPlan(stack).variable ?? {}) as Record<string, { default?: unknown }>;
  return Object.entries(variables)
    .filter(([, v]) => !('default' in v))
    .map(([name]) => name)
    .sort();
}

/**
 * The page target every plan is given (HCL list syntax, as -var takes it): a PagerDuty Events API v2 URL as an
 * SNS HTTPS subscription. Stages that require a page target refuse to plan without one.
 */
const PAGE_ENDPOINT = 'https://events.pagerduty.com/integration/0123456789abcdef0123456789abcdef/enqueue';
const PAGE_TARGET = { page_alarm_https_endpoints: JSON.stringify([PAGE_ENDPOINT]) };
/** Optional variables that validate their value: what each must refuse, and what its error says. */
const INVALID_OPTIONAL_VALUES: Record<string, { value: string; error: RegExp }> = {
  page_alarm_https_endpoints: { value: '["http://events.pagerduty.invalid/enqueue"]', error: /page_alarm_https_endpoints must hold https:\/\/ URLs only/ },
  runbook_base_url: { value: 'ftp://runbooks.invalid', error: /runbook_base_url must be an https:\/\/ URL/ },
};

function varArgs(values: Record<string, string>): string[] {
  return Object.entries(values).flatMap(([name, value]) => ['-var', `${name}=${value}`]);
}

interface ResourceChange {
  address: string;
  mode: 'managed' | 'data';
  type: string;
  name: string;
  change: { actions: string[]; after: Record<string, unknown> | null; after_unknown?: Record<string, unknown> };
}

interface ShownPlan {
  format_version: string;
  resource_changes?: ResourceChange[];
  variables?: Record<string, { value: unknown }>;
  output_changes?: Record<string, { actions: string[] }>;
  errored?: boolean;
  complete?: boolean;
  applyable?: boolean;
}

interface ValidateOutput {
  valid: boolean;
  error_count: number;
  warning_count: number;
  diagnostics: { severity: string; summary: string; detail?: string }[];
}

interface ProviderSchemas {
  provider_schemas: Record<string, { resource_schemas: Record<string, { block: { attributes?: Record<string, unknown> } }> }>;
}

/** One stack's terraform steps; validate and plan settle independently so each test reports its own step. */
interface StackRun {
  readonly validate: Promise<ValidateOutput>;
  readonly plan: Promise<ShownPlan>;
  /** A plan given a value every validated variable must refuse (none when the stack requires no such variable). */
  readonly invalidPlan: Promise<TerraformResult | undefined>;
  /** A plan given every required value but no page target (only run for stages that require one). */
  readonly unpagedPlan: Promise<TerraformResult | undefined>;
  /** Resource types whose schema has `tags_all`, i.e. that take the provider's default tags. */
  readonly taggable: Promise<ReadonlySet<string>>;
  /** A plan with the stage's example tfvars (infra/examples/<stage>.tfvars) and nothing else. */
  readonly examplePlan: Promise<ShownPlan>;
}

/** Which stage a stack directory belongs to. */
function stageOf(stack: string): StageName {
  const stage = (Object.keys(STAGES) as StageName[]).find((s) => stackName(s) === stack);
  if (!stage) throw new Error(`stack dir ${stack} is not the stack of any stage in infra/config/stages.ts`);
  return stage;
}

/** The AWS provider version the stacks pin (all stacks must pin the same one). */
function pinnedAwsVersion(): string {
  const versions = new Set(
    STACKS.map((stack) => {
      const required = readPlan(stack).terraform?.required_providers as Record<string, { version?: string }> | undefined;
      const version = required?.aws?.version;
      if (!version) throw new Error(`${stack}: terraform.required_providers.aws.version is not pinned`);
      return version;
    }),
  );
  if (versions.size !== 1) throw new Error(`stacks pin different AWS provider versions: ${[...versions].join(', ')}`);
  return [...versions][0]!;
}

/** What is missing to run terraform here, one line each (empty when everything is in place). */
function missingPrerequisites(): { terraform?: string; mirror?: string; problems: string[] } {
  const problems: string[] = [];
  const terraform = findTerraform();
  if (!terraform) {
    problems.push(
      `terraform binary not found: set TERRAFORM_BIN or put terraform on PATH (PATH=${process.env.PATH ?? ''})`,
    );
  }
  let mirror: string | undefined;
  try {
    const version = pinnedAwsVersion();
    mirror = findProviderMirror('aws', version);
    if (!mirror) {
      problems.push(
        `AWS provider ${version} (${terraformPlatform()}) filesystem mirror not found; looked for ` +
          mirrorCandidates()
            .map((root) => providerDirIn(root, 'hashicorp', 'aws', version))
            .join(', ') +
          ' (set TF_PROVIDER_MIRROR to the mirror root)',
      );
    }
  } catch (error) {
    problems.push((error as Error).message);
  }
  if (STACKS.length === 0) problems.push(`no stack directories under ${stacksRoot}`);
  return { terraform, mirror, problems };
}

describe.skipIf(SKIP)('terraform init / validate / plan on every synthesized stack', () => {
  const prerequisites = SKIP ? { problems: [] } : missingPrerequisites();
  const runs = new Map<string, StackRun>();
  let workRoot: string | undefined;
  let taggableTypes: Promise<Set<string>> | undefined;

  beforeAll(() => {
    if (prerequisites.problems.length > 0) {
      const message = `terraform suite cannot run:\n  - ${prerequisites.problems.join('\n  - ')}\n(set SKIP_TERRAFORM=1 to skip this suite explicitly)`;
      console.error(message);
      throw new Error(message);
    }
    const terraform = prerequisites.terraform!;
    workRoot = mkdtempSync(path.join(os.tmpdir(), 'wschat-terraform-'));
    const env = terraformEnv(writeCliConfig(workRoot, prerequisites.mirror!));
    const opts = (cwd: string) => ({ cwd, env, timeoutMs: 150_000 });

    // Stacks run in parallel; each test awaits its stack's step, so a failure names the stack and the step.
    for (const stack of STACKS) {
      const config: StageConfig = STAGES[stageOf(stack)];
      const required = requiredVariables(stack);
      const unknown = required.filter((name) => !(name in validValues(config)));
      const values = Object.fromEntries(required.map((name) => [name, validValues(config)[name]!]));
      const initialized = (async () => {
        if (unknown.length > 0) throw new Error(`${stack} requires variables this suite has no test value for: ${unknown.join(', ')}`);
        const dir = prepareWorkdir(path.join(stacksRoot, stack), workRoot!);
        await mustRun(terraform, ['init', '-input=false', '-no-color'], opts(dir));
        return dir;
      })();
      const validate = initialized.then(async (dir) => {
        const result = await runTerraform(terraform, ['validate', '-json', '-no-color'], opts(dir));
        try {
          return JSON.parse(result.stdout) as ValidateOutput;
        } catch {
          throw new Error(`${stack}: terraform validate -json printed no JSON (exit ${result.code})\n${result.stderr}\n${result.stdout}`);
        }
      });
      // After validate: both would otherwise load the configuration and provider in the same dir at once.
      const plan = validate
        .catch(() => undefined)
        .then(async () => {
          const dir = await initialized;
          await mustRun(terraform, ['plan', '-input=false', '-no-color', '-out=plan.bin', ...varArgs(values), ...varArgs(PAGE_TARGET)], opts(dir));
          const shown = await mustRun(terraform, ['show', '-json', '-no-color', 'plan.bin'], opts(dir));
          return JSON.parse(shown.stdout) as ShownPlan;
        });
      // The provider's schema is the same for every stack (one mirror, one version): read once, after the first plan.
      const readsSchema = taggableTypes === undefined;
      taggableTypes ??= plan
        .catch(() => undefined)
        .then(async () => {
          const dir = await initialized;
          const schema = await mustRun(terraform, ['providers', 'schema', '-json', '-no-color'], opts(dir));
          const schemas = (JSON.parse(schema.stdout) as ProviderSchemas).provider_schemas;
          const aws = schemas['registry.terraform.io/hashicorp/aws'];
          if (!aws) throw new Error(`${stack}: no schema for registry.terraform.io/hashicorp/aws in ${Object.keys(schemas).join(', ')}`);
          return new Set(
            Object.entries(aws.resource_schemas)
              .filter(([, s]) => s.block.attributes !== undefined && 'tags_all' in s.block.attributes)
              .map(([type]) => type),
          );
        });
      const taggable = taggableTypes;
      // After the real plan (and the schema read in this directory), so no two commands share its lock at once.
      const invalidPlan = Promise.allSettled(readsSchema ? [plan, taggable] : [plan])
        .then(async () => {
          if (validatedVariables(stack).length === 0) return undefined;
          const dir = await initialized;
          const invalid = Object.fromEntries(
            [...required, ...validatedVariables(stack)].map((name) => [name, INVALID_VALUES[name]?.value ?? values[name]!]),
          );
          const invalidOptional = Object.fromEntries(Object.entries(INVALID_OPTIONAL_VALUES).map(([name, v]) => [name, v.value]));
          return runTerraform(terraform, ['plan', '-input=false', '-no-color', '-lock=false', ...varArgs(invalid), ...varArgs(invalidOptional)], opts(dir));
        });
      const examplePlan = invalidPlan
        .catch(() => undefined)
        .then(async () => {
          const dir = await initialized;
          const file = exampleTfvars(stageOf(stack));
          await mustRun(terraform, ['plan', '-input=false', '-no-color', '-lock=false', `-var-file=${file}`, '-out=example.bin'], opts(dir));
          const shown = await mustRun(terraform, ['show', '-json', '-no-color', 'example.bin'], opts(dir));
          return JSON.parse(shown.stdout) as ShownPlan;
        });
      const unpagedPlan = examplePlan
        .catch(() => undefined)
        .then(async () => {
          if (!config.observability.requirePageTarget) return undefined;
          const dir = await initialized;
          return runTerraform(terraform, ['plan', '-input=false', '-no-color', '-lock=false', ...varArgs(values)], opts(dir));
        });
      for (const step of [validate, plan, taggable, invalidPlan, examplePlan, unpagedPlan]) step.catch(() => undefined); // reported by the tests that await it
      runs.set(stack, { validate, plan, invalidPlan, taggable, examplePlan, unpagedPlan });
    }
  });

  afterAll(async () => {
    await Promise.allSettled([...runs.values()].flatMap((run) => [run.validate, run.plan, run.taggable, run.invalidPlan, run.examplePlan, run.unpagedPlan]));
    if (workRoot && process.env.KEEP_TERRAFORM_WORKDIR !== '1') rmSync(workRoot, { recursive: true, force: true });
    else if (workRoot) console.warn(`terraform work dirs kept in ${workRoot}`);
  });

  function runOf(stack: string): StackRun {
    const run = runs.get(stack);
    if (!run) throw new Error(`${stack} was not run (see the beforeAll error)`);
    return run;
  }

  it('has terraform, the provider mirror and synthesized stacks (one per stage)', () => {
    expect(prerequisites.problems).toEqual([]);
    expect(STACKS).toEqual((Object.keys(STAGES) as StageName[]).map(stackName).sort());
  });

  describe.each(STACKS)('%s', (stack) => {
    const stage = stageOf(stack);
    const config: StageConfig = STAGES[stage];
    const planOf = () => runOf(stack).plan;
    const changesOf = async () => (await planOf()).resource_changes ?? [];

    it('validates with no errors', { timeout: 180_000 }, async () => {
      const validate = await runOf(stack).validate;
      const errors = validate.diagnostics.filter((d) => d.severity === 'error');
      expect(errors, JSON.stringify(errors, null, 2)).toEqual([]);
      expect(validate.valid).toBe(true);
      expect(validate.error_count).toBe(0);
    });

    it('plans completely, with no data sources and every resource created', { timeout: 180_000 }, async () => {
      const plan = await planOf();
      expect(plan.errored).toBe(false);
      expect(plan.complete).toBe(true);
      expect(plan.applyable).toBe(true);
      const changes = await changesOf();
      expect(changes.length).toBeGreaterThan(0);
      expect(changes.filter((c) => c.mode !== 'managed').map((c) => c.address)).toEqual([]);
      const notCreated = changes.filter((c) => c.change.actions.join(',') !== 'create');
      expect(notCreated.map((c) => `${c.address}: ${c.change.actions.join(',')}`)).toEqual([]);
      expect(plan.output_changes && Object.keys(plan.output_changes).sort()).toEqual(Object.keys(readPlan(stack).output ?? {}).sort());
    });

    it('plans every expected resource type, and every resource of the synthesized stack', { timeout: 180_000 }, async () => {
      const changes = await changesOf();
      const types = new Set(changes.map((c) => c.type));
      for (const type of [...EXPECTED_TYPES, ...featureTypes(config)]) expect(types, `no ${type} in the plan`).toContain(type);

      const synthesized = readPlan(stack).resource;
      const planned = (type: string) => changes.filter((c) => c.type === type).map((c) => c.name).sort();
      // A for_each resource plans one instance per element: none for the empty default subscription lists; a
      // counted one as many as its variable says (the example tfvars test plans each of them).
      const single = Object.entries(synthesized)
        .map(([type, resources]) => [type, Object.keys(resources).filter((name) => !('for_each' in resources[name]!) && !('count' in resources[name]!))] as const)
        .filter(([, names]) => names.length > 0);
      for (const [type, names] of single) expect(planned(type), type).toEqual(expect.arrayContaining(names.sort()));
      // Every planned type is one the stack declares; counted types may plan no instance with default values.
      expect([...types].filter((type) => !(type in synthesized))).toEqual([]);
      expect(single.map(([type]) => type).filter((type) => !types.has(type))).toEqual([]);
    });

    it('plans one Lambda function per catalog entry', { timeout: 180_000 }, async () => {
      const functions = (await changesOf()).filter((c) => c.type === 'aws_lambda_function');
      expect(functions).toHaveLength(FUNCTION_NAMES.length);
      const names = functions.map((c) => c.change.after?.function_name).sort();
      expect(names).toEqual(FUNCTION_NAMES.map((name) => `${SERVICE}-${stage}-${name}`).sort());
    });

    it('plans tables named wschat-<stage>-<key>, one per catalog table', { timeout: 180_000 }, async () => {
      const tables = (await changesOf()).filter((c) => c.type === 'aws_dynamodb_table');
      expect(tables.map((c) => c.change.after?.name).sort()).toEqual(TABLE_KEYS.map((key) => `wschat-${stage}-${key}`).sort());
    });

    it(
      config.identityProvider === 'external'
        ? 'passes the identity variables through to the authorizer'
        : "points the authorizer at the user pool it creates (known once the pool exists)",
      { timeout: 180_000 },
      async () => {
        const plan = await planOf();
        const authorizer = (plan.resource_changes ?? []).find(
          (c) => c.type === 'aws_lambda_function' && c.change.after?.function_name === `${SERVICE}-${stage}-authorizer`,
        );
        const environment = authorizer?.change.after?.environment as { variables?: Record<string, string> }[] | undefined;
        const identityEnv = [ENV.jwtIssuer, ENV.jwtAudience, ENV.jwksUrl];
        if (config.identityProvider === 'external') {
          for (const [name, value] of Object.entries(IDENTITY_VARS)) expect(plan.variables?.[name]?.value, name).toBe(value);
          expect(environment?.[0]?.variables).toMatchObject({
            [ENV.jwtIssuer]: IDENTITY_VARS.jwt_issuer,
            [ENV.jwtAudience]: IDENTITY_VARS.jwt_audience,
            [ENV.jwksUrl]: IDENTITY_VARS.jwks_url,
          });
        } else {
          // The issuer, audience and key set URL come from the pool and client ids, so they are unknown until apply,
          // and a map holding an unknown value is unknown as a whole.
          const unknown = (authorizer?.change.after_unknown?.environment as { variables?: unknown }[] | undefined)?.[0]?.variables;
          expect(unknown, 'the authorizer environment is computed from the user pool').toBe(true);
          for (const name of identityEnv) expect(environment?.[0]?.variables?.[name], name).toBeUndefined();
          const pools = (await changesOf()).filter((c) => c.type === 'aws_cognito_user_pool');
          expect(pools.map((c) => c.change.after?.name)).toEqual([`${SERVICE}-${stage}-users`]);
        }
      },
    );

    it('names every planned resource wschat-<stage>-<part>', { timeout: 180_000 }, async () => {
      const violations = (await changesOf()).flatMap((c) => namingViolations(c.address, c.type, c.change.after ?? {}, stage));
      expect(violations).toEqual([]);
    });

    it('plans only single-service trust policies and allowed AWS managed policies', { timeout: 180_000 }, async () => {
      const changes = await changesOf();
      const roles = changes.filter((c) => c.type === 'aws_iam_role');
      expect(roles.length).toBeGreaterThan(0);
      const serviceOfRole = new Map<string, string | undefined>();
      for (const role of roles) {
        const trust = JSON.parse(String(role.change.after?.assume_role_policy)) as unknown;
        const service = trustedService(trust);
        expect(['lambda.amazonaws.com', 'apigateway.amazonaws.com'], role.address).toContain(service);
        expect(trustPolicyViolations(trust, service!), role.address).toEqual([]);
        serviceOfRole.set(String(role.change.after?.name), service);
      }
      for (const attachment of changes.filter((c) => c.type === 'aws_iam_role_policy_attachment')) {
        const role = String(attachment.change.after?.role);
        expect(serviceOfRole.has(role), `${attachment.address} attaches to ${role}, a role of this plan`).toBe(true);
        expect(managedPolicyViolations(String(attachment.change.after?.policy_arn), serviceOfRole.get(role)), attachment.address).toEqual([]);
      }
      expect(changes.filter((c) => c.type === 'aws_iam_user' || c.type === 'aws_iam_access_key')).toEqual([]);
      // The one policy of the stack's own: the operators' (docs/operations.md, "Operators' access").
      expect(changes.filter((c) => c.type === 'aws_iam_policy').map((c) => c.change.after?.name)).toEqual([`${stack}-operator`]);
    });

    const validated = validatedVariables(stack);
    it.skipIf(validated.length === 0)('refuses invalid deployment values, naming each variable', { timeout: 240_000 }, async () => {
      const result = await runOf(stack).invalidPlan;
      expect(result, 'no invalid plan ran').toBeDefined();
      expect(result!.code, result!.stdout).not.toBe(0);
      for (const name of validated) expect(result!.stderr, name).toMatch(INVALID_VALUES[name]!.error);
      for (const [name, { error }] of Object.entries(INVALID_OPTIONAL_VALUES)) expect(result!.stderr, name).toMatch(error);
    });

    it('subscribes the page HTTPS endpoint it is given to the page topic', { timeout: 180_000 }, async () => {
      const changes = await changesOf();
      const pageTopic = changes.find((c) => c.type === 'aws_sns_topic' && c.change.after?.name === `${SERVICE}-${stage}-alarms-page`);
      expect(pageTopic, 'no page topic').toBeDefined();
      const https = changes.filter((c) => c.type === 'aws_sns_topic_subscription' && c.change.after?.protocol === 'https');
      expect(https.map((c) => c.change.after?.endpoint)).toEqual([PAGE_ENDPOINT]);
      expect(https[0]!.address).toContain('page-https-subscriptions');
    });

    it.runIf(config.observability.requirePageTarget)('refuses to plan without a page target, naming the variables to set', { timeout: 300_000 }, async () => {
      const result = await runOf(stack).unpagedPlan;
      expect(result, 'no plan without a page target ran').toBeDefined();
      expect(result!.code, result!.stdout).not.toBe(0);
      expect(result!.stderr).toMatch(/Resource precondition failed/);
      // terraform wraps the message to its terminal width.
      expect(result!.stderr.replace(/\s+/g, ' ')).toMatch(new RegExp(`The ${stage} stage pages nobody: set page_alarm_https_endpoints \\(PagerDuty or Opsgenie event URLs\\) or page_alarm_emails`));
    });

    it('applies the default tags (service, stage, managed-by, owner, cost-center) to every planned resource that supports tags', { timeout: 180_000 }, async () => {
      const [plan, taggable] = await Promise.all([runOf(stack).plan, runOf(stack).taggable]);
      const tagged = (plan.resource_changes ?? []).filter((c) => taggable.has(c.type));
      // Sanity: the schema lookup found the taggable types we know of, so the loop below checks something.
      const taggedTypes = new Set(tagged.map((c) => c.type));
      for (const type of ['aws_lambda_function', 'aws_dynamodb_table', 'aws_iam_role', 'aws_cloudwatch_log_group', 'aws_apigatewayv2_api']) {
        expect(taggedTypes, `${type} should take tags`).toContain(type);
      }
      const expected = { service: SERVICE, stage, 'managed-by': 'terraform', ...config.tags };
      const missing = tagged
        .filter((c) => {
          const tags = c.change.after?.tags_all as Record<string, string> | null | undefined;
          return !tags || Object.entries(expected).some(([key, value]) => tags[key] !== value);
        })
        .map((c) => `${c.address}: ${JSON.stringify(c.change.after?.tags_all)}`);
      expect(missing).toEqual([]);
    });

    it('has an example tfvars file that sets every variable the stack declares, and nothing else', () => {
      const file = exampleTfvars(stage);
      expect(existsSync(file), file).toBe(true);
      expect(tfvarsNames(file)).toEqual(Object.keys(readPlan(stack).variable ?? {}).sort());
    });

    it('plans its example tfvars completely, with every counted resource planned in this plan or the default one', { timeout: 240_000 }, async () => {
      const [example, defaults] = await Promise.all([runOf(stack).examplePlan, planOf()]);
      expect(example.errored).toBe(false);
      expect(example.complete).toBe(true);
      expect(example.applyable).toBe(true);
      const notCreated = (example.resource_changes ?? []).filter((c) => c.change.actions.join(',') !== 'create');
      expect(notCreated.map((c) => c.address)).toEqual([]);
      const synthesized = readPlan(stack).resource;
      const counted = Object.entries(synthesized).flatMap(([type, resources]) =>
        Object.keys(resources).filter((name) => 'count' in resources[name]!).map((name) => `${type}.${name}`),
      );
      const planned = new Set([...(example.resource_changes ?? []), ...(defaults.resource_changes ?? [])].map((c) => `${c.type}.${c.name}`));
      expect(counted.filter((address) => !planned.has(address))).toEqual([]);
      const tfvars = readFileSync(exampleTfvars(stage), 'utf8');
      const trails = (example.resource_changes ?? []).filter((c) => c.type === 'aws_cloudtrail');
      // The example says whether an organization trail exists; the stage trail is planned exactly when it does not.
      expect(trails).toHaveLength(/^organization_trail_exists\s*=\s*true/m.test(tfvars) || !config.audit.trail ? 0 : 1);
      const records = (example.resource_changes ?? []).filter((c) => c.type === 'aws_route53_record');
      expect(records).toHaveLength(/^route53_zone_id\s*=\s*"Z/m.test(tfvars) ? 1 : 0);
    });
  });
});
