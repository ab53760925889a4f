/**
 * IAM for the functions of a plan: each function's role, the policies the plan attaches to it, and AWS's
 * evaluation of identity-based policies (an explicit Deny wins; otherwise some Allow must match; else denied).
 * Callers are told apart by the access key id local/stack.ts gives each function, and the operator identity by
 * OPERATOR_ACCESS_KEY_ID (the plan's operator policy). DynamoDB, Lambda and SQS requests signed with any other key
 * (the local runtime, tests, a developer's CLI) are not checked; `@connections` requests are (`authenticate`).
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
  /** The role session: the function's name, or `operator`. */
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

/**
 * The local stack's operator identity: what `npm run admin` and tests acting as on-call sign with. It holds exactly
 * the plan's operator policy (infra/constructs/operators.ts), as an operator's role on AWS would.
 */
export const OPERATOR_ACCESS_KEY_ID = 'LOCALOPERATOR';

/** A request IAM refuses before any policy is read: AWS's error type and message for it. */
export interface AuthenticationFailure {
  readonly type: 'MissingAuthenticationTokenException' | 'UnrecognizedClientException';
  readonly message: string;
}

export class Iam {
  private readonly decisions = new Map<string, Denial | null>();

  private constructor(private readonly byAccessKey: ReadonlyMap<string, CompiledPrincipal>) {}

  /** `operatorPolicy` names the plan's managed policy the operator identity holds (none: no operator identity). */
  static fromPlan(plan: StackPlan, operatorPolicy?: string): Iam {
    const principals = new Map<string, CompiledPrincipal>();
    const operator = operatorPolicy === undefined ? undefined : operatorPrincipal(plan, operatorPolicy);
    if (operator) principals.set(OPERATOR_ACCESS_KEY_ID, operator);
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

  /**
   * For services that take only signed requests from known identities (`@connections`): an unsigned request or
   * an access key no identity holds fails as on AWS; a known one goes on to `check`.
   */
  authenticate(accessKeyId: string | undefined): AuthenticationFailure | undefined {
    if (accessKeyId === undefined) return { type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
    if (!this.byAccessKey.has(accessKeyId)) {
      return { type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
    }
    return undefined;
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

/** The operator identity: the plan's policy of that name, held by a role named after it. */
function operatorPrincipal(plan: StackPlan, policyName: string): CompiledPrincipal {
  const policy = plan.resources('aws_iam_policy').find((p) => plan.resolve(String(p.config.name)) === policyName);
  if (!policy) throw new Error(`the plan defines no operator policy ${policyName}`);
  const statements = policyDocument(plan, policy.address, policy.config.policy).flatMap((doc) => [doc.Statement].flat());
  if (statements.some((statement) => statement.Condition !== undefined)) {
    throw new Error(`${policy.address}: a policy statement with a Condition cannot be evaluated locally`);
  }
  return { functionName: 'operator', roleName: policyName, statements, compiled: statements.map(compileStatement) };
}

function policyDocument(plan: StackPlan, address: string, policy: unknown): PolicyDocument[] {
  const text = plan.resolve(String(policy));
  try {
    return [JSON.parse(text) as PolicyDocument];
  } catch (error) {
    throw new Error(`${address}: the policy is not JSON (${(error as Error).message})`);
  }
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
    .flatMap((policy) => policyDocument(plan, policy.address, policy.config.policy));
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
