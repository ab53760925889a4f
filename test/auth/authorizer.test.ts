import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeError, JWKS_MAX_STALE_MS, JWKS_RETRY_MS, JwksTokenVerifier } from '../../functions/adapters/jwt-verifier.ts';
import { authorize, MAX_TOKEN_BYTES, Unauthorized, type Decision } from '../../functions/app/authorize.ts';

const ISSUER = 'https://issuer.test/';
const AUDIENCE = 'wschat';

interface SigningKey {
  kid: string;
  alg: 'RS256' | 'ES256' | 'RS384';
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function signingKey(kid: string, alg: SigningKey['alg']): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

let rsa: SigningKey;
let ec: SigningKey;
let stranger: SigningKey;
/** Published in the JWKS, but its algorithm is not one the verifier allows. */
let rsa384: SigningKey;
let server: Server;
let baseUrl: string;
let jwksRequests = 0;
/** While true, /flaky/jwks.json answers 503, as a provider in an outage does. */
let flakyDown = false;
let flakyRequests = 0;
const hanging: ServerResponse[] = [];
let verifier: JwksTokenVerifier;

const now = () => Math.floor(Date.now() / 1000);

async function token(key: SigningKey, claims: JWTPayload = {}, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'alice', iat: now(), exp: now() + 300, ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header })
    .sign(key.privateKey);
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Expects authorize() to reject with Unauthorized (API Gateway: 401) and returns the reason. */
async function unauthorized(t: string | undefined, v: JwksTokenVerifier = verifier): Promise<string> {
  const error = await authorize(v, t).then(
    (d: Decision) => d,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Unauthorized);
  // API Gateway turns exactly this message into 401.
  expect((error as Unauthorized).message).toBe('Unauthorized');
  return (error as Unauthorized).reason;
}

beforeAll(async () => {
  [rsa, ec, stranger, rsa384] = await Promise.all([
    signingKey('rsa-1', 'RS256'),
    signingKey('ec-1', 'ES256'),
    signingKey('stranger', 'ES256'),
    signingKey('rsa-384', 'RS384'),
  ]);
  server = createServer((req, res) => {
    if (req.url === '/.well-known/jwks.json') {
      jwksRequests++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [rsa.publicJwk, ec.publicJwk, rsa384.publicJwk] }));
    } else if (req.url === '/flaky/jwks.json') {
      flakyRequests++;
      res.writeHead(flakyDown ? 503 : 200, { 'content-type': 'application/json' });
      res.end(flakyDown ? '{"message":"down for maintenance"}' : JSON.stringify({ keys: [rsa.publicJwk] }));
    } else if (req.url === '/hanging/jwks.json') {
      // Never answers: the verifier's own timeout has to give up.
      hanging.push(res);
    } else if (req.url === '/malformed/jwks.json') {
      // Valid JSON, but not a key set: the provider's fault, not the client's.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: 'rotating, back soon' }));
    } else if (req.url === '/html/jwks.json') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>maintenance</html>');
    } else if (req.url === '/broken/jwks.json') {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('identity provider exploded');
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  verifier = new JwksTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: `${baseUrl}/.well-known/jwks.json` });
});

afterAll(async () => {
  for (const res of hanging) res.destroy();
  await new Promise<void>((resolve) => {
    server?.close(() => resolve());
    server?.closeAllConnections();
  });
});

describe('valid tokens', () => {
  it('allows an RS256 token and uses sub as the user id', async () => {
    const exp = now() + 300;
    expect(await authorize(verifier, await token(rsa, { sub: 'alice', exp }))).toEqual({ effect: 'Allow', userId: 'alice', tokenExpiresAt: exp });
  });

  it('allows an ES256 token', async () => {
    expect(await authorize(verifier, await token(ec, { sub: 'bob@example.com' }))).toEqual({
      effect: 'Allow',
      userId: 'bob@example.com',
      tokenExpiresAt: expect.any(Number),
    });
  });

  it('accepts an audience list that contains ours', async () => {
    expect(await authorize(verifier, await token(ec, { aud: ['other', AUDIENCE] }))).toMatchObject({ effect: 'Allow' });
  });

  it('tolerates a few seconds of clock skew on exp', async () => {
    expect(await authorize(verifier, await token(rsa, { exp: now() - 2 }))).toMatchObject({ effect: 'Allow' });
  });

  it('fetched the JWKS from the server (and caches it)', async () => {
    const before = jwksRequests;
    await authorize(verifier, await token(rsa));
    await authorize(verifier, await token(ec));
    expect(before).toBeGreaterThanOrEqual(1);
    expect(jwksRequests).toBe(before);
  });
});

