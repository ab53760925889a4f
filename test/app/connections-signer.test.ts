import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { ConnectionsSigner, payloadHash } from '../../functions/adapters/connections-signer.ts';
import { Sha256 } from '../../functions/adapters/sha256.ts';

/**
 * The specialised `@connections` signer against the SDK's general one: for the requests the notifier sends, the
 * same headers, signature included, byte for byte.
 */
const REGION = 'eu-west-1';
const HOST = 'abc123.execute-api.eu-west-1.amazonaws.com';
const WITH_TOKEN = { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', sessionToken: 'IQoJb3JpZ2luX2VjE/token+value==' };
const WITHOUT_TOKEN = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'other-secret' };

async function sdkHeaders(method: string, path: string, body: Buffer | undefined, credentials: typeof WITHOUT_TOKEN, date: Date) {
  const signer = new SignatureV4({ service: 'execute-api', region: REGION, credentials, sha256: Sha256 });
  const headers: Record<string, string> = { host: HOST };
  if (body) Object.assign(headers, { 'content-type': 'application/json', 'content-length': String(body.length) });
  const signed = await signer.sign({ method, protocol: 'https:', hostname: HOST, path, query: {}, headers, body }, { signingDate: date });
  return signed.headers;
}

describe('ConnectionsSigner', () => {
  const cases = [
    { what: 'a post with a session token', method: 'POST', id: 'L0SM9cOFvHcCIhw=', credentials: WITH_TOKEN },
    { what: 'a post without one', method: 'POST', id: 'plain-id', credentials: WITHOUT_TOKEN },
    { what: 'a delete (no body)', method: 'DELETE', id: "odd!'()*id", credentials: WITH_TOKEN },
    { what: 'a dot segment', method: 'DELETE', id: '..', credentials: WITHOUT_TOKEN },
  ];
  for (const { what, method, id, credentials } of cases) {
    it(`signs ${what} as @smithy/signature-v4 does`, async () => {
      const path = `/prod/@connections/${encodeURIComponent(id)}`;
      const bytes = method === 'POST' ? Buffer.from(JSON.stringify({ type: 'message', text: 'héllo wörld' })) : undefined;
      const date = new Date('2026-12-03T18:45:07.123Z');
      const ours = new ConnectionsSigner(REGION).sign(
        { method, host: HOST, path, ...(bytes ? { body: { length: bytes.length, payloadHash: payloadHash(bytes) } } : {}) },
        credentials,
        date,
      );
      expect(ours).toEqual(await sdkHeaders(method, path, bytes, credentials, date));
    });
  }

  it('derives the key again when the day or the credentials change', async () => {
    const signer = new ConnectionsSigner(REGION);
    const path = '/prod/@connections/x';
    for (const [date, credentials] of [
      [new Date('2026-12-03T23:59:59.900Z'), WITHOUT_TOKEN],
      [new Date('2026-12-04T00:00:00.100Z'), WITHOUT_TOKEN],
      [new Date('2026-12-04T00:00:00.200Z'), { ...WITHOUT_TOKEN, secretAccessKey: 'rotated' }],
      [new Date('2026-12-04T00:00:00.300Z'), { ...WITHOUT_TOKEN, accessKeyId: 'AKIDROTATED', secretAccessKey: 'rotated' }],
    ] as const) {
      expect(signer.sign({ method: 'DELETE', host: HOST, path }, credentials, date)).toEqual(await sdkHeaders('DELETE', path, undefined, credentials, date));
    }
  });
});
