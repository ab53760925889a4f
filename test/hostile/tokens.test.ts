/**
 * More than 200 bad tokens at the handshake: every one refused with 401 or 403, and DynamoDB holds no trace
 * of any of them (item counts of every table before and after).
 */
import { SignJWT, UnsecuredJWT, generateKeyPair, importJWK, type JWK } from 'jose';
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { LOCAL_IDP } from '../../local/idp.ts';
import { bootDevStack, useStack } from '../support/local-stack.ts';
import { itemCounts } from '../support/tables.ts';
import { handshakeStatus } from '../support/ws-client.ts';

const { stack } = useStack(() => bootDevStack());

async function badTokens(): Promise<[string, string][]> {
  const valid = await stack.tokenFor('alice');
  const [header, payload, signature] = valid.split('.') as [string, string, string];
  const now = Math.floor(Date.now() / 1000);
  const ours = JSON.parse(readFileSync(`${stack.stateDir}/idp-signing-key.json`, 'utf8')) as { privateJwk: JWK; publicJwk: JWK; kid: string };
  const ourKey = await importJWK(ours.privateJwk, 'ES256');
  const sign = (claims: Record<string, unknown>, key = ourKey, alg = 'ES256', kid = ours.kid) =>
    new SignJWT(claims).setProtectedHeader({ alg, kid }).sign(key);
  const base = { sub: 'alice', iss: LOCAL_IDP.issuer, aud: LOCAL_IDP.audience, exp: now + 3600, iat: now };
  const foreign = await generateKeyPair('ES256');
  const rsa = await generateKeyPair('RS256');
  // HS256 keyed with the public key's bytes: the classic algorithm-confusion forgery.
  const publicBytes = new TextEncoder().encode(JSON.stringify(ours.publicJwk));
  const cases: [string, string][] = [];
  for (let i = 0; i < 20; i++) {
    cases.push([`expired ${i}`, await sign({ ...base, exp: now - 60 - i * 100 })]);
    cases.push([`not yet valid ${i}`, await sign({ ...base, nbf: now + 600 + i * 60 })]);
    cases.push([`wrong issuer ${i}`, await sign({ ...base, iss: `https://evil.example/${i}` })]);
    cases.push([`wrong audience ${i}`, await sign({ ...base, aud: `other-app-${i}` })]);
    cases.push([`alg none ${i}`, new UnsecuredJWT({ ...base, n: i }).encode()]);
    cases.push([`HS256 with the public key ${i}`, await new SignJWT({ ...base, n: i }).setProtectedHeader({ alg: 'HS256', kid: ours.kid }).sign(publicBytes)]);
    cases.push([`foreign key ${i}`, await sign({ ...base, n: i }, foreign.privateKey, 'ES256', `foreign-${i}`)]);
    cases.push([`foreign key claiming our kid ${i}`, await sign({ ...base, n: i }, foreign.privateKey)]);
    cases.push([`truncated ${i}`, valid.slice(0, valid.length - 1 - i * 3)]);
    cases.push([`tampered payload ${i}`, `${header}.${Buffer.from(JSON.stringify({ ...base, sub: `admin-${i}` })).toString('base64url')}.${signature}`]);
    cases.push([`garbage ${i}`, Buffer.from(`garbage-${i}-${Math.random()}`).toString('base64url')]);
  }
  cases.push(['oversized', await sign({ ...base, pad: 'x'.repeat(9000) })]);
  cases.push(['RS256 from an unknown key', await sign(base, rsa.privateKey, 'RS256', 'rsa-unknown')]);
  cases.push(['empty signature', `${header}.${payload}.`]);
  cases.push(['invalid subject', await sign({ ...base, sub: 'alice#admin' })]);
  return cases;
}

it('refuses every bad token at the handshake and writes nothing', { timeout: 300_000 }, async () => {
  const before = await itemCounts(stack);
  const cases = await badTokens();
  expect(cases.length).toBeGreaterThanOrEqual(200);
  const outcomes: string[] = [];
  for (let i = 0; i < cases.length; i += 10) {
    const batch = cases.slice(i, i + 10);
    const statuses = await Promise.all(batch.map(([, token]) => handshakeStatus(stack.wsUrl(token))));
    batch.forEach(([name], j) => outcomes.push(`${name}: ${statuses[j]}`));
  }
  expect(outcomes.filter((o) => !/: 40[13]$/.test(o))).toEqual([]);
  expect(outcomes.find((o) => o.startsWith('invalid subject'))).toBe('invalid subject: 403');
  expect(await itemCounts(stack)).toEqual(before);
});
