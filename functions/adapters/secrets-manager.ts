/**
 * Reads one secret with Secrets Manager's GetSecretValue, signed with the function's role (SigV4). Not the SDK's
 * client: the canary reads one value, and the client would be most of its bundle.
 */
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { ServiceError } from './service-error.ts';
import { Sha256 } from './sha256.ts';

export interface SecretsManagerOptions {
  readonly region: string;
  /** AWS_ENDPOINT_URL_SECRETS_MANAGER when set (the SDK's variable for it), else the Region's endpoint. */
  readonly endpoint?: string;
}

export function secretsManagerEndpoint(region: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.AWS_ENDPOINT_URL_SECRETS_MANAGER || `https://secretsmanager.${region}.amazonaws.com`;
}

export async function readSecretString(secretId: string, options: SecretsManagerOptions): Promise<string> {
  const url = new URL(options.endpoint ?? secretsManagerEndpoint(options.region));
  const signer = new SignatureV4({ service: 'secretsmanager', region: options.region, credentials: defaultProvider(), sha256: Sha256 });
  const body = JSON.stringify({ SecretId: secretId });
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    path: '/',
    query: {},
    headers: { host: url.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.GetSecretValue' },
    body,
  });
  const response = await fetch(new URL('/', url), { method: 'POST', headers: signed.headers, body });
  const answer = (await response.json().catch(() => ({}))) as { SecretString?: unknown; __type?: unknown; message?: unknown; Message?: unknown };
  if (!response.ok || typeof answer.SecretString !== 'string') {
    const type = String(answer.__type ?? `Http${response.status}`).split('#').pop() as string;
    throw new ServiceError(type, response.status, `GetSecretValue ${secretId}: ${String(answer.message ?? answer.Message ?? type)}`);
  }
  return answer.SecretString;
}
