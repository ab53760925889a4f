/**
 * API Gateway refuses a stage whose access-log format uses a `$context` variable it does not support for
 * WebSocket APIs ("BadRequestException: The following context variables are not supported").
 */
import { describe, expect, it } from 'vitest';
import { ACCESS_LOG_FORMAT } from '../../infra/constructs/api.ts';
import { accessLog } from '../../local/gateway/access-log.ts';
import type { ConnectionInfo } from '../../local/gateway/events.ts';
import { ruleData, readPlan, resourcesOf, synthesizedStacks } from './support.ts';

const DOC = ruleData<{ variables: string[]; authorizerContextPrefix: string }>('apigateway-websocket-access-log-variables.json');
const SUPPORTED = new Set(DOC.variables);

/** The variables of a format that API Gateway does not document for WebSocket APIs. */
export function unsupportedVariables(format: string): string[] {
  const used = format.match(/\$context\.[A-Za-z0-9_.]+/g) ?? [];
  return used.filter((variable) => {
    if (SUPPORTED.has(variable)) return false;
    // One key of the authorizer's context map, e.g. $context.authorizer.userId.
    const key = variable.startsWith(DOC.authorizerContextPrefix) ? variable.slice(DOC.authorizerContextPrefix.length) : undefined;
    return !(key && /^[A-Za-z0-9_]+$/.test(key));
  });
}

describe('access-log variables', () => {
  it('catches variables of REST or HTTP APIs that WebSocket APIs do not support', () => {
    const broken = JSON.stringify({ status: '$context.integrationStatus', error: '$context.integrationErrorMessage', ok: '$context.requestId' });
    expect(unsupportedVariables(broken)).toEqual(['$context.integrationStatus', '$context.integrationErrorMessage']);
    expect(unsupportedVariables('{"user":"$context.authorizer.userId","deep":"$context.authorizer.a.b"}')).toEqual(['$context.authorizer.a.b']);
  });

  describe.each(synthesizedStacks())('%s', (stack) => {
    const stages = resourcesOf(readPlan(stack), 'aws_apigatewayv2_stage');

    it('has stages with access logs, whose every variable API Gateway supports for WebSocket APIs', () => {
      expect(stages.length).toBeGreaterThan(0);
      for (const stage of stages) {
        const format = String((stage.access_log_settings as { format?: string } | undefined)?.format ?? '');
        expect(format).toContain('$context.');
        expect(unsupportedVariables(format)).toEqual([]);
      }
    });
  });
});

describe('the local gateway writes the same access-log fields', () => {
  const conn = { connectionId: 'c-1', sourceIp: '127.0.0.1' } as unknown as ConnectionInfo;
  const lines: string[] = [];
  const write = accessLog(ACCESS_LOG_FORMAT, (line) => lines.push(line));

  it('fills every integration variable of the format for a message, and Lambda throttling as 429', () => {
    write({ conn, routeKey: 'send', eventType: 'MESSAGE', status: 200, latencyMs: 12, result: { status: 'ok', payload: { statusCode: 200 } } });
    write({ conn, routeKey: 'send', eventType: 'MESSAGE', status: 500, latencyMs: 3, result: { status: 'throttled', errorMessage: 'Rate Exceeded.', reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' } });
    const [ok, throttled] = lines.map((l) => JSON.parse(l) as Record<string, string>);
    expect(ok).toMatchObject({ routeKey: 'send', status: '200', integrationStatus: '200', functionStatus: '200', integrationLatency: '12', integrationError: '-' });
    expect(throttled).toMatchObject({ status: '500', integrationStatus: '429', integrationError: 'Rate Exceeded.' });
  });
});
