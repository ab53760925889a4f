import { SecretsmanagerSecret } from '@cdktf/provider-aws/lib/secretsmanager-secret/index.js';
import { SecretsmanagerSecretVersion } from '@cdktf/provider-aws/lib/secretsmanager-secret-version/index.js';
import { Construct } from 'constructs';
import { resourceName, type StageConfig } from '../config/stages.ts';

export interface CanarySecretProps {
  readonly stage: StageConfig;
  /** The machine client's secret: the Cognito client's attribute, or the issuer's from a variable. */
  readonly clientSecret: string;
  /** Customer-managed key for the secret; without one, Secrets Manager's AWS-managed key. */
  readonly kmsKeyArn?: string;
}

/**
 * The canary's client secret in Secrets Manager: the canary function is the one principal granted to read it
 * (functions.ts), and the secret never appears in its environment. Terraform keeps the value in its state, as it
 * does every secret it writes: the state backend is encrypted (infra/config/state-backend.ts).
 */
export class CanarySecret extends Construct {
  readonly arn: string;

  constructor(scope: Construct, id: string, props: CanarySecretProps) {
    super(scope, id);
    const secret = new SecretsmanagerSecret(this, 'secret', {
      name: resourceName(props.stage, 'canary-client-secret'),
      description: "The canary's machine client secret (client-credentials grant); read by the canary function only",
      kmsKeyId: props.kmsKeyArn,
      // A deleted stage's secret is recoverable for a week, then gone.
      recoveryWindowInDays: 7,
    });
    new SecretsmanagerSecretVersion(this, 'value', { secretId: secret.id, secretString: props.clientSecret });
    this.arn = secret.arn;
  }
}
