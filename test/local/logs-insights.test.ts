/** The local Logs Insights evaluator: the query language subset the saved queries use, and its refusals. */
import { describe, expect, it } from 'vitest';
import { logWidget } from '../../local/observability/dashboard.ts';
import { LogStore } from '../../local/observability/log-store.ts';
import { runQuery, type LogEvent } from '../../local/observability/logs-insights.ts';

const LOG = '000000000000:/aws/lambda/wschat-dev-send';

const json = (timestamp: number, fields: Record<string, unknown>, log = LOG): LogEvent => ({ timestamp, message: JSON.stringify(fields), log, logStream: '2026/12/03/[$LATEST]abc' });
const text = (timestamp: number, message: string, log = LOG): LogEvent => ({ timestamp, message, log });

const EVENTS: LogEvent[] = [
  json(1000, { level: 'INFO', message: 'request rejected', routeKey: 'send', errorCode: 'RATE_LIMITED', connectionId: 'c1' }),
  json(2000, { level: 'WARN', message: 'delivery failed', routeKey: 'send', connectionId: 'c1', lambda: { requestId: 'r1' } }),
  json(3000, { level: 'ERROR', message: 'request failed', routeKey: 'join', connectionId: 'c2' }),
  json(4000, { level: 'WARN', message: 'connection unauthorized', reason: 'token expired' }, '000000000000:/aws/lambda/wschat-dev-authorizer'),
  json(5000, { _aws: { Timestamp: 5000 }, FanoutDuration: 1500, FanoutRecipients: 3, room: 'big' }),
  json(6000, { _aws: { Timestamp: 6000 }, FanoutDuration: 40, FanoutRecipients: 2, room: 'small' }),
  text(7000, 'Task timed out after 3.00 seconds (r9)'),
];

describe('Logs Insights: fields and filters', () => {
  it('exposes JSON keys (nested with dots) and the @ fields, and shows only the columns asked for', () => {
    const result = runQuery('fields @timestamp, @log, @logStream, lambda.requestId, message | filter ispresent(lambda.requestId)', EVENTS);
    expect(result.columns).toEqual(['@timestamp', '@log', '@logStream', 'lambda.requestId', 'message']);
    expect(result.rows).toEqual([
      { '@timestamp': '1970-01-01 00:00:02.000', '@log': LOG, '@logStream': '2026/12/03/[$LATEST]abc', 'lambda.requestId': 'r1', message: 'delivery failed' },
    ]);
  });

  it('filters with =, !=, numeric comparisons, like (string and regex), not, and/or with precedence', () => {
    const messages = (query: string) => runQuery(`fields message | ${query}`, EVENTS).rows.map((r) => r.message);
    expect(messages('filter level = "WARN"')).toEqual(['delivery failed', 'connection unauthorized']);
    expect(messages('filter level != "WARN" and ispresent(level)')).toEqual(['request rejected', 'request failed']);
    expect(runQuery('fields room | filter FanoutDuration > 1000', EVENTS).rows).toEqual([{ room: 'big' }]);
    expect(runQuery('fields room | filter FanoutDuration <= 40', EVENTS).rows).toEqual([{ room: 'small' }]);
    expect(messages('filter message like /connection (unauthorized|denied)/')).toEqual(['connection unauthorized']);
    expect(messages('filter message like "failed"')).toEqual(['delivery failed', 'request failed']);
    expect(messages('filter message like /(?i)REQUEST/ and message not like /rejected/')).toEqual(['request failed']);
    // and binds tighter than or: ERROR, or (WARN and routeKey send).
    expect(messages('filter level = "ERROR" or level = "WARN" and routeKey = "send"')).toEqual(['delivery failed', 'request failed']);
    expect(messages('filter (level = "ERROR" or level = "WARN") and not ispresent(reason)')).toEqual(['delivery failed', 'request failed']);
  });

  it('matches plain-text lines by @message and shows @timestamp and @message by default', () => {
    const result = runQuery('filter @message like /Task timed out|Runtime exited/', EVENTS);
    expect(result.columns).toEqual(['@timestamp', '@message']);
    expect(result.rows).toEqual([{ '@timestamp': '1970-01-01 00:00:07.000', '@message': 'Task timed out after 3.00 seconds (r9)' }]);
  });
});

describe('Logs Insights: stats, sort, limit, display', () => {
  it('counts by fields (a missing by-field is its own group), names columns by alias or as written, and sorts', () => {
    const result = runQuery(
      'filter level = "ERROR" or level = "WARN" or @message like /Task timed out/ | stats count(*) as errors, count(reason) by routeKey | sort errors desc',
      EVENTS,
    );
    expect(result.columns).toEqual(['routeKey', 'errors', 'count(reason)']);
    expect(result.rows).toEqual([
      { errors: '2', 'count(reason)': '1' },
      { routeKey: 'send', errors: '1', 'count(reason)': '0' },
      { routeKey: 'join', errors: '1', 'count(reason)': '0' },
    ]);
  });

  it('computes sum, avg, min, max and nearest-rank pct of numeric fields', () => {
    const result = runQuery('stats sum(FanoutDuration) as total, avg(FanoutDuration), min(FanoutDuration), max(FanoutDuration), pct(FanoutDuration, 50)', EVENTS);
    expect(result.rows).toEqual([{ total: '1540', 'avg(FanoutDuration)': '770', 'min(FanoutDuration)': '40', 'max(FanoutDuration)': '1500', 'pct(FanoutDuration, 50)': '40' }]);
  });

  it('sorts in the documented order (numbers after text, digit runs by length) and limits', () => {
    const events = ['b10', 'b9', '7', 'a', '12'].map((v, i) => json(i, { v }));
    expect(runQuery('fields v | sort v asc', events).rows.map((r) => r.v)).toEqual(['a', 'b9', 'b10', '7', '12']);
    expect(runQuery('fields v | sort v desc | limit 2', events).rows.map((r) => r.v)).toEqual(['12', '7']);
  });

  it('display picks the final columns; an alias from fields can be displayed and sorted', () => {
    const result = runQuery('fields FanoutDuration as ms, room | sort ms desc | display room, ms', EVENTS);
    expect(result.columns).toEqual(['room', 'ms']);
    expect(result.rows.slice(0, 2)).toEqual([{ room: 'big', ms: '1500' }, { room: 'small', ms: '40' }]);
  });

  it('reports the event fields a query reads, not the names it defines', () => {
    const result = runQuery('fields @timestamp, errorCode | filter level = "WARN" | stats count(*) as errors by routeKey | sort errors desc', EVENTS);
    expect(result.referencedFields).toEqual(['@timestamp', 'errorCode', 'level', 'routeKey']);
  });
});

