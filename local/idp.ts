/**
 * Development identity provider: an ES256 key kept under .local/, a JWKS endpoint on the gateway's port,
 * and tokens for any user. Only the local runtime knows it; deployed stages trust their own issuer.
 */
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { USER_ID_PATTERN } from '../functions/domain/protocol-rules.ts';
import type { HttpHandler } from './gateway/gateway.ts';

export const LOCAL_IDP = {
  issuer: 'http://localhost/wschat-dev-idp',
  audience: 'wschat-local',
  jwksPath: '/_idp/jwks.json',
  /** Tokens for the browser chat page; deployed stages have no such endpoint (their issuer signs users in). */
  tokenPath: '/_local/token',
  /** The OAuth 2.0 token endpoint: client-credentials grant for the canary's machine client, as Cognito's domain serves it. */
  oauthTokenPath: '/_idp/oauth2/token',
  canaryClientId: 'wschat-local-canary',
  canaryScope: 'wschat/canary',
} as const;

/** A machine client the token endpoint knows (the canary's), with its secret and the one scope it may ask for. */
export interface MachineClient {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly scope: string;
}

const ALG = 'ES256';

interface KeyFile {
  readonly kid: string;
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
}

export interface DevIdentityProvider {
  readonly publicJwk: JWK;
  /** `claims`: extra claims, such as a `rooms` scope (docs/protocol.md#private-rooms). */
  mint(user: string, options?: { ttlSeconds?: number; claims?: Record<string, unknown> }): Promise<string>;
  /** An access token of a machine client in Cognito's shape: client_id, scope, token_use, no audience. */
  mintClientToken(clientId: string, scope: string, ttlSeconds: number): Promise<string>;
}

/** Loads the development signing key, creating it on first use (first writer wins, others read it). */
export async function loadDevIdp(stateDir: string): Promise<DevIdentityProvider> {
  const file = path.join(stateDir, 'idp-signing-key.json');
  let key: KeyFile;
  try {
    key = JSON.parse(readFileSync(file, 'utf8')) as KeyFile;
  } catch {
    const pair = await generateKeyPair(ALG, { extractable: true });
    const kid = `dev-${Date.now().toString(36)}`;
    const created: KeyFile = {
      kid,
      privateJwk: { ...(await exportJWK(pair.privateKey)), kid, alg: ALG },
      publicJwk: { ...(await exportJWK(pair.publicKey)), kid, alg: ALG, use: 'sig' },
    };
    mkdirSync(stateDir, { recursive: true });
    try {
      writeFileSync(file, JSON.stringify(created, null, 2), { flag: 'wx', mode: 0o600 });
      key = created;
    } catch {
      key = JSON.parse(readFileSync(file, 'utf8')) as KeyFile;
    }
  }
  const privateKey = await importJWK(key.privateJwk, ALG);
  return {
    publicJwk: key.publicJwk,
    async mint(user, { ttlSeconds = 3600, claims = {} } = {}) {
      return new SignJWT(claims)
        .setProtectedHeader({ alg: ALG, kid: key.kid, typ: 'JWT' })
        .setSubject(user)
        .setIssuer(LOCAL_IDP.issuer)
        .setAudience(LOCAL_IDP.audience)
        .setIssuedAt()
        .setExpirationTime(`${ttlSeconds}s`)
        .sign(privateKey);
    },
    async mintClientToken(clientId, scope, ttlSeconds) {
      return new SignJWT({ client_id: clientId, scope, token_use: 'access' })
        .setProtectedHeader({ alg: ALG, kid: key.kid, typ: 'JWT' })
        .setSubject(clientId)
        .setIssuer(LOCAL_IDP.issuer)
        .setIssuedAt()
        .setExpirationTime(`${ttlSeconds}s`)
        .sign(privateKey);
    },
  };
}

/** The lifetime of a machine client's token: Cognito's default for access tokens. */
const CLIENT_TOKEN_TTL_SECONDS = 3600;

/**
 * `POST /_idp/oauth2/token` (RFC 6749 §4.4): the client authenticates with HTTP Basic and asks for its scope;
 * errors are RFC 6749 §5.2's (`invalid_client` 401, `invalid_scope` / `unsupported_grant_type` 400).
 */
export function clientCredentialsHandler(idp: DevIdentityProvider, client: MachineClient): HttpHandler {
  return (req, res) => {
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== LOCAL_IDP.oauthTokenPath) return false;
    const reply = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
    if (req.method !== 'POST') return void reply(405, { error: 'invalid_request' }), true;
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      const [scheme, encoded] = String(req.headers.authorization ?? '').split(' ');
      const [id, secret] = Buffer.from(encoded ?? '', 'base64').toString('utf8').split(':').map((part) => decodeURIComponent(part ?? ''));
      if (scheme !== 'Basic' || id !== client.clientId || secret !== client.clientSecret) return reply(401, { error: 'invalid_client' });
      if (form.get('grant_type') !== 'client_credentials') return reply(400, { error: 'unsupported_grant_type' });
      if (form.get('scope') !== client.scope) return reply(400, { error: 'invalid_scope' });
      idp.mintClientToken(client.clientId, client.scope, CLIENT_TOKEN_TTL_SECONDS).then(
        (token) => reply(200, { access_token: token, token_type: 'Bearer', expires_in: CLIENT_TOKEN_TTL_SECONDS }),
        () => reply(500, { error: 'server_error' }),
      );
    });
    return true;
  };
}

export function jwksHandler(idp: DevIdentityProvider): HttpHandler {
  const body = JSON.stringify({ keys: [idp.publicJwk] });
  return (req, res) => {
    if (req.method !== 'GET' || req.url !== LOCAL_IDP.jwksPath) return false;
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    return true;
  };
}

/** `GET /_local/token?user=<user>`: {token} for any valid user id, or a 400 saying what is wrong. */
export function tokenHandler(idp: DevIdentityProvider): HttpHandler {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== LOCAL_IDP.tokenPath) return false;
    const reply = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
    if (req.method !== 'GET') return void reply(405, { message: 'use GET' }), true;
    const user = url.searchParams.get('user') ?? '';
    if (!USER_ID_PATTERN.test(user)) return void reply(400, { message: `user must match ${USER_ID_PATTERN.source}` }), true;
    idp.mint(user).then(
      (token) => reply(200, { token }),
      (error: Error) => reply(500, { message: error.message }),
    );
    return true;
  };
}
