/**
 * CloudWatch saves a Logs Insights query whatever fields it reads: one that reads a field no function logs is
 * accepted at apply and answers with empty columns during an incident. Every saved query of the plan is run here
 * on the local stack's logs after traffic that exercises what it is about, and every column it shows, and every
 * event field it reads, must have a value somewhere.
 */
import { describe, expect, it } from 'vitest';
import { ENV } from '../../functions/catalog/env.ts';
import { connectionsPerUserInPlan, crowdUser } from '../../local/crowd.ts';
import { discoveredFields, runQuery, type LogEvent } from '../../local/observability/logs-insights.ts';
import { bootDevStack, useStack } from '../support/local-stack.ts';
import { ChatClient, HandshakeRejected } from '../support/ws-client.ts';
import { named, readPlan, type Plan } from './support.ts';

interface SavedQuery {
  readonly name: string;
  readonly logGroups: string[];
  readonly query: string;
}

/** The plan's saved queries, with their log groups resolved to the names the plan gives them. */
function savedQueries(plan: Plan): SavedQuery[] {
  return named(plan, 'aws_cloudwatch_query_definition').map(([, definition]) => ({
    name: String(definition.name),
    query: String(definition.query_string),
    logGroups: (definition.log_group_names as string[]).map((ref) => {
      const match = /^\$\{aws_cloudwatch_log_group\.([^.]+)\.name\}$/.exec(ref);
      const group = match && plan.resource.aws_cloudwatch_log_group?.[match[1] as string];
      if (!group) throw new Error(`${String(definition.name)}: ${ref} is not a log group of the plan`);
      return String(group.name);
    }),
  }));
}

/** What makes a query's answer useless: no row, a column without a single value, an event field no event has. */
export function emptyAnswers(query: string, events: readonly LogEvent[]): string[] {
  const result = runQuery(query, events);
  const logged = new Set(events.flatMap(discoveredFields));
  return [
    ...(result.rows.length ? [] : ['no rows']),
    ...result.columns.filter((column) => !result.rows.some((row) => (row[column] ?? '') !== '')).map((column) => `column ${column} has no value`),
    ...result.referencedFields.filter((field) => !logged.has(field)).map((field) => `field ${field} is in no log event`),
  ];
}

const plan = readPlan('wschat-dev');
const queries = savedQueries(plan);
const query = (id: string): SavedQuery => {
  const found = queries.find((q) => q.name === `wschat/dev/${id}`);
  if (!found) throw new Error(`the plan saves no query ${id}; it has ${queries.map((q) => q.name).join(', ')}`);
  return found;
};
const CONNECTION_PLACEHOLDER = 'REPLACE_WITH_CONNECTION_ID';
/** The queries a test below drives traffic for: a new saved query fails the rule until it has its own. */
const EXERCISED = ['auth-failures', 'connection-story', 'errors-by-route', 'slow-fanouts'];

describe('the rule', () => {
  const events: LogEvent[] = [
    { timestamp: 1, log: '0:/aws/lambda/x', message: JSON.stringify({ level: 'WARN', message: 'connection unauthorized', reason: 'expired', connectionId: 'c1' }) },
    { timestamp: 2, log: '0:/aws/lambda/x', message: JSON.stringify({ level: 'INFO', message: 'joined', routeKey: 'join' }) },
  ];

  it('passes a query whose every column and field has a value', () => {
    expect(emptyAnswers('fields @timestamp, reason, connectionId | filter message like /unauthorized/', events)).toEqual([]);
  });

  it('catches a column of a field nobody logs, a read of one, and a query that matches nothing', () => {
    expect(emptyAnswers('fields @timestamp, reasonCode | filter message like /unauthorized/', events)).toEqual([
      'column reasonCode has no value',
      'field reasonCode is in no log event',
    ]);
    // Hidden behind stats, a field in `fields` is still read by nobody's logs.
    expect(emptyAnswers('fields errorKind | stats count(*) as n by routeKey', events)).toEqual(['field errorKind is in no log event']);
    expect(emptyAnswers('fields reason | filter level = "ERROR"', events)).toEqual(['no rows', 'column reason has no value']);
  });
});

