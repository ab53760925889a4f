import { TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { IDENTITY_VARIABLES } from '../config/variables.ts';

function variable(scope: Construct, name: string, description: string): TerraformVariable {
  const v = new TerraformVariable(scope, name, { type: 'string', description });
  v.overrideLogicalId(name);
  return v;
}

/**
 * Which identity provider's JWTs open a connection. These differ per deployment, so they are Terraform
 * variables: an SRE sets them in tfvars; the local runtime sets them to its development identity provider.
 */
export class IdentitySettings extends Construct {
  readonly issuer: TerraformVariable;
  readonly audience: TerraformVariable;
  readonly jwksUrl: TerraformVariable;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.issuer = variable(
      this,
      IDENTITY_VARIABLES.issuer,
      'Issuer (iss) every connection token must carry, e.g. https://cognito-idp.<region>.amazonaws.com/<pool>',
    );
    this.audience = variable(this, IDENTITY_VARIABLES.audience, 'Audience (aud) every connection token must carry');
    this.jwksUrl = variable(this, IDENTITY_VARIABLES.jwksUrl, 'HTTPS URL of the JSON Web Key Set that signs connection tokens');
  }
}
