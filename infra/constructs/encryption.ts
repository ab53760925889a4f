import { TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import type { StageConfig } from '../config/stages.ts';
import { KMS_KEY_VARIABLE } from '../config/variables.ts';

/**
 * Encryption at rest with a customer-managed KMS key, for stages that ask for one. The key is the SRE's (its
 * policy, rotation and deletion are theirs), so the stack takes its ARN as a variable and never creates it.
 */
export class EncryptionKey extends Construct {
  /** The key's ARN, or undefined when the stage keeps AWS-managed encryption. */
  readonly keyArn: string | undefined;

  constructor(scope: Construct, id: string, stage: StageConfig) {
    super(scope, id);
    if (!stage.customerManagedKey) {
      this.keyArn = undefined;
      return;
    }
    const variable = new TerraformVariable(this, KMS_KEY_VARIABLE, {
      type: 'string',
      description: `ARN of the customer-managed KMS key (in ${stage.region}) that encrypts the DynamoDB tables, log groups, Lambda environment variables, alarm topics and dead-letter queue; its key policy must let CloudWatch Logs, and CloudWatch and AWS Budgets (which publish to the encrypted topics), use it (docs/operations.md#customer-managed-key)`,
      validation: [
        {
          condition: `\${can(regex("^arn:aws[a-z-]*:kms:${stage.region}:[0-9]{12}:key/[A-Za-z0-9-]+$", var.${KMS_KEY_VARIABLE}))}`,
          errorMessage: `${KMS_KEY_VARIABLE} must be the ARN of a KMS key in ${stage.region} (arn:aws:kms:${stage.region}:<account>:key/<id>); aliases are not accepted by CloudWatch Logs.`,
        },
      ],
    });
    variable.overrideLogicalId(KMS_KEY_VARIABLE);
    this.keyArn = variable.stringValue;
  }
}
