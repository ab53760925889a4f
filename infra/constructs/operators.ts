import { IamPolicy } from '@cdktf/provider-aws/lib/iam-policy/index.js';
import { Construct } from 'constructs';
import { resourceName, SERVICE, type StageConfig } from '../config/stages.ts';
import type { TableKey } from '../../functions/catalog/tables.ts';
import type { ConnectionsTarget } from './functions.ts';

/** The managed policy operators of a stage are given; the local stack finds its operator identity's grants by it. */
export function operatorPolicyName(stageName: string): string {
  return `${SERVICE}-${stageName}-operator`;
}

export interface OperatorAccessProps {
  readonly stage: StageConfig;
  readonly connections: ConnectionsTarget;
  /** The tables' ARNs: `slots` (one item per open connection, keyed by user) and those an erasure reads or deletes. */
  readonly tableArns: Readonly<Record<TableKey, string>>;
  /** The attachment objects' ARN pattern (the key prefix): an erased user's files are deleted. */
  readonly attachmentObjectsArn: string;
  /** The functions' (unqualified) ARNs: a rollout or rollback moves their aliases. */
  readonly functionArns: readonly string[];
}

/** Tables an erasure scans for the user's items and deletes them from (ops/erase-user.ts). */
export const ERASED_TABLES = ['messages', 'attachments', 'memberships', 'presence', 'roles', 'connections'] as const satisfies readonly TableKey[];

/**
 * What an operator needs for `npm run admin` (ops/admin-cli.ts), and nothing more:
 * - cut a user off (`disconnect`): find the user's connections (Query on the slots table), look a connection up
 *   (GET) and close it (DELETE) through `@connections`;
 * - erase a user (`erase-user`): Scan the tables holding the user's items and DeleteItem them (and their slots),
 *   raise a room's seq counter past an erased message (UpdateItem on rooms), and DeleteObject their files.
 * - run or undo a rollout by hand (`npm run rollout`, `npm run rollback`, ops/rollout.ts): publish a version, list
 *   versions, read and move an alias, and read the stage's alarms (metric alarms only: reading composite alarms
 *   needs DescribeAlarms on "*", and the rollout watches the page composite's members instead).
 * Never POST: an operator does not speak as the service; no PutItem, no reads of other tables, nothing on the
 * bucket but deleting under its key prefix. Attached to the operators' own role or group outside this stack.
 */
export class OperatorAccess extends Construct {
  readonly policy: IamPolicy;

  constructor(scope: Construct, id: string, props: OperatorAccessProps) {
    super(scope, id);
    const { stage, connections, tableArns, attachmentObjectsArn, functionArns } = props;
    this.policy = new IamPolicy(this, 'operator', {
      name: operatorPolicyName(stage.name),
      description: `Operators of ${stage.name}: look up and close WebSocket connections, erase a user's data`,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: ['execute-api:ManageConnections'], Resource: [connections.getArn, connections.deleteArn] },
          { Effect: 'Allow', Action: ['dynamodb:Query', 'dynamodb:DeleteItem'], Resource: tableArns.slots },
          { Effect: 'Allow', Action: ['dynamodb:Scan', 'dynamodb:DeleteItem'], Resource: ERASED_TABLES.map((table) => tableArns[table]) },
          { Effect: 'Allow', Action: ['dynamodb:UpdateItem'], Resource: tableArns.rooms },
          { Effect: 'Allow', Action: ['s3:DeleteObject'], Resource: attachmentObjectsArn },
          {
            Effect: 'Allow',
            Action: ['lambda:PublishVersion', 'lambda:ListVersionsByFunction', 'lambda:GetAlias', 'lambda:UpdateAlias'],
            // The unqualified ARN and its qualified forms (name:live, name:3).
            Resource: functionArns.flatMap((arn) => [arn, `${arn}:*`]),
          },
          {
            Effect: 'Allow',
            Action: ['cloudwatch:DescribeAlarms'],
            // Any account: an identity policy reaches its own account's alarms only (alarms have no resource
            // policies), and the local stack reads the policy without evaluating the account id's expression.
            Resource: `arn:aws:cloudwatch:${stage.region}:*:alarm:${resourceName(stage, '*')}`,
          },
        ],
      }),
    });
  }
}
