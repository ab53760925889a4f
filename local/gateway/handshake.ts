/**
 * The WebSocket opening handshake as API Gateway runs it: the throttles, the `$connect` route's authorizer
 * (identity sources, then the function's policy and context), then the `$connect` integration.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { actionsMatcher } from '../iam.ts';
import type { ApiModel, Authorizer } from './api-model.ts';
import { authorizerEvent, connectEvent, gatewayId, type ConnectionInfo, type HandshakeRequest } from './events.ts';
import { integrate, type Invoke, type RecordMetric } from './routing.ts';

export interface HandshakeContext {
  readonly api: ApiModel;
  readonly invoke: Invoke;
  readonly metric: RecordMetric;
  /** The throttles a new connection passes first. */
  readonly admitConnection: () => boolean;
}

/** The connection the handshake would open; when refused, the HTTP status the client gets instead. */
export interface HandshakeOutcome {
  readonly conn: ConnectionInfo;
  readonly refusedWith?: number;
}

export function isStagePath(url: URL, stage: string): boolean {
  return url.pathname.replace(/\/$/, '') === `/${stage}`;
}

export async function handshake(req: IncomingMessage, url: URL, context: HandshakeContext): Promise<HandshakeOutcome> {
  const { api } = context;
  const conn: ConnectionInfo = {
    connectionId: gatewayId(),
    connectedAt: Date.now(),
    sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
    userAgent: shared(req.headers['user-agent'] ?? ''),
    domainName: shared(req.headers.host ?? 'localhost'),
  };
  const request = handshakeRequest(req, url);
  if (!context.admitConnection()) return { conn, refusedWith: 429 };
  const connect = api.routes.get('$connect');
  if (!connect) return { conn };
  if (connect.authorizer) {
    const outcome = await authorize(context, connect.authorizer, conn, request, url, req);
    if (outcome !== 'allow') return { conn, refusedWith: outcome };
  }
  const { status } = await integrate(context.invoke, context.metric, connect, connectEvent(api, conn, request));
  return status < 200 || status > 299 ? { conn, refusedWith: status } : { conn };
}

/**
 * Strings that most connections bring alike (the Host header, a user agent), kept once instead of once per open
 * connection. At most 1,024 of them, so clients sending a new one each time cannot grow it without bound.
 */
const sharedStrings = new Map<string, string>();
const SHARED_STRINGS_MAX = 1024;

function shared(value: string): string {
  const known = sharedStrings.get(value);
  if (known !== undefined) return known;
  if (sharedStrings.size < SHARED_STRINGS_MAX) sharedStrings.set(value, value);
  return value;
}

/** Answers an upgrade request with an HTTP error instead of switching protocols. */
export function refuseUpgrade(socket: Duplex, status: number): void {
  const body = JSON.stringify({ message: STATUS_CODES[status] ?? 'Error' });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

interface AuthorizerOutput {
  principalId?: string;
  policyDocument?: { Statement?: { Effect?: string; Action?: string | string[]; Resource?: string | string[] }[] };
  context?: Record<string, unknown>;
}

/** Sets `conn.authorizer` when the authorizer allows the connection; otherwise the status refusing it. */
async function authorize(
  context: HandshakeContext,
  authorizer: Authorizer,
  conn: ConnectionInfo,
  request: HandshakeRequest,
  url: URL,
  req: IncomingMessage,
): Promise<'allow' | number> {
  if (!authorizer.identitySources.every((source) => identitySourcePresent(source, url, req))) return 401;
  const result = await context.invoke(authorizer, authorizerEvent(context.api, conn, request));
  if (result.status === 'error' && result.errorMessage === 'Unauthorized') return 401;
  if (result.status !== 'ok') {
    // An authorizer that cannot answer is API Gateway's own execution failure.
    context.metric('ExecutionError', 1);
    return 500;
  }
  const output = result.payload as AuthorizerOutput | undefined;
  const effect = policyEffect(output, `execute-api:Invoke`);
  if (effect === 'Deny') return 403;
  if (effect !== 'Allow') return 500;
  const values = output?.context ?? {};
  // API Gateway passes only string, number and boolean context values; anything else is a 500.
  if (Object.values(values).some((v) => !['string', 'number', 'boolean'].includes(typeof v))) return 500;
  // Built key by key: spread copies of cloned worker replies got a hidden class each, bytes on every connection.
  const authorizerContext: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(values)) authorizerContext[key] = value as string | number | boolean;
  const principalId = String(output?.principalId ?? '');
  // Usually one of the context's values too (the user id): kept once per connection, not twice.
  authorizerContext.principalId = Object.values(authorizerContext).find((v) => v === principalId) ?? principalId;
  conn.authorizer = authorizerContext;
  return 'allow';
}

/** Deny wins over Allow; no matching statement is neither (a misconfigured authorizer: 500). */
function policyEffect(output: AuthorizerOutput | undefined, action: string): 'Allow' | 'Deny' | undefined {
  const statements = output?.policyDocument?.Statement ?? [];
  const matching = statements.filter((s) => actionsMatcher(s.Action ?? [])(action));
  if (matching.some((s) => s.Effect === 'Deny')) return 'Deny';
  if (matching.some((s) => s.Effect === 'Allow')) return 'Allow';
  return undefined;
}

function identitySourcePresent(source: string, url: URL, req: IncomingMessage): boolean {
  const [, where, name] = /^route\.request\.(querystring|header)\.(.+)$/.exec(source) ?? [];
  if (!where || !name) return false;
  if (where === 'querystring') return !!url.searchParams.get(name);
  return !!req.headers[name.toLowerCase()];
}

function handshakeRequest(req: IncomingMessage, url: URL): HandshakeRequest {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    const value = req.rawHeaders[i + 1] as string;
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
    (multiValueHeaders[name] ??= []).push(value);
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [key, value] of url.searchParams) {
    query[key] = value;
    (multiQuery[key] ??= []).push(value);
  }
  const hasQuery = Object.keys(query).length > 0;
  return {
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : undefined,
    multiValueQueryStringParameters: hasQuery ? multiQuery : undefined,
  };
}
