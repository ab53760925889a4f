import { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js';
import { LocalBackend, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import path from 'node:path';
import { SERVICE, type StageConfig } from './config/stages.ts';
import { ChatApi } from './constructs/api.ts';
import { ChatFunctions } from './constructs/functions.ts';
import { IdentitySettings } from './constructs/identity.ts';
import { Observability } from './constructs/observability.ts';
import { ChatTables } from './constructs/tables.ts';

export interface ChatStackProps {
  readonly stage: StageConfig;
  /** Where function bundles are built before being zipped into the stack's assets. */
  readonly buildDir: string;
}

/** Everything one stage needs: tables, functions, the WebSocket API. */
export class ChatStack extends TerraformStack {
  constructor(scope: Construct, id: string, props: ChatStackProps) {
    super(scope, id);
    const { stage } = props;
    // Relative to the stack directory, so the synthesized plan does not embed this machine's paths.
    new LocalBackend(this, { path: 'terraform.tfstate' });
    new AwsProvider(this, 'aws', {
      region: stage.region,
      defaultTags: [{ tags: { service: SERVICE, stage: stage.name, 'managed-by': 'terraform', ...stage.tags } }],
    });
    const identity = new IdentitySettings(this, 'identity');
    const tables = new ChatTables(this, 'tables', stage);
    const api = new ChatApi(this, 'api', stage);
    const functions = new ChatFunctions(this, 'functions', {
      stage,
      tables: tables.tables,
      connections: api.connections,
      identity,
      buildDir: path.join(props.buildDir, stage.name),
    });
    api.connectRoutes(functions.functions);
    new Observability(this, 'observability', {
      stage,
      apiId: api.api.id,
      functions: functions.functions,
      functionLogGroups: functions.logGroupNames,
      accessLogGroup: api.accessLogGroupName,
      tables: tables.tables,
    });
  }
}
