/**
 * IAM for the functions of a plan: each function's role, the policies the plan attaches to it, and AWS's
 * evaluation of identity-based policies (an explicit Deny wins; otherwise some Allow must match; else denied).
 * Callers are told apart by the access key id local/stack.ts gives each function; requests signed with any
 * other key (the local runtime, tests, a developer's CLI) are not function calls and are not checked.
 */
import { LOCAL_ACCOUNT_ID, type StackPlan } from './plan.ts';

interface Statement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: string | string[];
  readonly NotResource?: string | string[];
  readonly Condition?: unknown;
}

interface PolicyDocument {
  readonly Statement: Statement | Statement[];
}

/**
 * AWS managed policies the local stack knows the documents of. An attachment of any other managed policy stops
 * the boot: guessing what it grants would make local enforcement lie in one direction or the other.
 */
const MANAGED_POLICIES: Readonly<Record<string, PolicyDocument>> = {
  'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole': {
    Statement: { Effect: 'Allow', Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], Resource: '*' },
  },
  'arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess': {
    Statement: {
      Effect: 'Allow',
      Action: [
        'xray:PutTraceSegments',
        'xray:PutTelemetryRecords',
        'xray:GetSamplingRules',
        'xray:GetSamplingTargets',
        'xray:GetSamplingStatisticSummaries',
      ],
      Resource: '*',
    },
  },
};

export interface Principal {
  readonly functionName: string;
  readonly roleName: string;
  readonly statements: readonly Statement[];
}

/** A statement with its action and resource patterns compiled once, not on every request. */
interface CompiledStatement {
  readonly effect: 'Allow' | 'Deny';
  readonly matchesAction: (action: string) => boolean;
  readonly matchesResource: (resource: string) => boolean;
}

interface CompiledPrincipal extends Principal {
  readonly compiled: readonly CompiledStatement[];
}

/**
 * Decisions remembered per (caller, action, resource): every @connections post and DynamoDB call is checked, and
 * a fan-out repeats the same few. Resources name connections, so the cache is bounded; the oldest entry goes first.
 */
const DECISION_CACHE_ENTRIES = 20_000;

export interface Denial {
  /** AWS's own wording, naming the assumed role, the action and the resource. */
  readonly message: string;
}

/** The access key id a function's environment carries; also how the local services recognise its requests. */
export function functionAccessKeyId(functionName: string): string {
  return `LOCAL${functionName.toUpperCase().replace(/[^A-Z0-9]/g, '')}`;
}

/** The access key id of a SigV4 `Authorization` header (`AWS4-HMAC-SHA256 Credential=AKID/date/region/...`). */
export function accessKeyIdOf(authorization: string | undefined): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(authorization ?? '')?.[1];
}

export class Iam {
  private readonly decisions = new Map<string, Denial | null>();

  private constructor(private readonly byAccessKey: ReadonlyMap<string, CompiledPrincipal>) {}

  static fromPlan(plan: StackPlan): Iam {
    const principals = new Map<string, CompiledPrincipal>();
    for (const fn of plan.resources('aws_lambda_function')) {
      const functionName = plan.resolve(String(fn.config.function_name));
      const roleAddress = plan.referencedAddress(String(fn.config.role));
      const role = plan.byAddress(roleAddress);
      if (role.type !== 'aws_iam_role') throw new Error(`${functionName}: role ${String(fn.config.role)} is not an aws_iam_role`);
      const statements = [...inlinePolicies(plan, roleAddress), ...managedPolicies(plan, roleAddress)].flatMap((doc) =>
        [doc.Statement].flat(),
      );
      for (const statement of statements) {
        if (statement.Condition !== undefined) {
          throw new Error(`${functionName}: a policy statement with a Condition cannot be evaluated locally: ${JSON.stringify(statement)}`);
        }
      }
      principals.set(functionAccessKeyId(functionName), {
        functionName,
        roleName: plan.resolve(String(role.config.name)),
        statements,
        compiled: statements.map(compileStatement),
      });
    }
    return new Iam(principals);
  }

  principalOf(accessKeyId: string | undefined): Principal | undefined {
    return accessKeyId === undefined ? undefined : this.byAccessKey.get(accessKeyId);
  }

  /** Undefined when allowed (or when the key is not a function's); otherwise the denial AWS would answer with. */
  check(accessKeyId: string | undefined, action: string, resource: string): Denial | undefined {
    const principal = accessKeyId === undefined ? undefined : this.byAccessKey.get(accessKeyId);
    if (!principal) return undefined;
    const key = `${accessKeyId}\n${action}\n${resource}`;
    const known = this.decisions.get(key);
    if (known !== undefined) return known ?? undefined;
    const decision = evaluate(principal, action, resource);
    if (this.decisions.size >= DECISION_CACHE_ENTRIES) this.decisions.delete(this.decisions.keys().next().value as string);
    this.decisions.set(key, decision ?? null);
    return decision;
  }
}

