import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule/index.js';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target/index.js';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group/index.js';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js';
import { LambdaAlias } from '@cdktf/provider-aws/lib/lambda-alias/index.js';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function/index.js';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission/index.js';
import { AssetType, TerraformAsset } from 'cdktf';
import { Construct } from 'constructs';
import { CANARY_ENV, ENV } from '../../functions/catalog/env.ts';
import { retentionSecondsOfDays } from '../../functions/domain/retention.ts';
import { CANARY_FUNCTION, CANARY_ROOM, FANOUT_FUNCTION, FUNCTION_NAMES, FUNCTIONS, type FunctionName, type FunctionSpec } from '../../functions/catalog/functions.ts';
import { tableEnvVar, type TableKey } from '../../functions/catalog/tables.ts';
import type { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table/index.js';
import { bundleFunction, HANDLER } from '../bundle.ts';
import { resourceName, SERVICE, type StageConfig } from '../config/stages.ts';
import type { CanaryClient, JwtSettings } from './identity.ts';

export const LAMBDA_RUNTIME = 'nodejs22.x';

/**
 * The alias everything invokes (API integrations, the authorizer, fan-out invokes, event invoke configs,
 * permissions): provisioned concurrency and gradual deploys act on an alias, never on $LATEST.
 */
export const LIVE_ALIAS = 'live';

/** `name:live`, the qualified name a caller passes as FunctionName to invoke through the alias. */
export function aliasQualifiedName(functionName: string): string {
  return `${functionName}:${LIVE_ALIAS}`;
}


export interface ConnectionsTarget {
  /** https://{api-id}.execute-api.{region}.amazonaws.com/{stage}, the `@connections` endpoint. */
  readonly endpoint: string;
  /** ARN pattern that `execute-api:ManageConnections` is granted on (this stage's POST only). */
  readonly postArn: string;
  /** ARN pattern of this stage's DELETE: message routes close connections whose token expired (domain/session.ts). */
  readonly deleteArn: string;
  /** ARN pattern of this stage's GET (GetConnection): operators look a connection up with it, `$connect` a slot's holder. */
  readonly getArn: string;
}

export interface ChatFunctionsProps {
  readonly stage: StageConfig;
  readonly tables: Record<TableKey, DynamodbTable>;
  readonly connections: ConnectionsTarget;
  readonly identity: JwtSettings;
  /**
   * Customer-managed KMS key for the log groups and the functions' environment variables; without one, CloudWatch
   * Logs and Lambda encrypt with their own keys.
   */
  readonly kmsKeyArn?: string;
  /** Where bundles are built before being zipped as assets. */
  readonly buildDir: string;
  /** The attachment bucket: its name, and the ARN pattern of the objects under its key prefix. */
  readonly attachments: { readonly bucketName: string; readonly objectsArn: string; readonly kmsKeyArn?: string };
  /** The queue the fan-out function's failed events go to (its on-failure destination). */
  readonly fanoutDeadLetters: { readonly queueArn: string; readonly kmsKeyArn?: string };
  /** The canary's machine client, the secret holding its client secret, and the wss:// URL it connects to. */
  readonly canary: { readonly client: CanaryClient; readonly secretArn: string; readonly kmsKeyArn?: string; readonly url: string };
}

interface PolicyStatement {
  Effect: 'Allow';
  Action: string[];
  Resource: string | string[];
}

interface CreatedFunction {
  readonly scope: Construct;
  readonly fn: LambdaFunction;
  readonly alias: LambdaAlias;
  readonly role: IamRole;
  readonly logGroup: CloudwatchLogGroup;
}

/** One Lambda function per catalog entry, each with its own role granting exactly what the catalog says. */
export class ChatFunctions extends Construct {
  readonly functions: Record<FunctionName, LambdaFunction>;
  /** The `live` alias of each function: what every caller invokes. */
  readonly aliases: Record<FunctionName, LambdaAlias>;
  readonly logGroupNames: string[] = [];

  constructor(scope: Construct, id: string, private readonly props: ChatFunctionsProps) {
    super(scope, id);
    const created = new Map(FUNCTION_NAMES.map((name) => [name, this.createFunction(name)]));
    this.functions = Object.fromEntries([...created].map(([name, { fn }]) => [name, fn])) as Record<FunctionName, LambdaFunction>;
    this.aliases = Object.fromEntries([...created].map(([name, { alias }]) => [name, alias])) as Record<FunctionName, LambdaAlias>;
    // Policies come last: a function's may name another function (the fan-out function's ARN).
    for (const [name, { scope: fnScope, role, logGroup }] of created) {
      new IamRolePolicy(fnScope, 'policy', {
        name: 'least-privilege',
        role: role.id,
        // A JSON string (not jsonencode) so the plan holds the document itself, readable by reviewers and tools.
        policy: JSON.stringify({ Version: '2012-10-17', Statement: this.statements(name, FUNCTIONS[name], logGroup) }),
      });
    }
  }

  private createFunction(name: FunctionName): CreatedFunction {
    const { stage } = this.props;
    const spec: FunctionSpec = FUNCTIONS[name];
    const functionName = resourceName(stage, name);
    const scope = new Construct(this, name);

    const logGroup = new CloudwatchLogGroup(scope, 'logs', {
      name: `/aws/lambda/${functionName}`,
      retentionInDays: stage.logRetentionDays,
      kmsKeyId: this.props.kmsKeyArn,
    });
    this.logGroupNames.push(logGroup.name);
    const role = new IamRole(scope, 'role', {
      name: `${functionName}-fn`,
      assumeRolePolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      }),
    });
    const asset = new TerraformAsset(scope, 'bundle', {
      path: bundleFunction(name, this.props.buildDir),
      type: AssetType.ARCHIVE,
    });
    const fn = new LambdaFunction(scope, 'function', {
      functionName,
      description: spec.description,
      role: role.arn,
      handler: HANDLER,
      runtime: LAMBDA_RUNTIME,
      architectures: ['arm64'],
      filename: asset.path,
      sourceCodeHash: asset.assetHash,
      timeout: spec.timeoutSeconds,
      memorySize: spec.memoryMb,
      // From the stage's budget (infra/config/stages.ts), checked against the account quota before synthesis.
      reservedConcurrentExecutions: stage.concurrency.reserved[name],
      tracingConfig: { mode: 'Active' },
      loggingConfig: { logFormat: 'Text', logGroup: logGroup.name },
      environment: { variables: this.environment(name, spec) },
      // Lambda decrypts the variables through a grant it creates with the deployer's permissions, not the role's.
      kmsKeyArn: this.props.kmsKeyArn,
      // The catalog name, so tools reading the plan (the local drills) find a function without rebuilding its name.
      tags: { function: name },
      // Every apply of changed code or configuration publishes an immutable version the alias can point at.
      publish: true,
      dependsOn: [logGroup],
    });
    const alias = new LambdaAlias(scope, 'alias', {
      name: LIVE_ALIAS,
      description: `What every caller of ${functionName} invokes`,
      functionName: fn.functionName,
      // The first apply creates the alias on the version that apply publishes; from then on the rollout
      // (ops/rollout.ts) moves it, shifting weight to each newly published version, and records the version it
      // replaced in the description. Terraform leaves all three alone, so a rollout is not drift.
      functionVersion: fn.version,
      lifecycle: { ignoreChanges: ['function_version', 'routing_config', 'description'] },
    });
    if (spec.schedule) this.schedule(scope, functionName, alias, spec.schedule);
    return { scope, fn, alias, role, logGroup };
  }

  /** An EventBridge rule invokes the function's live alias on its schedule, with the permission Lambda needs to let it. */
  private schedule(scope: Construct, functionName: string, alias: LambdaAlias, expression: string): void {
    const rule = new CloudwatchEventRule(scope, 'schedule', {
      name: `${functionName}-schedule`,
      description: `Invokes ${functionName} ${expression}`,
      scheduleExpression: expression,
    });
    new CloudwatchEventTarget(scope, 'schedule-target', { rule: rule.name, targetId: 'function', arn: alias.arn });
    new LambdaPermission(scope, 'schedule-permission', {
      statementId: 'schedule',
      action: 'lambda:InvokeFunction',
      functionName: alias.functionName,
      qualifier: alias.name,
      principal: 'events.amazonaws.com',
      sourceArn: rule.arn,
    });
  }

  private environment(name: FunctionName, spec: FunctionSpec): Record<string, string> {
    const { stage, tables, connections, identity } = this.props;
    const variables: Record<string, string> = {
      [ENV.stage]: stage.name,
      POWERTOOLS_SERVICE_NAME: SERVICE,
      POWERTOOLS_LOG_LEVEL: stage.logLevel,
    };
    for (const grant of spec.tables) variables[tableEnvVar(grant.table)] = tables[grant.table].name;
    if (spec.manageConnections || spec.looksUpConnections) variables[ENV.connectionsEndpoint] = connections.endpoint;
    const { canary } = this.props;
    if (name === 'authorizer') {
      variables[ENV.jwtIssuer] = identity.issuer;
      variables[ENV.jwtAudience] = identity.audience;
      variables[ENV.jwksUrl] = identity.jwksUrl;
      // Which machine client's tokens it accepts, and the one room it confines them to.
      variables[CANARY_ENV.clientId] = canary.client.clientId;
      variables[CANARY_ENV.scope] = canary.client.scope;
      variables[CANARY_ENV.room] = CANARY_ROOM;
    }
    if (name === CANARY_FUNCTION) {
      variables[CANARY_ENV.url] = canary.url;
      variables[CANARY_ENV.room] = CANARY_ROOM;
      variables[CANARY_ENV.tokenEndpoint] = canary.client.tokenEndpoint;
      variables[CANARY_ENV.scope] = canary.client.scope;
      variables[CANARY_ENV.clientId] = canary.client.clientId;
      variables[CANARY_ENV.secretArn] = canary.secretArn;
    }
    // Every function that posts may fan out (messages, presence, typing).
    if (spec.manageConnections) variables[ENV.fanoutConcurrency] = String(stage.fanout.concurrency);
    if (spec.broadcasts) {
      variables[ENV.fanoutFunction] = aliasQualifiedName(resourceName(stage, FANOUT_FUNCTION));
      variables[ENV.fanoutAsyncThreshold] = String(stage.fanout.asyncThreshold);
      variables[ENV.fanoutShardSize] = String(stage.fanout.shardSize);
    }
    const routeRate = (stage.limits.routeRates as Partial<Record<FunctionName, { ratePerSecond: number; burst: number }>>)[name];
    if (spec.routeRateLimited && routeRate) {
      variables[ENV.routeRatePerSecond] = String(routeRate.ratePerSecond);
      variables[ENV.routeRateBurst] = String(routeRate.burst);
    }
    if (spec.attachments) {
      const { attachments } = stage;
      variables[ENV.attachmentsBucket] = this.props.attachments.bucketName;
      variables[ENV.attachmentMaxBytes] = String(attachments.maxBytes);
      variables[ENV.attachmentContentTypes] = attachments.contentTypes.join(',');
      variables[ENV.attachmentInlineTypes] = attachments.inlineTypes.join(',');
    }
    // Only send writes messages, so only it stamps their expiry.
    if (name === 'send') variables[ENV.messageRetentionSeconds] = String(retentionSecondsOfDays(stage.messageRetentionDays));
    if (name === 'connect') variables[ENV.connectionsPerUser] = String(stage.limits.connectionsPerUser);
    if (name === 'join') {
      variables[ENV.roomsPerConnection] = String(stage.limits.roomsPerConnection);
      variables[ENV.membersPerRoom] = String(stage.limits.membersPerRoom);
    }
    if (name === 'typing') variables[ENV.typingMaxMembers] = String(stage.limits.typingMaxMembers);
    if (name === 'send') {
      variables[ENV.sendRateLimit] = String(stage.sendRate.maxSends);
      variables[ENV.sendRateWindowMs] = String(stage.sendRate.windowMs);
    }
    return variables;
  }

  private statements(name: FunctionName, spec: FunctionSpec, logGroup: CloudwatchLogGroup): PolicyStatement[] {
    const { tables, connections, fanoutDeadLetters } = this.props;
    const statements: PolicyStatement[] = [
      { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: `${logGroup.arn}:*` },
      // X-Ray's trace APIs have no resource-level permissions: "*" is the only valid resource.
      { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' },
    ];
    for (const grant of spec.tables) {
      const table = tables[grant.table];
      statements.push({
        Effect: 'Allow',
        Action: grant.actions.map((action) => `dynamodb:${action}`),
        Resource: [table.arn, ...(grant.indexes ?? []).map((index) => `${table.arn}/index/${index}`)],
      });
    }
    const connectionArns = [
      // DELETE as well: a frame route closes its own connection when its session has ended (SESSION_EXPIRED), and
      // every fan-out closes members whose session has ended instead of posting to them (app/fanout.ts).
      ...(spec.manageConnections ? [connections.postArn, connections.deleteArn] : []),
      ...(spec.looksUpConnections ? [connections.getArn] : []),
    ];
    if (connectionArns.length) statements.push({ Effect: 'Allow', Action: ['execute-api:ManageConnections'], Resource: connectionArns });
    if (spec.attachments) {
      const { objectsArn, kmsKeyArn } = this.props.attachments;
      statements.push({ Effect: 'Allow', Action: [...spec.attachments], Resource: objectsArn });
      // SSE-KMS: a (presigned) upload needs a data key, a download or HEAD the key's decryption, as the signer.
      if (kmsKeyArn) {
        const kmsActions = spec.attachments.includes('s3:PutObject') ? ['kms:GenerateDataKey', 'kms:Decrypt'] : ['kms:Decrypt'];
        statements.push({ Effect: 'Allow', Action: kmsActions, Resource: kmsKeyArn });
      }
    }
    if (spec.broadcasts) {
      // The alias ARN only: a grant on the unqualified ARN would not cover an invoke through the alias, and none on
      // it keeps callers off $LATEST.
      statements.push({ Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: this.aliases[FANOUT_FUNCTION].arn });
    }
    if (name === CANARY_FUNCTION) {
      // Its client secret and nothing else; decrypting it needs the key when the stage has its own.
      const { secretArn, kmsKeyArn } = this.props.canary;
      statements.push({ Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: secretArn });
      if (kmsKeyArn) statements.push({ Effect: 'Allow', Action: ['kms:Decrypt'], Resource: kmsKeyArn });
    }
    if (name === FANOUT_FUNCTION) {
      // Lambda sends a failed event to the on-failure destination with the function's own role.
      statements.push({ Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: fanoutDeadLetters.queueArn });
      if (fanoutDeadLetters.kmsKeyArn) {
        statements.push({ Effect: 'Allow', Action: ['kms:GenerateDataKey', 'kms:Decrypt'], Resource: fanoutDeadLetters.kmsKeyArn });
      }
    }
    return statements;
  }
}