describe('every saved query of the plan has answers on the local stack after traffic', () => {
  const { stack, joined } = useStack(() => bootDevStack());
  const eventsOf = (saved: SavedQuery) => stack.logs.logEvents(saved.logGroups);

  it('exercises every saved query of the plan', () => {
    expect(queries.map((q) => q.name.replace('wschat/dev/', '')).sort()).toEqual(EXERCISED);
  });

  it('saves the same queries in every stage', () => {
    const prod = savedQueries(readPlan('wschat-prod')).map((q) => [q.name.replace('/prod/', '/dev/'), q.query]);
    expect(prod).toEqual(queries.map((q) => [q.name, q.query]));
    expect(queries.length).toBeGreaterThan(0);
  });

  it('errors-by-route: errors with their route, and refused connections without one', async () => {
    const client = await joined('errors-user', 'errors-room');
    // A rejection is no error (it is logged at INFO), but it is the line that carries errorCode, which the query reads.
    await client.request({ action: 'send', room: 'not-joined', text: 'hi', clientMsgId: 'errors-1' }, 'error');
    stack.faults.inject({ kind: 'dynamodb-system-error' });
    try {
      const failure = await client.request({ action: 'join', room: 'errors-room-2' }, 'error');
      expect(failure).toMatchObject({ code: 'INTERNAL' });
    } finally {
      stack.faults.clear('dynamodb-system-error');
    }
    await expectRefused(stack.wsUrl('not-a-token'));
    const saved = query('errors-by-route');
    await expect.poll(() => emptyAnswers(saved.query, eventsOf(saved))).toEqual([]);
    const routes = runQuery(saved.query, eventsOf(saved)).rows.map((row) => row.routeKey);
    expect(routes).toContain('join');
  });

  it("connection-story: one connection's requests, rejections included", async () => {
    const client = await joined('story-user', 'story-room');
    // Sending to a room it is not in is rejected with an errorCode.
    const rejection = await client.request({ action: 'send', room: 'not-joined', text: 'hi', clientMsgId: 'story-1' }, 'error');
    expect(rejection.code).toEqual(expect.any(String));
    const saved = query('connection-story');
    expect(saved.query).toContain(CONNECTION_PLACEHOLDER);
    // As on-call would: find the user's connection in the logs, then replace the placeholder with it.
    const findConnection = () => runQuery('fields connectionId | filter userId = "story-user" and routeKey = "send"', eventsOf(saved)).rows[0]?.connectionId;
    await expect.poll(findConnection).toEqual(expect.any(String));
    const connectionId = findConnection() as string;
    const story = saved.query.replace(CONNECTION_PLACEHOLDER, connectionId);
    await expect.poll(() => emptyAnswers(story, eventsOf(saved))).toEqual([]);
  });

  it('slow-fanouts: a fan-out slower than a second, with its room and recipients', async () => {
    const sender = await joined('fanout-sender', 'slow-room');
    await joined('fanout-listener', 'slow-room');
    // Every @connections post waits, so the fan-out of this message takes over a second.
    stack.faults.inject({ kind: 'slow-fanout', delayMs: 1200 });
    try {
      await sender.request({ action: 'send', room: 'slow-room', text: 'slowly', clientMsgId: 'slow-1' }, 'ack');
      const saved = query('slow-fanouts');
      await expect.poll(() => emptyAnswers(saved.query, eventsOf(saved))).toEqual([]);
      expect(runQuery(saved.query, eventsOf(saved)).rows.map((row) => row.room)).toContain('slow-room');
      // The rule catches the same query reading a field nobody logs, on the same logs.
      expect(emptyAnswers(saved.query.replace(/\broom\b/, 'roomName'), eventsOf(saved))).toEqual([
        'column roomName has no value',
        'field roomName is in no log event',
      ]);
    } finally {
      stack.faults.clear('slow-fanout');
    }
  });

  it("slow-fanouts: a large room's fan-out, made in shards by the fan-out function, has a value in every column", { timeout: 240_000 }, async () => {
    const threshold = Number(stack.functionEnvironment('wschat-dev-send')[ENV.fanoutAsyncThreshold]);
    const sender = await joined('crowd-sender', 'crowd-room');
    // A crowd of users, each with as many connections as one user may hold, fills the room above the async
    // threshold, in batches.
    const perUser = connectionsPerUserInPlan(stack);
    for (let members = 1; members <= threshold; members += 10) {
      await Promise.all(
        Array.from({ length: Math.min(10, threshold + 1 - members) }, (_, i) => joined(crowdUser('crowd', members - 1 + i, perUser), 'crowd-room')),
      );
    }
    stack.faults.inject({ kind: 'slow-fanout', delayMs: 1200 });
    try {
      await sender.request({ action: 'send', room: 'crowd-room', text: 'to everyone, slowly', clientMsgId: 'crowd-1' }, 'ack');
      const saved = query('slow-fanouts');
      const fanoutGroup = saved.logGroups.find((group) => group.endsWith('-fanout')) as string;
      const shardRows = () => runQuery(saved.query, eventsOf(saved)).rows.filter((row) => row['@log']?.endsWith(`:${fanoutGroup}`) && row.room === 'crowd-room');
      await expect.poll(() => shardRows().length, { timeout: 60_000 }).toBeGreaterThan(0);
      const columns = runQuery(saved.query, eventsOf(saved)).columns;
      for (const row of shardRows()) expect(columns.filter((column) => !row[column])).toEqual([]);
    } finally {
      stack.faults.clear('slow-fanout');
    }
  });

  it('auth-failures: refused connections by reason', async () => {
    await expectRefused(stack.wsUrl('not-a-token'));
    await expectRefused(stack.wsUrl());
    const saved = query('auth-failures');
    await expect.poll(() => emptyAnswers(saved.query, eventsOf(saved))).toEqual([]);
  });

  it("files each line under the log group the plan gives its source: a function's, the stage's access log", async () => {
    await joined('groups-user', 'groups-room');
    const joinGroup = queries[0]?.logGroups.find((group) => group.endsWith('-join')) as string;
    const stage = named(plan, 'aws_apigatewayv2_stage')[0]?.[1] as { access_log_settings: { destination_arn: string } };
    const accessRef = /^\$\{aws_cloudwatch_log_group\.([^.]+)\.arn\}$/.exec(stage.access_log_settings.destination_arn)?.[1] as string;
    const accessGroup = String(plan.resource.aws_cloudwatch_log_group?.[accessRef]?.name);
    // A join that succeeds logs its metrics (EMF, with the service key) in the join function's group.
    const joinLines = () => runQuery('fields @log, @logStream | filter ispresent(service)', stack.logs.logEvents([joinGroup])).rows;
    await expect.poll(() => joinLines().length).toBeGreaterThan(0);
    expect(new Set(joinLines().map((row) => row['@log']))).toEqual(new Set([`000000000000:${joinGroup}`]));
    expect(joinLines().every((row) => row['@logStream']?.includes('[$LATEST]'))).toBe(true);
    await expect.poll(() => runQuery('fields routeKey, status | filter routeKey = "join"', stack.logs.logEvents([accessGroup])).rows.length).toBeGreaterThan(0);
  });

  it("the local dashboard's log widgets show the saved queries' answers", async () => {
    const client = await joined('widget-user', 'widget-room');
    await client.request({ action: 'send', room: 'not-joined', text: 'hi', clientMsgId: 'widget-1' }, 'error');
    await expectRefused(stack.wsUrl('not-a-token'));
    const state = () =>
      fetch(`http://127.0.0.1:${stack.port}/_dashboard/api/state`).then(async (res) => (await res.json()) as { widgets: { type: string; query?: string; columns?: string[]; rows?: unknown[]; error?: string }[] });
    const errorsWidget = async () => (await state()).widgets.find((w) => w.type === 'log' && w.query?.includes('stats count(*) as errors'));
    await expect.poll(async () => (await errorsWidget())?.rows?.length ?? 0).toBeGreaterThan(0);
    expect(await errorsWidget()).toMatchObject({ columns: ['routeKey', 'level', 'errors'] });
    const logWidgets = (await state()).widgets.filter((w) => w.type === 'log');
    expect(logWidgets.length).toBe(queries.length);
    expect(logWidgets.filter((w) => w.error !== undefined)).toEqual([]);
  });

  /** A handshake the authorizer must refuse: it is answered 401, never opened. */
  async function expectRefused(url: string): Promise<void> {
    const refused = await ChatClient.connect(url).then(
      (client) => client.close(),
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(HandshakeRejected);
    expect((refused as HandshakeRejected).status).toBe(401);
  }
});
