/** Error codes a client can see in an `error` frame (docs/protocol.md lists them). */
export type ErrorCode =
  | 'BAD_REQUEST'
  | 'UNKNOWN_ACTION'
  | 'TOO_LARGE'
  | 'NOT_A_MEMBER'
  | 'FORBIDDEN'
  | 'ROOM_EXISTS'
  | 'NOT_FOUND'
  | 'UNSUPPORTED_TYPE'
  | 'TOO_MANY_ROOMS'
  | 'ROOM_FULL'
  | 'IN_PROGRESS'
  | 'RATE_LIMITED'
  | 'SESSION_EXPIRED'
  | 'INTERNAL';

/** An expected, client-facing failure of a use case. Anything else thrown is mapped to INTERNAL. */
export class ChatError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryable = false,
    /** When a retry can succeed (RATE_LIMITED): the client waits this long before resending. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ChatError';
  }
}

const TRANSIENT_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'LimitExceededException',
  // Lambda's answer when an asynchronous invocation cannot be queued for now.
  'TooManyRequestsException',
  'TimeoutError',
]);

const TRANSIENT_NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']);

/** Whether retrying the same request may succeed: throttling, 5xx and network faults, not bugs or bad data. */
export function isTransient(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { name?: string; code?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  if (e.$retryable) return true;
  if (e.name && TRANSIENT_NAMES.has(e.name)) return true;
  if (e.code && TRANSIENT_NETWORK_CODES.has(e.code)) return true;
  const status = e.$metadata?.httpStatusCode;
  return status !== undefined && status >= 500;
}
