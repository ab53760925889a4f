/**
 * The versions and aliases of the plan's functions: what a qualified invocation (`name:live`, `name:1`, a
 * qualified ARN or a `Qualifier`) reaches. The plan's code is each function's first published version
 * (local/plan.ts); the local Lambda control plane (control-api.ts) publishes more and moves aliases, as a rollout
 * does, and an alias with an additional version weight picks its version per invocation, as Lambda does. Every
 * version runs the plan's code: a local stack cannot change $LATEST's bundle, so a "bad" version is made bad by
 * an injected fault scoped to it (local/faults.ts). A qualifier that does not exist is ResourceNotFoundException.
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

/** An alias as GetAlias returns it: its version and, while a rollout shifts traffic, one more version's weight. */
export interface AliasState {
  readonly functionName: string;
  readonly name: string;
  readonly functionVersion: string;
  /** Version -> share of invocations (0 to 1) routed to it instead of functionVersion; at most one entry. */
  readonly additionalVersionWeights: Readonly<Record<string, number>>;
  readonly description: string;
  /** Changes on every update: UpdateAlias with a stale RevisionId is refused, as on Lambda. */
  readonly revisionId: string;
}

export interface AliasUpdate {
  readonly functionVersion?: string;
  readonly description?: string;
  readonly additionalVersionWeights?: Readonly<Record<string, number>>;
  readonly revisionId?: string;
}

/** Why an update or lookup was refused, with Lambda's error type. */
export class TargetError extends Error {
  constructor(
    readonly type: 'ResourceNotFoundException' | 'InvalidParameterValueException' | 'PreconditionFailedException',
    message: string,
  ) {
    super(message);
  }
}

export class FunctionTargets {
  private revisions = 0;

  private constructor(
    /** Function name -> its published versions (besides $LATEST), oldest first. */
    private readonly versions: ReadonlyMap<string, string[]>,
    /** `name:alias` -> the alias. */
    private readonly aliases: Map<string, AliasState>,
    /** Uniform in [0, 1): picks each weighted invocation's version. */
    private readonly random: () => number,
  ) {}

  /** Reads aws_lambda_function (publish) and aws_lambda_alias; an alias must name a function and version the plan has. */
  static fromPlan(plan: StackPlan, random: () => number = Math.random): FunctionTargets {
    const versions = new Map<string, string[]>();
    for (const fn of plan.resources('aws_lambda_function')) {
      const name = plan.resolve(String(fn.config.function_name));
      versions.set(name, fn.config.publish === true ? [PUBLISHED_VERSION] : []);
    }
    const aliases = new Map<string, AliasState>();
    for (const resource of plan.resources('aws_lambda_alias')) {
      const config = plan.resolve(resource.config) as Record<string, unknown>;
      const functionName = String(config.function_name);
      const version = String(config.function_version);
      const published = versions.get(functionName);
      if (!published) throw new Error(`${resource.address}: names function ${functionName}, which the plan does not define`);
      if (!published.includes(version)) {
        throw new Error(`${resource.address}: points at version ${version} of ${functionName}, which the plan does not publish`);
      }
      if (config.routing_config !== undefined) {
        throw new Error(`${resource.address}: routing_config weighs a version the plan does not publish (a plan publishes one version per function; a rollout sets the weights)`);
      }
      const name = String(config.name);
      aliases.set(`${functionName}:${name}`, {
        functionName,
        name,
        functionVersion: version,
        additionalVersionWeights: {},
        description: config.description === undefined ? '' : String(config.description),
        revisionId: `plan-${name}`,
      });
    }
    return new FunctionTargets(versions, aliases, random);
  }

  /**
   * What an invocation of `target` runs; undefined when the function or its qualifier does not exist. An alias
   * with an additional version weight picks per call.
   */
  resolve(target: FunctionTarget): ResolvedTarget | undefined {
    const { functionName, qualifier = '$LATEST' } = target;
    const versions = this.versions.get(functionName);
    if (!versions) return undefined;
    if (qualifier === '$LATEST' || versions.includes(qualifier)) return { functionName, qualifier, executedVersion: qualifier };
    const alias = this.aliases.get(`${functionName}:${qualifier}`);
    if (!alias) return undefined;
    let executedVersion = alias.functionVersion;
    const [weighted] = Object.entries(alias.additionalVersionWeights);
    if (weighted && this.random() < weighted[1]) executedVersion = weighted[0];
    return { functionName, qualifier, executedVersion, alias: qualifier };
  }

  /** The function's published versions, oldest first; undefined for a function the plan does not define. */
  publishedVersions(functionName: string): readonly string[] | undefined {
    return this.versions.get(functionName);
  }

  /** Publishes the next version (every version runs the plan's code: see the module comment). */
  publishVersion(functionName: string): string {
    const versions = this.versions.get(functionName);
    if (!versions) throw new TargetError('ResourceNotFoundException', `Function not found: ${functionName}`);
    const next = String(versions.reduce((max, v) => Math.max(max, Number(v)), 0) + 1);
    versions.push(next);
    return next;
  }

  alias(functionName: string, name: string): AliasState {
    const alias = this.aliases.get(`${functionName}:${name}`);
    if (!alias) throw new TargetError('ResourceNotFoundException', `Alias not found: ${functionName}:${name}`);
    return alias;
  }

  /** UpdateAlias: every version named must be published (never $LATEST), and at most one weighted version, as on Lambda. */
  updateAlias(functionName: string, name: string, update: AliasUpdate): AliasState {
    const current = this.alias(functionName, name);
    if (update.revisionId !== undefined && update.revisionId !== current.revisionId) {
      throw new TargetError('PreconditionFailedException', 'The Revision Id provided does not match the latest Revision Id. Call the GetAlias API to retrieve the latest Revision Id');
    }
    const published = this.versions.get(functionName) ?? [];
    const functionVersion = update.functionVersion ?? current.functionVersion;
    const weights = update.additionalVersionWeights ?? current.additionalVersionWeights;
    for (const version of [functionVersion, ...Object.keys(weights)]) {
      if (!published.includes(version)) {
        throw new TargetError('InvalidParameterValueException', `An alias can only point at a published version of ${functionName}; ${version} is not one`);
      }
    }
    const entries = Object.entries(weights);
    if (entries.length > 1) throw new TargetError('InvalidParameterValueException', 'An alias can route to at most one additional version');
    for (const [version, weight] of entries) {
      if (version === functionVersion) throw new TargetError('InvalidParameterValueException', `The additional version ${version} must differ from the alias's version`);
      if (!(weight >= 0 && weight <= 1)) throw new TargetError('InvalidParameterValueException', `Weight ${weight} of version ${version} must be between 0.0 and 1.0`);
    }
    const updated: AliasState = {
      ...current,
      functionVersion,
      additionalVersionWeights: { ...weights },
      description: update.description ?? current.description,
      revisionId: `revision-${++this.revisions}`,
    };
    this.aliases.set(`${functionName}:${name}`, updated);
    return updated;
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
