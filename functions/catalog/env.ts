/** Names of the environment variables infra sets on the functions and the handlers read. */
export const ENV = {
  connectionsEndpoint: 'CONNECTIONS_ENDPOINT',
  jwtIssuer: 'JWT_ISSUER',
  jwtAudience: 'JWT_AUDIENCE',
  jwksUrl: 'JWKS_URL',
  stage: 'STAGE',
} as const;

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Missing environment variable ${name}`);
  return value;
}
