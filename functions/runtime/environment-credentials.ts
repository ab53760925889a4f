/**
 * What function bundles get for `@aws-sdk/credential-provider-node` (infra/bundle.ts aliases it here): Lambda
 * hands a function its execution role's credentials in the environment, so of the SDK's default chain only the
 * first link (environment variables) can ever answer there. The rest of the chain (INI files, SSO, STS web
 * identity, process, container and instance metadata, and the nested STS/SSO clients behind them) was about a
 * third of every bundle and never ran. Outside bundles (tests, tools) the SDK's own chain stays in use.
 */
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

/** Same name and error as the SDK's provider, so a missing variable fails the same way. */
export function defaultProvider(): AwsCredentialIdentityProvider {
  return async (): Promise<AwsCredentialIdentity> => {
    const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) {
      throw Object.assign(new Error('Unable to find environment variable credentials.'), { name: 'CredentialsProviderError', tryNextLink: false });
    }
    const sessionToken = process.env.AWS_SESSION_TOKEN;
    const expiration = process.env.AWS_CREDENTIAL_EXPIRATION;
    return {
      accessKeyId,
      secretAccessKey,
      ...(sessionToken ? { sessionToken } : {}),
      ...(expiration ? { expiration: new Date(expiration) } : {}),
    };
  };
}
