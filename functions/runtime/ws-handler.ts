/**
 * Turns a route's answer into a Lambda handler for a WebSocket route: parse the event, run the answer (which
 * calls the use cases), post its reply frames, run its follow-up, and map every failure to one error frame (the
 * only error-to-response mapping there is).
 */
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import type { Caller, Deps } from '../app/context.ts';
import { TOO_MANY_CONNECTIONS } from '../app/connections.ts';
import { postWithRetry } from '../app/posting.ts';
import { chargeRoute } from '../app/route-rate.ts';
import { decodeRoomScope } from '../domain/access.ts';
import { TOO_MANY_CONNECTIONS_STATUS } from '../domain/connection-quota.ts';
import { ChatError, isTransient } from '../domain/errors.ts';
import { jsonBytes, MAX_FRAME_BYTES } from '../domain/frame-budget.ts';
import { SESSION_GRACE_SECONDS, sessionEnded } from '../domain/session.ts';
import { parseFrameBody, parseRequest, type RequestSchema, type ServerFrame } from '../domain/protocol.ts';
import { createDeps, type Wiring } from './deps.ts';
import { logger } from './observability.ts';
import { tracer, withPowertools } from './tracing.ts';

export type WebSocketEvent = APIGatewayProxyWebsocketEventV2 & {
  requestContext: APIGatewayProxyWebsocketEventV2['requestContext'] & {
    authorizer?: { userId?: string; tokenExpiresAt?: number; rooms?: string };
  };
};

export interface Reply {
  /** Posted to the calling connection, in this order, before `afterReply` runs. */
  readonly frames?: readonly ServerFrame[];
  /**
   * Work for the room that the caller's frames need not wait for (a presence or typing broadcast). It still runs
   * inside this invocation, after the frames were posted: the invocation's duration, and API Gateway's integration
   * latency, include it. If it throws, the caller gets an error frame after its reply frames, as for any failure.
   * A `send` posts its ack only after the fan-out itself (see sendAndDeliver); what follows it is the cleanup
   * of the connections the fan-out found gone and the departures that announces.
   */
  readonly afterReply?: () => Promise<void>;
}

/** A route's answer to a valid request: calls the use cases and maps their results to a Reply. */
export type RouteAnswer<T> = (deps: Deps, caller: Caller, request: T) => Promise<Reply>;

export function callerOf(event: WebSocketEvent): Caller {
  const ctx = event.requestContext;
  const userId = ctx.authorizer?.userId;
  // Only the authorizer sets identity; a route reached without it is a misconfiguration, not a client error.
  if (!userId) throw new Error('requestContext.authorizer.userId is missing');
  return {
    connectionId: ctx.connectionId,
    userId,
    connectedAt: ctx.connectedAt,
    requestId: ctx.requestId,
    nowMs: Date.now(),
    tokenExpiresAt: ctx.authorizer?.tokenExpiresAt,
    ...(ctx.authorizer?.rooms === undefined ? {} : { roomScope: decodeRoomScope(ctx.authorizer.rooms) }),
  };
}

export function errorFrame(error: unknown, requestId: string, clientMsgId: unknown): ServerFrame {
  const withId = typeof clientMsgId === 'string' ? { clientMsgId } : {};
  if (error instanceof ChatError) {
    const retryAfter = error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs };
    return {
      type: 'error',
      code: error.code,
      message: error.message,
      requestId,
      retryable: error.retryable,
      ...withId,
      ...retryAfter,
    };
  }
  const retryable = isTransient(error);
  return {
    type: 'error',
    code: 'INTERNAL',
    message: retryable ? 'a dependency is unavailable; retry' : 'internal error',
    requestId,
    retryable,
    ...withId,
  };
}

function logError(deps: Deps, error: unknown): void {
  if (error instanceof ChatError && error.code !== 'INTERNAL') {
    logger.info('request rejected', { errorCode: error.code, reason: error.message });
    if (error.code === 'BAD_REQUEST' || error.code === 'UNKNOWN_ACTION') {
      deps.telemetry.count('MessageValidationFailed');
    }
    return;
  }
  logger.error('request failed', error as Error);
}

/** `@connections` refused the post as larger than a WebSocket message may be. */
function isPayloadTooLarge(error: unknown): boolean {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode === 413;
}

/**
 * Posts a reply to the caller, retrying a throttled or transiently failing post as a fan-out does; a reply that
 * still fails is logged, not thrown: the request itself succeeded or failed already. 'too-large' when
 * `@connections` refused it with 413.
 */
async function postQuietly(deps: Deps, connectionId: string, frame: ServerFrame): Promise<'posted' | 'too-large' | 'lost'> {
  const post = await postWithRetry(deps.notifier, connectionId, frame);
  switch (post.outcome) {
    case 'delivered':
    case 'gone':
      return 'posted';
    case 'failed':
      if (isPayloadTooLarge(post.error)) return 'too-large';
      logger.warn('could not post reply', { error: String(post.error) });
      return 'lost';
    case 'unreached':
      logger.warn('could not post reply', { error: String(post.lastFailure), attempts: post.attempts });
      return 'lost';
  }
}

