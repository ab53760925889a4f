import { ApiGatewayAccount } from '@cdktf/provider-aws/lib/api-gateway-account/index.js';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment/index.js';
import { Construct } from 'constructs';
import { resourceName, type StageConfig } from '../config/stages.ts';

/** AWS's policy for exactly this role: create log groups and streams and put events (API Gateway names them). */
export const API_GATEWAY_LOGS_POLICY_ARN = 'arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs';

/**
 * The account-level role API Gateway writes access logs with. Stage access logs fail to deploy until the account
 * has one, but it is one setting per account and Region, shared by every API there: only the stack that owns it
 * creates it (stage option `manageApiGatewayAccount`).
 */
export class ApiGatewayAccountLogging extends Construct {
  readonly account: ApiGatewayAccount;

  constructor(scope: Construct, id: string, stage: StageConfig) {
    super(scope, id);
    const role = new IamRole(this, 'role', {
      name: resourceName(stage, 'apigw-logs'),
      assumeRolePolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'apigateway.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      }),
    });
    const attachment = new IamRolePolicyAttachment(this, 'push-to-logs', { role: role.name, policyArn: API_GATEWAY_LOGS_POLICY_ARN });
    this.account = new ApiGatewayAccount(this, 'account', {
      cloudwatchRoleArn: role.arn,
      // Destroying the owning stack clears the setting it made, rather than leaving a dangling role ARN.
      resetOnDelete: true,
      // API Gateway checks the role can write logs when the setting is saved.
      dependsOn: [attachment],
    });
  }
}
