import { USER_ID_PATTERN } from '../domain/protocol.ts';

/** Tokens larger than this are refused unread: API Gateway caps the whole request line anyway. */
export const MAX_TOKEN_BYTES = 8 * 1024;

/** A token that is absent, malformed, forged or expired: API Gateway answers the handshake with 401. */
export class Unauthorized extends Error {
  constructor(readonly reason: string) {
    super('Unauthorized');
  }
}

export interface TokenVerifier {
  /** Resolves the verified subject and expiry; throws Unauthorized for any token problem, anything else for outages. */
  verify(token: string): Promise<{ subject: string; expiresAt: number }>;
}

/** `tokenExpiresAt`: the token's `exp` (epoch seconds); the connection is closed soon after it (domain/session.ts). */
export type Decision = { effect: 'Allow'; userId: string; tokenExpiresAt: number } | { effect: 'Deny'; reason: string };

/** Verifies the token; a valid token whose subject cannot be a user id is denied (403), not unauthorized. */
export async function authorize(verifier: TokenVerifier, token: string | undefined): Promise<Decision> {
  if (!token) throw new Unauthorized('token is missing');
  if (Buffer.byteLength(token, 'utf8') > MAX_TOKEN_BYTES) throw new Unauthorized('token is too large');
  const { subject, expiresAt } = await verifier.verify(token);
  if (!USER_ID_PATTERN.test(subject)) return { effect: 'Deny', reason: 'subject is not a valid user id' };
  return { effect: 'Allow', userId: subject, tokenExpiresAt: expiresAt };
}
