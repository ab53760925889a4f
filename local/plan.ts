/**
 * Reads a synthesized stack (cdk.tf.json) and resolves its Terraform references to the values they take on
 * this machine. The local runtime learns everything about the infrastructure from here, nowhere else.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const LOCAL_ACCOUNT_ID = '000000000000';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type ResourceConfig = Record<string, Json>;

export interface PlanResource {
  readonly type: string;
  readonly name: string;
  /** `type.name`, as Terraform addresses it. */
  readonly address: string;
  readonly config: ResourceConfig;
}

interface StackJson {
  resource?: Record<string, Record<string, ResourceConfig>>;
  variable?: Record<string, { default?: Json; type?: string; description?: string }>;
  provider?: { aws?: { region?: string }[] };
  output?: Record<string, { value: Json }>;
}

export interface LocalValues {
  /** Values for the plan's variables, as an SRE would pass with -var (lists for list variables). */
  readonly variables: Readonly<Record<string, Json>>;
  readonly apiId: string;
}

/** The version number a function the plan publishes has locally (its first and only one). */
export const PUBLISHED_VERSION = '1';

/** The URI API Gateway invokes a function (or a qualified one) by. */
function lambdaInvokeArn(region: string, functionArn: string): string {
  return `arn:aws:apigateway:${region}:lambda:path/2015-03-31/functions/${functionArn}/invocations`;
}

const REFERENCE = /\$\{([^{}]+)\}/g;

export class StackPlan {
  readonly region: string;
  private readonly json: StackJson;

  private constructor(
    readonly stackDir: string,
    json: StackJson,
    private readonly locals: LocalValues,
  ) {
    this.json = json;
    const region = json.provider?.aws?.[0]?.region;
    if (!region) throw new Error(`${stackDir}: the aws provider has no region`);
    this.region = region;
    for (const name of Object.keys(json.variable ?? {})) {
      if (locals.variables[name] === undefined && json.variable?.[name]?.default === undefined) {
        throw new Error(`${stackDir}: variable "${name}" has no default and no local value`);
      }
    }
  }

  static load(stackDir: string, locals: LocalValues): StackPlan {
    const file = path.join(stackDir, 'cdk.tf.json');
    let json: StackJson;
    try {
      json = JSON.parse(readFileSync(file, 'utf8')) as StackJson;
    } catch (error) {
      throw new Error(`cannot read the synthesized plan ${file}: ${(error as Error).message}. Run npm run synth.`);
    }
    return new StackPlan(stackDir, json, locals);
  }

  get apiId(): string {
    return this.locals.apiId;
  }

  /** A variable's value on this machine: the local value, else the plan's default. */
  variable(name: string): Json {
    const value = this.locals.variables[name] ?? this.json.variable?.[name]?.default;
    if (value === undefined) throw new Error(`${this.stackDir}: no value for var.${name}`);
    return value;
  }

  resources(type: string): PlanResource[] {
    return Object.entries(this.json.resource?.[type] ?? {}).map(([name, config]) => ({
      type,
      name,
      address: `${type}.${name}`,
      config,
    }));
  }

  /** The resources of a type whose tag `key` is `value`: infra tags functions, tables and alarms with their catalog id. */
  tagged(type: string, key: string, value: string): PlanResource[] {
    return this.resources(type).filter((r) => (r.config.tags as Record<string, Json> | undefined)?.[key] === value);
  }

  /** The single resource of a type; the local runtime serves one API per stack. */
  only(type: string): PlanResource {
    const all = this.resources(type);
    if (all.length !== 1) throw new Error(`${this.stackDir}: expected exactly one ${type}, found ${all.length}`);
    return all[0] as PlanResource;
  }

  byAddress(address: string): PlanResource {
    const [type, name] = address.split('.');
    const config = this.json.resource?.[type ?? '']?.[name ?? ''];
    if (!type || !name || !config) throw new Error(`${this.stackDir}: no resource ${address}`);
    return { type, name, address: `${type}.${name}`, config };
  }