/**
 * Posts a reply frame, or, when `@connections` refuses it as too large (413), a TOO_LARGE error in its place: a
 * client waiting for a reply must get one, never silence. Replies are cut to fit (domain/frame-budget.ts), so
 * this is the net under a bug, and it is counted and logged as an error.
 */
async function postReply(deps: Deps, connectionId: string, frame: ServerFrame, requestId: string, clientMsgId: unknown): Promise<void> {
  if ((await postQuietly(deps, connectionId, frame)) !== 'too-large') return;
  const bytes = jsonBytes(frame);
  deps.telemetry.count('RepliesTooLarge');
  logger.error('reply too large to deliver', { frameType: frame.type, bytes });
  const refusal = new ChatError(
    'TOO_LARGE',
    `the ${frame.type} reply (${bytes} bytes) is over the ${MAX_FRAME_BYTES} bytes a WebSocket message may carry; ask for less`,
  );
  await postQuietly(deps, connectionId, errorFrame(refusal, requestId, clientMsgId));
}

/**
 * The connection's token expired more than SESSION_GRACE_SECONDS ago: the request is refused with SESSION_EXPIRED
 * (so the client knows to reconnect with a fresh token, not to retry) and the connection is closed.
 */
async function endSession(deps: Deps, connectionId: string, requestId: string, clientMsgId: unknown): Promise<APIGatewayProxyResultV2> {
  deps.telemetry.count('SessionsExpired');
  logger.info('session expired: closing the connection');
  const expired = new ChatError('SESSION_EXPIRED', `the connection's token expired over ${SESSION_GRACE_SECONDS} s ago; reconnect with a fresh token`);
  await postQuietly(deps, connectionId, errorFrame(expired, requestId, clientMsgId));
  await deps.notifier.disconnect(connectionId);
  return { statusCode: 200 };
}

/** Adds the correlation keys every log line of a WebSocket invocation carries. */
function appendCorrelationKeys(event: WebSocketEvent): void {
  const ctx = event.requestContext;
  logger.appendKeys({
    connectionId: ctx.connectionId,
    requestId: ctx.requestId,
    routeKey: ctx.routeKey,
    userId: ctx.authorizer?.userId,
  });
  tracer.putAnnotation('route', ctx.routeKey);
}

/**
 * A handler for a route whose frame is validated by `schema` and answered by `answer`, with `wiring`'s adapters.
 * The schema is built here, at the handler's load: every invocation validates with it, so building it belongs to
 * Init (a full vCPU on Lambda, and ahead of traffic with provisioned concurrency), not to the first request.
 */
export function messageRoute<T>(schema: RequestSchema<T>, wiring: Wiring, answer: RouteAnswer<T>) {
  const deps = createDeps(wiring);
  schema();
  return withPowertools(async (event: WebSocketEvent): Promise<APIGatewayProxyResultV2> => {
    appendCorrelationKeys(event);
    const { connectionId, requestId } = event.requestContext;
    let frame: Record<string, unknown> | undefined;
    try {
      frame = parseFrameBody(event.body);
      const caller = callerOf(event);
      if (sessionEnded(caller.tokenExpiresAt, caller.nowMs)) return await endSession(deps, connectionId, requestId, frame.clientMsgId);
      const request = parseRequest(schema, frame);
      // After validation: a malformed frame is answered without touching the database, so it costs no token.
      await chargeRoute(deps, caller, event.requestContext.routeKey);
      const reply = await answer(deps, caller, request);
      for (const replyFrame of reply.frames ?? []) await postReply(deps, connectionId, replyFrame, requestId, frame.clientMsgId);
      await reply.afterReply?.();
      tracer.putAnnotation('outcome', 'ok');
    } catch (error) {
      logError(deps, error);
      tracer.putAnnotation('outcome', error instanceof ChatError ? error.code : 'INTERNAL');
      await postQuietly(deps, connectionId, errorFrame(error, requestId, frame?.clientMsgId));
    }
    return { statusCode: 200 };
  });
}

/** The handshake status of each way a lifecycle use case refuses (API Gateway answers $connect with it). */
const LIFECYCLE_REFUSALS: Readonly<Record<typeof TOO_MANY_CONNECTIONS, number>> = {
  [TOO_MANY_CONNECTIONS]: TOO_MANY_CONNECTIONS_STATUS,
};

/** A handler for `$connect` / `$disconnect`: no frame, no reply; a refusal's status, or 500 on a failure. */
export function lifecycleRoute(
  wiring: Wiring,
  useCase: (deps: Deps, caller: Caller) => Promise<keyof typeof LIFECYCLE_REFUSALS | undefined | void>,
) {
  const deps = createDeps(wiring);
  return withPowertools(async (event: WebSocketEvent): Promise<APIGatewayProxyResultV2> => {
    appendCorrelationKeys(event);
    try {
      const refusal = await useCase(deps, callerOf(event));
      return { statusCode: refusal ? LIFECYCLE_REFUSALS[refusal] : 200 };
    } catch (error) {
      logger.error('lifecycle route failed', error as Error);
      return { statusCode: 500 };
    }
  });
}
