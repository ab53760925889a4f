import { CognitoUserPool } from '@cdktf/provider-aws/lib/cognito-user-pool/index.js';
import { CognitoUserPoolClient } from '@cdktf/provider-aws/lib/cognito-user-pool-client/index.js';
import { TerraformOutput, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { resourceName, type StageConfig } from '../config/stages.ts';
import { IDENTITY_VARIABLES } from '../config/variables.ts';

/** What the authorizer verifies a connection token against (Terraform expressions or references). */
export interface JwtSettings {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUrl: string;
}

function requiredVariable(scope: Construct, name: string, description: string, condition: string, errorMessage: string): TerraformVariable {
  const v = new TerraformVariable(scope, name, { type: 'string', description, validation: [{ condition, errorMessage }] });
  v.overrideLogicalId(name);
  return v;
}

/**
 * Which identity provider's JWTs open a connection. With an `external` provider its issuer differs per
 * deployment, so it comes from Terraform variables (an SRE's tfvars; the local runtime's development issuer).
 * With `cognito` the stack creates the user pool and app client and trusts their ID tokens.
 */
export class ChatIdentity extends Construct {
  readonly jwt: JwtSettings;

  constructor(scope: Construct, id: string, stage: StageConfig) {
    super(scope, id);
    this.jwt = stage.identityProvider === 'cognito' ? this.cognito(stage) : this.external();
  }

  private external(): JwtSettings {
    const issuer = requiredVariable(
      this,
      IDENTITY_VARIABLES.issuer,
      'Issuer (iss) every connection token must carry, e.g. https://cognito-idp.<region>.amazonaws.com/<pool>',
      `\${length(trimspace(var.${IDENTITY_VARIABLES.issuer})) > 0}`,
      `${IDENTITY_VARIABLES.issuer} must name the token issuer (the iss claim); it is empty.`,
    );
    const audience = requiredVariable(
      this,
      IDENTITY_VARIABLES.audience,
      'Audience (aud) every connection token must carry',
      `\${length(trimspace(var.${IDENTITY_VARIABLES.audience})) > 0}`,
      `${IDENTITY_VARIABLES.audience} must name the token audience (the aud claim); it is empty.`,
    );
    const jwksUrl = requiredVariable(
      this,
      IDENTITY_VARIABLES.jwksUrl,
      'HTTPS URL of the JSON Web Key Set that signs connection tokens',
      `\${can(regex("^https://[^ ]+$", var.${IDENTITY_VARIABLES.jwksUrl}))}`,
      `${IDENTITY_VARIABLES.jwksUrl} must be an https:// URL: the authorizer fetches signing keys from it.`,
    );
    return { issuer: issuer.stringValue, audience: audience.stringValue, jwksUrl: jwksUrl.stringValue };
  }

  private cognito(stage: StageConfig): JwtSettings {
    const pool = new CognitoUserPool(this, 'user-pool', {
      name: resourceName(stage, 'users'),
      deletionProtection: stage.deletionProtection ? 'ACTIVE' : 'INACTIVE',
      usernameAttributes: ['email'],
      autoVerifiedAttributes: ['email'],
      usernameConfiguration: { caseSensitive: false },
      passwordPolicy: {
        minimumLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireNumbers: true,
        requireSymbols: false,
        temporaryPasswordValidityDays: 3,
      },
      mfaConfiguration: 'OPTIONAL',
      softwareTokenMfaConfiguration: { enabled: true },
      accountRecoverySetting: { recoveryMechanism: [{ name: 'verified_email', priority: 1 }] },
      // Who may chat is an operator's decision: users are invited (admin-created), never self-registered.
      adminCreateUserConfig: { allowAdminCreateUserOnly: true },
    });
    const client = new CognitoUserPoolClient(this, 'client', {
      name: resourceName(stage, 'chat-client'),
      userPoolId: pool.id,
      // Chat clients are browsers and apps, which cannot keep a secret.
      generateSecret: false,
      explicitAuthFlows: ['ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
      preventUserExistenceErrors: 'ENABLED',
      enableTokenRevocation: true,
      idTokenValidity: 60,
      accessTokenValidity: 60,
      refreshTokenValidity: 30,
      tokenValidityUnits: [{ idToken: 'minutes', accessToken: 'minutes', refreshToken: 'days' }],
    });
    new TerraformOutput(this, 'cognito_user_pool_id', {
      value: pool.id,
      description: 'Cognito user pool whose users may connect (invite them with admin-create-user)',
    }).overrideLogicalId('cognito_user_pool_id');
    new TerraformOutput(this, 'cognito_client_id', {
      value: client.id,
      description: 'App client id clients sign in with; they connect with the ID token it issues',
    }).overrideLogicalId('cognito_client_id');
    // Cognito ID tokens carry the app client id as their audience; access tokens carry none, so clients send ID tokens.
    const issuer = `https://cognito-idp.${stage.region}.amazonaws.com/${pool.id}`;
    return { issuer, audience: client.id, jwksUrl: `${issuer}/.well-known/jwks.json` };
  }
}