  /** Resolves every `${...}` reference inside a string (or a structure of strings). */
  resolve<T extends Json>(value: T): T {
    if (typeof value === 'string') {
      return value.replace(REFERENCE, (_match, expression: string) => this.evaluate(expression.trim())) as T;
    }
    if (Array.isArray(value)) return value.map((v) => this.resolve(v)) as T;
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(v)])) as T;
    }
    return value;
  }

  /** The address a reference such as `${aws_lambda_function.x.invoke_arn}` points at. */
  referencedAddress(value: string): string {
    const match = /^\$\{([a-z0-9_]+\.[^.}]+)\.[a-z_]+\}$/.exec(value.trim());
    if (!match?.[1]) throw new Error(`${this.stackDir}: "${value}" is not a resource reference`);
    return match[1];
  }

  private evaluate(expression: string): string {
    const parts = expression.split('.');
    if (parts[0] === 'var' && parts.length === 2) {
      return String(this.variable(parts[1] as string));
    }
    if (parts.length !== 3) throw new Error(`${this.stackDir}: cannot resolve \${${expression}} locally`);
    const [type, name, attribute] = parts as [string, string, string];
    const resource = this.byAddress(`${type}.${name}`);
    return this.attribute(resource, attribute);
  }

  /** An attribute: as configured when the plan sets it, otherwise computed the way AWS would shape it. */
  private attribute(resource: PlanResource, attribute: string): string {
    const computed = this.computed(resource)[attribute];
    if (computed !== undefined) return computed;
    const configured = resource.config[attribute];
    if (typeof configured === 'string' || typeof configured === 'number') return this.resolve(String(configured));
    throw new Error(`${this.stackDir}: cannot resolve ${resource.address}.${attribute} locally`);
  }

  private computed(resource: PlanResource): Record<string, string> {
    const { region } = this;
    const account = LOCAL_ACCOUNT_ID;
    const name = (key: string) => this.resolve(String(resource.config[key]));
    switch (resource.type) {
      case 'aws_apigatewayv2_api':
        return {
          id: this.apiId,
          execution_arn: `arn:aws:execute-api:${region}:${account}:${this.apiId}`,
        };
      case 'aws_dynamodb_table':
        return { id: name('name'), arn: `arn:aws:dynamodb:${region}:${account}:table/${name('name')}` };
      case 'aws_lambda_function': {
        const arn = `arn:aws:lambda:${region}:${account}:function:${name('function_name')}`;
        // The plan's code is the one version a local stack has: published as 1, or only $LATEST without publish.
        const version = resource.config.publish === true ? PUBLISHED_VERSION : '$LATEST';
        return {
          id: name('function_name'),
          arn,
          invoke_arn: lambdaInvokeArn(region, arn),
          version,
          qualified_arn: `${arn}:${version}`,
          qualified_invoke_arn: lambdaInvokeArn(region, `${arn}:${version}`),
        };
      }
      case 'aws_lambda_alias': {
        const arn = `arn:aws:lambda:${region}:${account}:function:${name('function_name')}:${name('name')}`;
        return { id: arn, arn, invoke_arn: lambdaInvokeArn(region, arn) };
      }
      case 'aws_cloudwatch_log_group':
        return { id: name('name'), arn: `arn:aws:logs:${region}:${account}:log-group:${name('name')}` };
      case 'aws_iam_role':
        return { id: name('name'), arn: `arn:aws:iam::${account}:role/${name('name')}` };
      case 'aws_cloudwatch_metric_alarm':
      case 'aws_cloudwatch_composite_alarm':
        return { id: name('alarm_name'), arn: `arn:aws:cloudwatch:${region}:${account}:alarm:${name('alarm_name')}` };
      case 'aws_sqs_queue': {
        const url = `https://sqs.${region}.amazonaws.com/${account}/${name('name')}`;
        return { id: url, url, arn: `arn:aws:sqs:${region}:${account}:${name('name')}` };
      }
      case 'aws_s3_bucket': {
        // A bucket named by prefix gets a unique suffix from Terraform; locally it is fixed, so URLs survive restarts.
        const configured = resource.config.bucket;
        const bucket = typeof configured === 'string' ? this.resolve(configured) : `${name('bucket_prefix')}local`;
        return { id: bucket, bucket, arn: `arn:aws:s3:::${bucket}` };
      }
      case 'aws_sns_topic':
        return { id: name('name'), arn: `arn:aws:sns:${region}:${account}:${name('name')}` };
      case 'aws_secretsmanager_secret': {
        // Secrets Manager ends every ARN in six random characters; locally they are fixed.
        const arn = `arn:aws:secretsmanager:${region}:${account}:secret:${name('name')}-local0`;
        return { id: arn, arn };
      }
      case 'aws_cloudwatch_event_rule':
        return { id: name('name'), arn: `arn:aws:events:${region}:${account}:rule/${name('name')}` };
      default:
        // Other resources (routes, integrations, authorizers) are identified by their address locally.
        return { id: resource.address };
    }
  }
}
