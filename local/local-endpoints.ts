/**
 * The local stack's own HTTP endpoints (`/_local/*`, `/_dashboard`) are for the developer on this machine only.
 * A web page the developer visits must not reach them: a cross-origin page can POST a form or a text/plain body
 * without a CORS preflight, and DNS rebinding points a foreign name at 127.0.0.1 so the page's reads count as
 * same-origin. So: the `Host` must be a loopback name with the stack's port; a state-changing request must carry
 * `application/json` (a cross-origin page cannot send it without a preflight, which is never answered) and an
 * `Origin` that is absent (curl, the CLIs) or this same origin.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpHandler } from './gateway/gateway.ts';

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Why a request to a local endpoint is refused, or undefined when it may go on. */
export function localRequestRefusal(req: IncomingMessage, port: number): { status: number; message: string } | undefined {
  const host = (req.headers.host ?? '').toLowerCase();
  if (!LOOPBACK_NAMES.some((name) => host === `${name}:${port}`)) {
    return { status: 403, message: `local endpoints answer only Host 127.0.0.1:${port}, localhost:${port} or [::1]:${port}` };
  }
  if (SAFE_METHODS.has(req.method ?? 'GET')) return undefined;
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${host}`) {
    return { status: 403, message: `a state-changing request must come from this origin (http://${host}) or none` };
  }
  const mediaType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/json') return { status: 415, message: 'a state-changing request must be Content-Type: application/json' };
  return undefined;
}

/** Paths only the local stack serves: its token endpoint and faults API (`/_local/*`) and its dashboard. */
export const LOCAL_ENDPOINT_PREFIXES = ['/_local', '/_dashboard'] as const;

/**
 * Placed before the local endpoints' handlers: answers a refused request to one of them, and passes every other
 * request (allowed, or not for a local endpoint) on.
 */
export function localEndpointGuard(port: number): HttpHandler {
  return (req: IncomingMessage, res: ServerResponse) => {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    if (!LOCAL_ENDPOINT_PREFIXES.some((prefix) => pathname.startsWith(prefix))) return false;
    const refusal = localRequestRefusal(req, port);
    if (!refusal) return false;
    res.writeHead(refusal.status, { 'content-type': 'application/json' }).end(JSON.stringify({ message: refusal.message }));
    return true;
  };
}
