/** The stage's access log: one line per connect, message and disconnect, in the format the plan gives the stage. */
import { STATUS_CODES } from 'node:http';
import type { InvokeResult } from '../lambda/function-pool.ts';
import { gatewayId, type ConnectionInfo } from './events.ts';

export interface AccessLogEntry {
  readonly conn: ConnectionInfo;
  readonly routeKey: string;
  readonly eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT';
  readonly status: number;
  readonly latencyMs?: number;
  readonly result?: InvokeResult;
}

export type AccessLog = (entry: AccessLogEntry) => void;

/** Writes each entry in `format` to `log`; a stage without access log settings logs nothing. */
export function accessLog(format: string | undefined, log: (line: string) => void): AccessLog {
  if (format === undefined) return () => {};
  const render = accessLogTemplate(format);
  return ({ conn, routeKey, eventType, status, latencyMs, result }) =>
    log(
      render({
        requestId: gatewayId(),
        connectionId: conn.connectionId,
        routeKey,
        eventType,
        status: String(status),
        // What Lambda's Invoke API answered (a function error is still a 200), then what the function returned.
        'integration.integrationStatus': result ? String(invokeStatus(result)) : '-',
        'integration.status': result ? String(status) : '-',
        'integration.latency': latencyMs === undefined ? '-' : String(latencyMs),
        'integration.error': result && result.status !== 'ok' ? result.errorMessage : '-',
        'authorizer.error': status === 401 || status === 403 ? (STATUS_CODES[status] ?? '-') : '-',
        'error.message': status >= 400 ? (STATUS_CODES[status] ?? '-') : '-',
        'identity.sourceIp': conn.sourceIp,
        requestTimeEpoch: String(Date.now()),
      }),
    );
}

/** The status of Lambda's Invoke API: 429 when throttled; 200 whenever the function ran, even if it failed. */
function invokeStatus(result: InvokeResult): number {
  return result.status === 'throttled' ? 429 : 200;
}

/** The stage's access log format, split once into its text and its `$context` variables. */
function accessLogTemplate(format: string): (values: Readonly<Record<string, string>>) => string {
  const texts: string[] = [];
  const keys: string[] = [];
  let last = 0;
  for (const match of format.matchAll(/\$context\.([A-Za-z.]+)/g)) {
    texts.push(format.slice(last, match.index));
    keys.push(match[1] as string);
    last = (match.index as number) + match[0].length;
  }
  const tail = format.slice(last);
  // Values are escaped as JSON string contents: the formats API Gateway is given are JSON.
  return (values) => keys.reduce((line, key, i) => line + texts[i] + JSON.stringify(values[key] ?? '-').slice(1, -1), '') + tail;
}
