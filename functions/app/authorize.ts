import { parseRoomScope, type RoomScope } from '../domain/access.ts';
import { USER_ID_PATTERN } from '../domain/protocol-rules.ts';

/** Tokens larger than this are refused unread: API Gateway caps the whole request line anyway. */
export const MAX_TOKEN_BYTES = 8 * 1024;

/** A token that is absent, malformed, forged or expired: API Gateway answers the handshake with 401. */
export class Unauthorized extends Error {
  constructor(readonly reason: string) {
    super('Unauthorized');
  }
}

export interface VerifiedToken {
  readonly subject: string;
  readonly expiresAt: number;
  /** The `rooms` claim as the token carries it (undefined when absent); `authorize` judges it. */
  readonly rooms?: unknown;
  /** An access token of the stage's machine client (the canary), verified by its client id and scope. */
  readonly machineClient?: true;
}

export interface TokenVerifier {
  /** Resolves the verified subject and expiry; throws Unauthorized for any token problem, anything else for outages. */
  verify(token: string): Promise<VerifiedToken>;
}

/**
 * `tokenExpiresAt`: the token's `exp` (epoch seconds); the connection is closed soon after it (domain/session.ts).
 * `roomScope`: the token's `rooms` claim, when it has one.
 */
export type Decision =
  | { effect: 'Allow'; userId: string; tokenExpiresAt: number; roomScope?: RoomScope }
  | { effect: 'Deny'; reason: string };

/**
 * Verifies the token; a valid token whose subject cannot be a user id, or whose `rooms` claim is not a list of
 * room patterns, is denied (403), not unauthorized.
 */
export async function authorize(verifier: TokenVerifier, token: string | undefined, canary?: { readonly room: string }): Promise<Decision> {
  if (!token) throw new Unauthorized('token is missing');
  if (Buffer.byteLength(token, 'utf8') > MAX_TOKEN_BYTES) throw new Unauthorized('token is too large');
  const { subject, expiresAt, rooms, machineClient } = await verifier.verify(token);
  if (!USER_ID_PATTERN.test(subject)) return { effect: 'Deny', reason: 'subject is not a valid user id' };
  if (machineClient) {
    // The canary's identity enters its own room and nothing else, whatever else its token says.
    if (!canary) return { effect: 'Deny', reason: 'this stage accepts no machine client' };
    return { effect: 'Allow', userId: subject, tokenExpiresAt: expiresAt, roomScope: [canary.room] };
  }
  const roomScope = parseRoomScope(rooms);
  // A scope that cannot be read must not become no scope: the token is refused, like a bad subject.
  if (roomScope === 'invalid') return { effect: 'Deny', reason: 'rooms claim is not a list of room patterns' };
  return { effect: 'Allow', userId: subject, tokenExpiresAt: expiresAt, ...(roomScope ? { roomScope } : {}) };
}
