import { TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';

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
    this.issuer = new TerraformVariable(this, 'jwt_issuer', {
      type: 'string',
      description: 'Issuer (iss) every connection token must carry, e.g. https://cognito-idp.<region>.amazonaws.com/<pool>',
    });
    this.issuer.overrideLogicalId('jwt_issuer');
    this.audience = new TerraformVariable(this, 'jwt_audience', {
      type: 'string',
      description: 'Audience (aud) every connection token must carry',
    });
    this.audience.overrideLogicalId('jwt_audience');
    this.jwksUrl = new TerraformVariable(this, 'jwks_url', {
      type: 'string',
      description: 'HTTPS URL of the JSON Web Key Set that signs connection tokens',
    });
    this.jwksUrl.overrideLogicalId('jwks_url');
  }
}