describe('rejected tokens (401)', () => {
  it('no token', async () => {
    expect(await unauthorized(undefined)).toBe('token is missing');
    expect(await unauthorized('')).toBe('token is missing');
  });

  it('expired', async () => {
    expect(await unauthorized(await token(rsa, { iat: now() - 3600, exp: now() - 60 }))).toBe('ERR_JWT_EXPIRED');
  });

  it('not yet valid (nbf in the future)', async () => {
    expect(await unauthorized(await token(rsa, { nbf: now() + 120 }))).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
  });

  it('wrong issuer', async () => {
    expect(await unauthorized(await token(rsa, { iss: 'https://evil.test/' }))).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
  });

  it('wrong audience', async () => {
    expect(await unauthorized(await token(ec, { aud: 'another-app' }))).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
  });

  it('missing exp', async () => {
    expect(await unauthorized(await token(rsa, { exp: undefined }))).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
  });

  it('missing sub', async () => {
    expect(await unauthorized(await token(rsa, { sub: undefined }))).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
  });

  it('alg none (unsigned, crafted by hand)', async () => {
    const payload = { iss: ISSUER, aud: AUDIENCE, sub: 'alice', exp: now() + 300 };
    const unsigned = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(payload)}.`;
    await unauthorized(unsigned);
    // Even claiming a known kid does not help.
    await unauthorized(`${b64url({ alg: 'none', kid: 'rsa-1' })}.${b64url(payload)}.`);
  });

  it('HS256 signed with the public key bytes (algorithm confusion)', async () => {
    const secrets = [
      new TextEncoder().encode(JSON.stringify(rsa.publicJwk)),
      Buffer.from(rsa.publicJwk.n!, 'base64url'),
      new TextEncoder().encode(JSON.stringify(ec.publicJwk)),
    ];
    for (const secret of secrets) {
      const forged = await new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'alice', exp: now() + 300 })
        .setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' })
        .sign(secret);
      expect(await unauthorized(forged)).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
    }
  });

  it('correctly signed by a published key, but with an algorithm not allowed (RS384)', async () => {
    expect(await unauthorized(await token(rsa384))).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
  });

  it('signed by a key the JWKS does not have', async () => {
    expect(await unauthorized(await token(stranger))).toBe('ERR_JWKS_NO_MATCHING_KEY');
  });

  it('signed by an unknown key that claims a known kid', async () => {
    expect(await unauthorized(await token(stranger, {}, { kid: 'ec-1' }))).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  it('a payload tampered after signing', async () => {
    const [header, , signature] = (await token(rsa, { sub: 'alice' })).split('.');
    const tampered = `${header}.${b64url({ iss: ISSUER, aud: AUDIENCE, sub: 'admin', exp: now() + 300 })}.${signature}`;
    expect(await unauthorized(tampered)).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  it('truncated', async () => {
    const t = await token(rsa);
    await unauthorized(t.slice(0, -10));
    await unauthorized(t.slice(0, t.lastIndexOf('.')));
    await unauthorized(t.slice(0, t.length / 2));
  });

  it.each(['garbage', 'a.b.c', '...', 'eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln', '🙂.🙂.🙂', ' '])('garbage %j', async (t) => {
    await unauthorized(t);
  });

  it('oversized (> 8 KB), even when otherwise valid', async () => {
    expect(MAX_TOKEN_BYTES).toBe(8192);
    // Grow a valid ES256 token until it crosses the limit; the last one under it still passes.
    let under: string | undefined;
    let over: string | undefined;
    for (let pad = 5800; !over; pad++) {
      const t = await token(ec, { pad: 'x'.repeat(pad) });
      if (Buffer.byteLength(t) <= MAX_TOKEN_BYTES) under = t;
      else over = t;
    }
    expect(Buffer.byteLength(under!)).toBeGreaterThan(MAX_TOKEN_BYTES - 4);
    expect(await authorize(verifier, under)).toMatchObject({ effect: 'Allow' });
    await expect(verifier.verify(over)).resolves.toEqual({ subject: 'alice', expiresAt: expect.any(Number) });
    expect(await unauthorized(over)).toBe('token is too large');
  });

  it('measures the size in UTF-8 bytes, not characters', async () => {
    const t = 'é'.repeat(MAX_TOKEN_BYTES / 2 + 1);
    expect(t.length).toBeLessThan(MAX_TOKEN_BYTES);
    expect(await unauthorized(t)).toBe('token is too large');
  });
});

describe('valid tokens with an unusable subject (403)', () => {
  it.each([
    ['contains #', 'alice#admin'],
    ['is 200 characters', 'a'.repeat(200)],
    ['has a space', 'alice smith'],
    ['starts with -', '-alice'],
    ['is empty', ''],
  ])('denies a sub that %s', async (_label, sub) => {
    const decision = await authorize(verifier, await token(rsa, { sub }));
    expect(decision).toEqual({ effect: 'Deny', reason: 'subject is not a valid user id' });
  });

  it('allows a sub of exactly 128 characters', async () => {
    const sub = 'a'.repeat(128);
    expect(await authorize(verifier, await token(ec, { sub }))).toEqual({ effect: 'Allow', userId: sub, tokenExpiresAt: expect.any(Number) });
  });
});

describe('the rooms claim', () => {
  it('passes a list of room patterns on as the scope of the connection', async () => {
    expect(await authorize(verifier, await token(ec, { rooms: ['general', 'team-*'] }))).toEqual({
      effect: 'Allow',
      userId: 'alice',
      tokenExpiresAt: expect.any(Number),
      roomScope: ['general', 'team-*'],
    });
    // An empty list is a scope too: it allows no room at all.
    expect(await authorize(verifier, await token(ec, { rooms: [] }))).toMatchObject({ effect: 'Allow', roomScope: [] });
  });

  it.each([
    ['a string', 'general'],
    ['a pattern rooms cannot match', ['bad#room']],
    ['a list of numbers', [1, 2]],
    ['null', null],
  ])('denies (403) a token whose rooms claim is %s rather than letting it in unscoped', async (_label, rooms) => {
    expect(await authorize(verifier, await token(rsa, { rooms }))).toEqual({ effect: 'Deny', reason: 'rooms claim is not a list of room patterns' });
  });
});

describe('identity provider outages (500, not 401)', () => {
  async function outage(jwksUrl: string): Promise<unknown> {
    const v = new JwksTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl });
    const error = await authorize(v, await token(rsa)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(Unauthorized);
    expect((error as Error).message).not.toBe('Unauthorized');
    return error;
  }

  it('JWKS endpoint answering 500', async () => {
    const error = await outage(`${baseUrl}/broken/jwks.json`);
    expect((error as { code?: string }).code).toBe('ERR_JOSE_GENERIC');
    // Logged by its code: minified bundles rename jose's error classes, and with them their names.
    expect(describeError(error)).toMatch(/^ERR_JOSE_GENERIC: \S/);
  });

  it('JWKS endpoint down (connection refused)', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await outage(`http://127.0.0.1:${port}/.well-known/jwks.json`);
    expect((error as Error).name).toBe('TypeError');
    expect(String((error as Error & { cause?: unknown }).cause)).toMatch(/ECONNREFUSED/);
    expect(describeError(error)).toBe(String(error));
  });

  it('JWKS endpoint serving a malformed key set', async () => {
    const error = await outage(`${baseUrl}/malformed/jwks.json`);
    expect((error as { code?: string }).code).toBe('ERR_JWKS_INVALID');
  });

  it('JWKS endpoint serving something that is not JSON', async () => {
    const error = await outage(`${baseUrl}/html/jwks.json`);
    expect((error as { code?: string }).code).toBe('ERR_JOSE_GENERIC');
  });

  it('JWKS endpoint that never answers (the verifier times out after 3 s)', async () => {
    const started = Date.now();
    const error = await outage(`${baseUrl}/hanging/jwks.json`);
    expect((error as { code?: string }).code).toBe('ERR_JWKS_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(hanging).toHaveLength(1);
  });

  it('a malformed token is still 401 while the provider is down (no JWKS fetch needed)', async () => {
    const v = new JwksTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: `${baseUrl}/broken/jwks.json` });
    await unauthorized('garbage', v);
  });
});