describe('Logs Insights: what it refuses, by name', () => {
  it.each([
    ['an unsupported command', 'fields a | parse @message "* *" as x, y', /unsupported command "parse"/],
    ['an unsupported function in fields', 'fields strlen(@message)', /unsupported function strlen\(\) in fields/],
    ['an unsupported function in a filter', 'filter isempty(level)', /unsupported function isempty\(\) in filter/],
    ['an unsupported aggregation', 'stats count_distinct(room)', /unsupported function count_distinct\(\) in stats/],
    ['an unsupported operator', 'filter level in ["WARN"]', /unsupported condition operator "in"/],
    ['arithmetic', 'fields a * 2', /unexpected "\*" in fields/],
    ['a sort without a direction', 'sort @timestamp', /sort @timestamp needs asc or desc/],
    ['a limit that is not a positive whole number', 'limit 0', /limit needs a positive whole number/],
    ['an unterminated string', 'filter level = "WARN', /unterminated string/],
    ['an unterminated regular expression', 'filter @message like /oops', /unterminated regular expression/],
    ['an empty command', 'fields a || limit 1', /empty command between pipes/],
    ['a regular expression compared with =', 'filter level = /WARN/', /needs like, not =/],
    ['an unsupported character', 'fields a + b', /unsupported character "\+"/],
    ['a condition used as a value', 'filter level = ispresent(reason)', /a condition cannot be used as a value/],
    ['a truncated command', 'filter level =', /filter ends unexpectedly/],
  ])('%s', (_, query, error) => {
    expect(() => runQuery(query, EVENTS)).toThrow(error);
  });
});

describe('the log store as Logs Insights reads it', () => {
  it('gives the lines of the asked log groups, oldest first, with @log as account:group and the stream', () => {
    const store = new LogStore();
    store.add('wschat-dev-send', '{"level":"INFO"}', { group: '/aws/lambda/wschat-dev-send', stream: 's1' });
    store.add('lambda', 'async invocation failed');
    store.add('apigateway', '{"status":"200"}', { group: '/aws/apigateway/wschat-dev-ws' });
    store.add('wschat-dev-send', 'INIT cold start 12 ms', { group: '/aws/lambda/wschat-dev-send', stream: 's2' });
    const events = store.logEvents(['/aws/lambda/wschat-dev-send']);
    expect(events.map((e) => [e.message, e.log, e.logStream])).toEqual([
      ['{"level":"INFO"}', '000000000000:/aws/lambda/wschat-dev-send', 's1'],
      ['INIT cold start 12 ms', '000000000000:/aws/lambda/wschat-dev-send', 's2'],
    ]);
    expect(store.logEvents(['/aws/apigateway/wschat-dev-ws']).map((e) => e.message)).toEqual(['{"status":"200"}']);
    expect(store.logEvents([])).toEqual([]);
  });

  it('forgets what it pushed out to stay within its bound', () => {
    const store = new LogStore(200);
    for (let i = 0; i < 10; i++) store.add('f', `line ${i}`, { group: 'g' });
    const kept = store.logEvents(['g']).map((e) => e.message);
    expect(kept.length).toBeLessThan(10);
    expect(kept.at(-1)).toBe('line 9');
    expect(kept[0]).not.toBe('line 0');
  });
});

describe("the local dashboard's log widgets", () => {
  const store = new LogStore();
  store.add('wschat-dev-send', JSON.stringify({ level: 'WARN', routeKey: 'send' }), { group: '/aws/lambda/wschat-dev-send' });
  store.add('wschat-dev-join', JSON.stringify({ level: 'ERROR', routeKey: 'join' }), { group: '/aws/lambda/wschat-dev-join' });
  store.add('wschat-dev-ping', JSON.stringify({ level: 'ERROR', routeKey: 'ping' }), { group: '/aws/lambda/wschat-dev-ping' });

  it('run the query after the SOURCE clauses on the logs of those groups only', () => {
    const widget = logWidget("SOURCE '/aws/lambda/wschat-dev-send' | SOURCE '/aws/lambda/wschat-dev-join' | stats count(*) as n by routeKey | sort routeKey asc", store);
    expect(widget).toEqual({ columns: ['routeKey', 'n'], rows: [{ routeKey: 'join', n: '1' }, { routeKey: 'send', n: '1' }] });
  });

  it('show why a query cannot run instead of an empty table', () => {
    expect(logWidget('stats count(*) as n', store)).toEqual({ error: "a log widget's query starts with SOURCE 'log-group' |" });
    expect(logWidget("SOURCE '/aws/lambda/wschat-dev-send' | dedup routeKey", store)).toEqual({ error: 'Logs Insights: unsupported command "dedup"' });
  });
});
