import { IamPolicy } from '@cdktf/provider-aws/lib/iam-policy/index.js';
import { Construct } from 'constructs';
import { SERVICE, type StageConfig } from '../config/stages.ts';
import type { ConnectionsTarget } from './functions.ts';

/** The managed policy operators of a stage are given; the local stack finds its operator identity's grants by it. */
export function operatorPolicyName(stageName: string): string {
  return `${SERVICE}-${stageName}-operator`;
}

export interface OperatorAccessProps {
  readonly stage: StageConfig;
  readonly connections: ConnectionsTarget;
  /** The `slots` table: one item per open connection, keyed by user, so a user's connections are one query. */
  readonly slotsTableArn: string;
}

/**
 * What an on-call operator needs to cut a user off (`npm run admin -- disconnect`), and nothing more: find the
 * user's connections (Query on the slots table), look a connection up (GET) and close it (DELETE) through
 * `@connections`. Never POST: an operator does not speak as the service; no other table, no writes. Attached to the
 * operators' own role or group outside this stack; the admin CLI (ops/admin-cli.ts) runs with it.
 */
export class OperatorAccess extends Construct {
  readonly policy: IamPolicy;

  constructor(scope: Construct, id: string, props: OperatorAccessProps) {
    super(scope, id);
    const { stage, connections, slotsTableArn } = props;
    this.policy = new IamPolicy(this, 'operator', {
      name: operatorPolicyName(stage.name),
      description: `Operators of ${stage.name}: look up and close WebSocket connections`,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: ['execute-api:ManageConnections'], Resource: [connections.getArn, connections.deleteArn] },
          { Effect: 'Allow', Action: ['dynamodb:Query'], Resource: slotsTableArn },
        ],
      }),
    });
  }
}