describe('stale-if-error: the last good key set outlives a provider outage, for a bounded time', () => {
  /** A verifier that refreshes on every verification (refreshMs 0) and whose clock the test moves. */
  function flakyVerifier() {
    let offsetMs = 0;
    const stale: number[] = [];
    const v = new JwksTokenVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUrl: `${baseUrl}/flaky/jwks.json`,
      refreshMs: 0,
      now: () => Date.now() + offsetMs,
      onStaleKeys: (ageMs) => stale.push(ageMs),
    });
    return { v, stale, advance: (ms: number) => (offsetMs += ms) };
  }

  it('keeps verifying with the last good set when a refresh fails, reports it, and retries at most every 30 s', async () => {
    flakyDown = false;
    const { v, stale, advance } = flakyVerifier();
    expect(await authorize(v, await token(rsa))).toMatchObject({ effect: 'Allow' });
    flakyDown = true;
    const before = flakyRequests;
    expect(await authorize(v, await token(rsa))).toMatchObject({ effect: 'Allow' });
    expect(stale).toHaveLength(1);
    // Within the retry interval the stale set answers without asking the provider again.
    expect(await authorize(v, await token(rsa))).toMatchObject({ effect: 'Allow' });
    expect(flakyRequests).toBe(before + 1);
    advance(JWKS_RETRY_MS + 1);
    expect(await authorize(v, await token(rsa))).toMatchObject({ effect: 'Allow' });
    expect(flakyRequests).toBe(before + 2);
    expect(stale).toHaveLength(2);
    // Bad tokens are still refused as bad tokens by the stale set.
    expect(await unauthorized(await token(stranger, {}, { kid: 'rsa-1' }), v)).toMatch(/^ERR_/);
    flakyDown = false;
  });

  it('stops verifying once the last good set is older than the bound: then the outage is a 500', async () => {
    flakyDown = false;
    const { v, advance } = flakyVerifier();
    await authorize(v, await token(rsa));
    flakyDown = true;
    advance(JWKS_MAX_STALE_MS + 1000);
    const error = await authorize(v, await token(rsa)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(Unauthorized);
    flakyDown = false;
  });

  it('has nothing to fall back on in an environment that never fetched a set', async () => {
    flakyDown = true;
    const { v, stale } = flakyVerifier();
    const error = await authorize(v, await token(rsa)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).not.toBeInstanceOf(Unauthorized);
    expect(stale).toEqual([]);
    flakyDown = false;
  });
});

