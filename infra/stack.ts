import { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js';
import { LocalBackend, S3Backend, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import path from 'node:path';
import { stateKey, type StateBackend } from './config/state-backend.ts';
import { SERVICE, type StageConfig } from './config/stages.ts';
import { ApiGatewayAccountLogging } from './constructs/api-gateway-account.ts';
import { accountIdFrom } from './constructs/account.ts';
import { ChatApi } from './constructs/api.ts';
import { AuditTrail } from './constructs/audit-trail.ts';
import { CostBudget } from './constructs/budget.ts';
import { AttachmentBucket } from './constructs/attachments.ts';
import { CanarySecret } from './constructs/canary.ts';
import { CustomDomain } from './constructs/custom-domain.ts';
import { EncryptionKey } from './constructs/encryption.ts';
import { AsyncFanout } from './constructs/fanout.ts';
import { ChatFunctions } from './constructs/functions.ts';
import { ProvisionedConcurrencyScaling } from './constructs/concurrency.ts';
import { ChatIdentity } from './constructs/identity.ts';
import { Observability } from './constructs/observability.ts';
import { OperatorAccess } from './constructs/operators.ts';
import { ChatTables } from './constructs/tables.ts';
import { TABLE_KEYS, type TableKey } from '../functions/catalog/tables.ts';

export interface ChatStackProps {
  readonly stage: StageConfig;
  readonly stateBackend: StateBackend;
  /** Where function bundles are built before being zipped into the stack's assets. */
  readonly buildDir: string;
}

/** Everything one stage needs: tables, functions, the WebSocket API, identity, observability, its budget and audit trail. */
export class ChatStack extends TerraformStack {
  constructor(scope: Construct, id: string, props: ChatStackProps) {
    super(scope, id);
    const { stage, stateBackend } = props;
    if (stateBackend.kind === 's3') {
      new S3Backend(this, { bucket: stateBackend.bucket, key: stateKey(stage.name), region: stateBackend.region, encrypt: true });
      // S3-native state locking (Terraform >= 1.10); cdktf's final S3Backend predates the setting.
      this.addOverride('terraform.backend.s3.use_lockfile', true);
    } else {
      // Relative to the stack directory, so the synthesized plan does not embed this machine's paths.
      new LocalBackend(this, { path: 'terraform.tfstate' });
    }
    new AwsProvider(this, 'aws', {
      region: stage.region,
      defaultTags: [{ tags: { service: SERVICE, stage: stage.name, 'managed-by': 'terraform', ...stage.tags } }],
    });
    const encryption = new EncryptionKey(this, 'encryption', stage);
    const accountLogging = stage.manageApiGatewayAccount ? new ApiGatewayAccountLogging(this, 'apigateway-account', stage) : undefined;
    const identity = new ChatIdentity(this, 'identity', stage);
    const tables = new ChatTables(this, 'tables', { stage, kmsKeyArn: encryption.keyArn });
    const customDomain = stage.customDomain ? new CustomDomain(this, 'custom-domain', stage) : undefined;
    const api = new ChatApi(this, 'api', {
      stage,
      logsKmsKeyArn: encryption.keyArn,
      accountLogging: accountLogging?.account,
      customDomainHost: customDomain?.hostName,
    });
    const attachments = new AttachmentBucket(this, 'attachments', { stage, kmsKeyArn: encryption.keyArn });
    const fanout = new AsyncFanout(this, 'fanout', { stage, kmsKeyArn: encryption.keyArn });
    const canarySecret = new CanarySecret(this, 'canary', { stage, clientSecret: identity.canary.clientSecret, kmsKeyArn: encryption.keyArn });
    const functions = new ChatFunctions(this, 'functions', {
      stage,
      tables: tables.tables,
      connections: api.connections,
      identity: identity.jwt,
      kmsKeyArn: encryption.keyArn,
      buildDir: path.join(props.buildDir, stage.name),
      attachments: { bucketName: attachments.bucket.bucket, objectsArn: attachments.objectsArn, kmsKeyArn: encryption.keyArn },
      fanoutDeadLetters: { queueArn: fanout.deadLetterQueue.arn, kmsKeyArn: encryption.keyArn },
      // The canary connects where clients do: the custom domain when the stage serves one.
      canary: { client: identity.canary, secretArn: canarySecret.arn, kmsKeyArn: encryption.keyArn, url: api.connections.endpoint.replace(/^https:/, 'wss:') },
    });
    fanout.configureInvocations(functions.aliases.fanout);
    new ProvisionedConcurrencyScaling(this, 'provisioned-concurrency', { stage, aliases: functions.aliases });
    const accountId = accountIdFrom(this, fanout.deadLetterQueue.arn);
    const apiStage = api.connectRoutes(functions.aliases);
    new OperatorAccess(this, 'operators', {
      stage,
      connections: api.connections,
      tableArns: Object.fromEntries(TABLE_KEYS.map((key) => [key, tables.tables[key].arn])) as Record<TableKey, string>,
      attachmentObjectsArn: attachments.objectsArn,
      functionArns: Object.values(functions.functions).map((fn) => fn.arn),
    });
    customDomain?.serve(api.api, apiStage);
    const observability = new Observability(this, 'observability', {
      stage,
      apiId: api.api.id,
      functions: functions.functions,
      functionLogGroups: functions.logGroupNames,
      accessLogGroup: api.accessLogGroupName,
      tables: tables.tables,
      fanoutDeadLetterQueue: fanout.deadLetterQueue.name,
      kmsKeyArn: encryption.keyArn,
      accountId,
      certificateArn: customDomain?.certificateArn,
    });
    new CostBudget(this, 'budget', { stage, ticketTargets: observability.ticketTargets });
    if (stage.audit.trail) new AuditTrail(this, 'audit', { stage, tables: tables.tables, functions: functions.functions, accountId });
  }
}
