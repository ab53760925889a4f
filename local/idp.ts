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
} as const;

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
