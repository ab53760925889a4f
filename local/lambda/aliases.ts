/**
 * The versions and aliases of the plan's functions: what a qualified invocation (`name:live`, `name:1`, a
 * qualified ARN or a `Qualifier`) reaches. A local stack runs the plan's code as the function's only published
 * version (local/plan.ts), so every qualifier that exists runs the same environments; one that does not is
 * Lambda's ResourceNotFoundException.
 */
import { PUBLISHED_VERSION, type StackPlan } from '../plan.ts';

/** Who a caller invokes: a function, optionally qualified by a version or an alias. */
export interface FunctionTarget {
  readonly functionName: string;
  readonly qualifier?: string;
}

export interface ResolvedTarget {
  readonly functionName: string;
  /** The qualifier invoked, `$LATEST` when there was none. */
  readonly qualifier: string;
  /** The version that runs (X-Amz-Executed-Version): an alias's version, else the qualifier itself. */
  readonly executedVersion: string;
  /** The alias invoked, if the qualifier is one. */
  readonly alias?: string;
}

/** `name`, `name:qualifier`, `123456789012:function:name[:qualifier]` or a function ARN, as Lambda accepts them. */
const IDENTIFIER = /^(?:arn:aws:lambda:[a-z0-9-]+:\d{12}:function:|\d{12}:function:)?([A-Za-z0-9_-]+)(?::(\$LATEST|[A-Za-z0-9_-]+))?$/;

export function parseFunctionIdentifier(identifier: string): FunctionTarget {
  const match = IDENTIFIER.exec(identifier);
  if (!match?.[1]) throw new Error(`${identifier} is not a Lambda function name or ARN`);
  return match[2] === undefined ? { functionName: match[1] } : { functionName: match[1], qualifier: match[2] };
}

/** `name` or `name:qualifier`. */
export function qualifiedName(target: FunctionTarget): string {
  return target.qualifier === undefined ? target.functionName : `${target.functionName}:${target.qualifier}`;
}

export class FunctionTargets {
  private constructor(
    /** Function name -> its published versions (besides $LATEST). */
    private readonly versions: ReadonlyMap<string, ReadonlySet<string>>,
    /** `name:alias` -> the version the alias points at. */
    private readonly aliases: ReadonlyMap<string, string>,
  ) {}

  /** Reads aws_lambda_function (publish) and aws_lambda_alias; an alias must name a function and version the plan has. */
  static fromPlan(plan: StackPlan): FunctionTargets {
    const versions = new Map<string, Set<string>>();
    for (const fn of plan.resources('aws_lambda_function')) {
      const name = plan.resolve(String(fn.config.function_name));
      versions.set(name, new Set(fn.config.publish === true ? [PUBLISHED_VERSION] : []));
    }
    const aliases = new Map<string, string>();
    for (const resource of plan.resources('aws_lambda_alias')) {
      const config = plan.resolve(resource.config) as Record<string, unknown>;
      const functionName = String(config.function_name);
      const version = String(config.function_version);
      const published = versions.get(functionName);
      if (!published) throw new Error(`${resource.address}: names function ${functionName}, which the plan does not define`);
      if (!published.has(version)) {
        throw new Error(`${resource.address}: points at version ${version} of ${functionName}, which the plan does not publish`);
      }
      if (config.routing_config !== undefined) {
        throw new Error(`${resource.address}: weighted routing to another version is not run locally (the plan has one version per function)`);
      }
      aliases.set(`${functionName}:${String(config.name)}`, version);
    }
    return new FunctionTargets(versions, aliases);
  }

  /** What an invocation of `target` runs; undefined when the function or its qualifier does not exist. */
  resolve(target: FunctionTarget): ResolvedTarget | undefined {
    const { functionName, qualifier = '$LATEST' } = target;
    const versions = this.versions.get(functionName);
    if (!versions) return undefined;
    if (qualifier === '$LATEST' || versions.has(qualifier)) return { functionName, qualifier, executedVersion: qualifier };
    const aliasVersion = this.aliases.get(`${functionName}:${qualifier}`);
    return aliasVersion === undefined ? undefined : { functionName, qualifier, executedVersion: aliasVersion, alias: qualifier };
  }
}

/** What Application Auto Scaling keeps provisioned on one qualifier of a function. */
export interface ProvisionedTarget {
  readonly functionName: string;
  readonly qualifier: string;
  /** The scalable target's minimum: what is initialized at boot (nothing scales it locally). */
  readonly environments: number;
}

const PROVISIONED_RESOURCE_ID = /^function:([A-Za-z0-9_-]+):([A-Za-z0-9_-]+)$/;

/**
 * The plan's Lambda scalable targets (aws_appautoscaling_target, lambda:function:ProvisionedConcurrency) by
 * function name. Their qualifier must be an alias or version the plan has: Lambda provisions neither $LATEST nor
 * anything else.
 */
export function readProvisionedTargets(plan: StackPlan, targets: FunctionTargets): Map<string, ProvisionedTarget> {
  const provisioned = new Map<string, ProvisionedTarget>();
  for (const resource of plan.resources('aws_appautoscaling_target')) {
    const config = plan.resolve(resource.config) as Record<string, unknown>;
    if (config.service_namespace !== 'lambda') continue;
    if (config.scalable_dimension !== 'lambda:function:ProvisionedConcurrency') {
      throw new Error(`${resource.address}: scalable dimension ${String(config.scalable_dimension)} is not run locally`);
    }
    const match = PROVISIONED_RESOURCE_ID.exec(String(config.resource_id));
    const target = match && targets.resolve({ functionName: match[1] as string, qualifier: match[2] as string });
    if (!match || !target || target.qualifier === '$LATEST') {
      throw new Error(`${resource.address}: resource_id ${String(config.resource_id)} is not function:<name>:<alias or version> of a function the plan defines`);
    }
    const environments = Number(config.min_capacity);
    if (!Number.isInteger(environments) || environments < 0 || environments > Number(config.max_capacity)) {
      throw new Error(`${resource.address}: min_capacity must be a whole number from 0 to max_capacity, got ${String(config.min_capacity)}`);
    }
    if (provisioned.has(target.functionName)) {
      throw new Error(`${resource.address}: ${target.functionName} already has provisioned concurrency on another qualifier; the local stack runs one`);
    }
    provisioned.set(target.functionName, { functionName: target.functionName, qualifier: target.qualifier, environments });
  }
  return provisioned;
}