describe("the canary's machine client (client-credentials access tokens)", () => {
  const CANARY = { clientId: 'canary-client', scope: 'wschat/canary' };
  const room = 'wschat-canary';
  let machine: JwksTokenVerifier;
  /** An access token as Cognito's client-credentials grant issues it: client_id, scope, token_use, no audience. */
  const accessToken = (claims: JWTPayload = {}) =>
    new SignJWT({ iss: ISSUER, sub: CANARY.clientId, client_id: CANARY.clientId, scope: CANARY.scope, token_use: 'access', iat: now(), exp: now() + 300, ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: ec.kid, typ: 'JWT' })
      .sign(ec.privateKey);

  beforeAll(() => {
    machine = new JwksTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: `${baseUrl}/.well-known/jwks.json`, machineClient: CANARY });
  });

  it('is allowed into the canary room only, whatever rooms its token claims', async () => {
    expect(await authorize(machine, await accessToken({ rooms: ['*'] }), { room })).toEqual({
      effect: 'Allow',
      userId: CANARY.clientId,
      tokenExpiresAt: expect.any(Number),
      roomScope: [room],
    });
  });

  it('is denied where the authorizer knows no canary room', async () => {
    expect(await authorize(machine, await accessToken())).toEqual({ effect: 'Deny', reason: 'this stage accepts no machine client' });
  });

  it('is unauthorized without its scope, as another token use, from another issuer or key, or expired', async () => {
    for (const claims of [{ scope: 'wschat/admin' }, { scope: undefined }, { token_use: 'id' }, { iss: 'https://elsewhere.test/' }, { exp: now() - 60 }]) {
      expect(await unauthorized(await accessToken(claims), machine), JSON.stringify(claims)).toMatch(/^ERR_JWT_CLAIM_VALIDATION_FAILED$|^ERR_JWT_EXPIRED$/);
    }
    const forged = await new SignJWT({ iss: ISSUER, sub: CANARY.clientId, client_id: CANARY.clientId, scope: CANARY.scope, token_use: 'access', exp: now() + 300 })
      .setProtectedHeader({ alg: 'ES256', kid: stranger.kid })
      .sign(stranger.privateKey);
    expect(await unauthorized(forged, machine)).toBe('ERR_JWKS_NO_MATCHING_KEY');
  });

  it("is an ordinary token to a verifier that knows no machine client: without an audience it is unauthorized", async () => {
    expect(await unauthorized(await accessToken())).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
  });

  it("leaves user tokens to the audience rule, also with a machine client configured (positive control)", async () => {
    expect(await authorize(machine, await token(ec))).toMatchObject({ effect: 'Allow', userId: 'alice' });
    expect(await unauthorized(await token(ec, { aud: 'someone-else' }), machine)).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
  });
});
