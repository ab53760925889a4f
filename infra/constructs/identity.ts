import { CognitoResourceServer } from '@cdktf/provider-aws/lib/cognito-resource-server/index.js';
import { CognitoUserPool } from '@cdktf/provider-aws/lib/cognito-user-pool/index.js';
import { CognitoUserPoolClient } from '@cdktf/provider-aws/lib/cognito-user-pool-client/index.js';
import { CognitoUserPoolDomain } from '@cdktf/provider-aws/lib/cognito-user-pool-domain/index.js';
import { TerraformOutput, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { resourceName, type StageConfig } from '../config/stages.ts';
import { CANARY_VARIABLES, IDENTITY_VARIABLES } from '../config/variables.ts';

/** What the authorizer verifies a connection token against (Terraform expressions or references). */
export interface JwtSettings {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUrl: string;
}

/** The canary's machine client (client-credentials grant), as Terraform expressions or references. */
export interface CanaryClient {
  readonly tokenEndpoint: string;
  readonly clientId: string;
  /** Sensitive: it goes into the stage's Secrets Manager secret and nowhere else. */
  readonly clientSecret: string;
  /** The one scope the canary asks for and the authorizer requires of its tokens. */
  readonly scope: string;
}

/** The resource server's identifier and the canary's scope on it: `wschat/canary`. */
const RESOURCE_SERVER = 'wschat';
const CANARY_SCOPE_NAME = 'canary';

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
  readonly canary: CanaryClient;

  constructor(scope: Construct, id: string, stage: StageConfig) {
    super(scope, id);
    const identity = stage.identityProvider === 'cognito' ? this.cognito(stage) : { jwt: this.external(), canary: this.externalCanary() };
    this.jwt = identity.jwt;
    this.canary = identity.canary;
  }

  /** The issuer's machine client for the canary, from variables (its secret marked sensitive). */
  private externalCanary(): CanaryClient {
    const tokenEndpoint = requiredVariable(
      this,
      CANARY_VARIABLES.tokenEndpoint,
      "HTTPS URL of the issuer's OAuth 2.0 token endpoint the canary gets its token from (client-credentials grant)",
      `\${can(regex("^https://[^ ]+$", var.${CANARY_VARIABLES.tokenEndpoint}))}`,
      `${CANARY_VARIABLES.tokenEndpoint} must be an https:// URL: the canary posts its client credentials to it.`,
    );
    const clientId = requiredVariable(
      this,
      CANARY_VARIABLES.clientId,
      "The canary's machine client id at the issuer (its tokens carry it as client_id)",
      `\${length(trimspace(var.${CANARY_VARIABLES.clientId})) > 0}`,
      `${CANARY_VARIABLES.clientId} must name the canary's machine client; it is empty.`,
    );
    const clientSecret = requiredVariable(
      this,
      CANARY_VARIABLES.clientSecret,
      "The canary's machine client secret (stored in the stage's Secrets Manager secret)",
      `\${length(var.${CANARY_VARIABLES.clientSecret}) > 0}`,
      `${CANARY_VARIABLES.clientSecret} must hold the canary's client secret; it is empty.`,
    );
    clientSecret.addOverride('sensitive', true);
    const scope = requiredVariable(
      this,
      CANARY_VARIABLES.scope,
      "The scope the canary asks for; the authorizer accepts the canary's tokens only with it",
      `\${can(regex("^[^ ]+$", var.${CANARY_VARIABLES.scope}))}`,
      `${CANARY_VARIABLES.scope} must be one scope, without spaces.`,
    );
    return { tokenEndpoint: tokenEndpoint.stringValue, clientId: clientId.stringValue, clientSecret: clientSecret.stringValue, scope: scope.stringValue };
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

  private cognito(stage: StageConfig): { jwt: JwtSettings; canary: CanaryClient } {
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
    return { jwt: { issuer, audience: client.id, jwksUrl: `${issuer}/.well-known/jwks.json` }, canary: this.cognitoCanary(stage, pool) };
  }

  /**
   * A machine client for the canary: the client-credentials grant for one scope of its own resource server, served
   * by the pool's domain. Its access tokens carry that scope and the client id, which is all the authorizer accepts
   * them for (the canary room only).
   */
  private cognitoCanary(stage: StageConfig, pool: CognitoUserPool): CanaryClient {
    const server = new CognitoResourceServer(this, 'resource-server', {
      userPoolId: pool.id,
      identifier: RESOURCE_SERVER,
      name: resourceName(stage, 'api'),
      scope: [{ scopeName: CANARY_SCOPE_NAME, scopeDescription: 'The synthetic chat user: its own room only' }],
    });
    // The token endpoint lives on a domain of the pool; the prefix is the stage's resource name.
    const domain = new CognitoUserPoolDomain(this, 'domain', { userPoolId: pool.id, domain: resourceName(stage, 'auth') });
    const scope = `${RESOURCE_SERVER}/${CANARY_SCOPE_NAME}`;
    const client = new CognitoUserPoolClient(this, 'canary-client', {
      name: resourceName(stage, 'canary'),
      userPoolId: pool.id,
      // A confidential client: the secret stays in Secrets Manager, readable by the canary function alone.
      generateSecret: true,
      allowedOauthFlows: ['client_credentials'],
      allowedOauthFlowsUserPoolClient: true,
      allowedOauthScopes: [scope],
      explicitAuthFlows: [],
      preventUserExistenceErrors: 'ENABLED',
      enableTokenRevocation: true,
      accessTokenValidity: 60,
      tokenValidityUnits: [{ accessToken: 'minutes' }],
      dependsOn: [server],
    });
    return {
      tokenEndpoint: `https://${domain.domain}.auth.${stage.region}.amazoncognito.com/oauth2/token`,
      clientId: client.id,
      clientSecret: client.clientSecret,
      scope,
    };
  }
}