/** AWS's evaluation of identity-based policies: an explicit Deny wins; otherwise some Allow must match. */
function evaluate(principal: CompiledPrincipal, action: string, resource: string): Denial | undefined {
  const matching = principal.compiled.filter((s) => s.matchesAction(action) && s.matchesResource(resource));
  const denied = matching.some((s) => s.effect === 'Deny');
  if (!denied && matching.some((s) => s.effect === 'Allow')) return undefined;
  const caller = `arn:aws:sts::${LOCAL_ACCOUNT_ID}:assumed-role/${principal.roleName}/${principal.functionName}`;
  const prefix = `User: ${caller} is not authorized to perform: ${action} on resource: ${resource}`;
  if (denied) {
    return { message: `${prefix} with an explicit deny in an identity-based policy` };
  }
  return { message: `${prefix} because no identity-based policy allows the ${action} action` };
}

function roleOf(plan: StackPlan, reference: unknown): string | undefined {
  try {
    return plan.referencedAddress(String(reference));
  } catch {
    return undefined; // a role given by name, not a reference, belongs to no role of this plan
  }
}

function inlinePolicies(plan: StackPlan, roleAddress: string): PolicyDocument[] {
  return plan
    .resources('aws_iam_role_policy')
    .filter((policy) => roleOf(plan, policy.config.role) === roleAddress)
    .map((policy) => {
      const text = plan.resolve(String(policy.config.policy));
      try {
        return JSON.parse(text) as PolicyDocument;
      } catch (error) {
        throw new Error(`${policy.address}: the policy is not JSON (${(error as Error).message})`);
      }
    });
}

function managedPolicies(plan: StackPlan, roleAddress: string): PolicyDocument[] {
  return plan
    .resources('aws_iam_role_policy_attachment')
    .filter((attachment) => roleOf(plan, attachment.config.role) === roleAddress)
    .map((attachment) => {
      const arn = plan.resolve(String(attachment.config.policy_arn));
      const document = MANAGED_POLICIES[arn];
      if (!document) {
        throw new Error(
          `${attachment.address}: managed policy ${arn} is unknown to the local stack, so its grants cannot be enforced; ` +
            `known: ${Object.keys(MANAGED_POLICIES).join(', ')}`,
        );
      }
      return document;
    });
}

/**
 * IAM's match of action patterns (`*` and `?` wildcards; action names are case-insensitive). Also what the
 * gateway evaluates an authorizer's policy with.
 */
export function actionsMatcher(patterns: string | string[] | undefined): (action: string) => boolean {
  return patternsMatcher(patterns, 'i');
}

function compileStatement(statement: Statement): CompiledStatement {
  // Resources, unlike actions, are case-sensitive.
  const actions = actionsMatcher(statement.NotAction ?? statement.Action);
  const resources = patternsMatcher(statement.NotResource ?? statement.Resource, '');
  return {
    effect: statement.Effect,
    matchesAction: statement.NotAction !== undefined ? (action) => !actions(action) : statement.Action !== undefined ? actions : () => false,
    matchesResource:
      statement.NotResource !== undefined ? (resource) => !resources(resource) : statement.Resource !== undefined ? resources : () => false,
  };
}

function patternsMatcher(patterns: string | string[] | undefined, flags: string): (value: string) => boolean {
  const compiled = [patterns ?? []].flat().map((p) => wildcard(p, flags));
  return (value) => compiled.some((pattern) => pattern.test(value));
}

function wildcard(pattern: string, flags: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, flags);
}

/**
 * The IAM actions and resources one DynamoDB API call needs. Batch operations need their own action on every
 * table named; transactions need the per-item action (PutItem, UpdateItem, ...) on each item's table.
 */
export function dynamodbAuthorizations(
  operation: string,
  body: Record<string, unknown>,
  tableArn: (table: string) => string,
): { action: string; resource: string }[] {
  const table = (name: unknown, index?: unknown) =>
    `${tableArn(String(name))}${typeof index === 'string' ? `/index/${index}` : ''}`;
  switch (operation) {
    case 'BatchGetItem':
    case 'BatchWriteItem':
      return Object.keys((body.RequestItems ?? {}) as object).map((name) => ({ action: `dynamodb:${operation}`, resource: table(name) }));
    case 'TransactGetItems':
    case 'TransactWriteItems': {
      const perItem: Record<string, string> = {
        Get: 'GetItem',
        Put: 'PutItem',
        Update: 'UpdateItem',
        Delete: 'DeleteItem',
        ConditionCheck: 'ConditionCheckItem',
      };
      return ((body.TransactItems ?? []) as Record<string, { TableName?: string }>[]).flatMap((item) =>
        Object.entries(item).map(([kind, request]) => ({
          action: `dynamodb:${perItem[kind] ?? kind}`,
          resource: table(request.TableName),
        })),
      );
    }
    default:
      return [{ action: `dynamodb:${operation}`, resource: table(body.TableName, body.IndexName) }];
  }
}
