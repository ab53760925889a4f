/**
 * The local SNS reads the plan's alarm topics and their subscriptions from the alarm target variables and
 * delivers to HTTP(S) endpoints as SNS does: confirmation first, then one POST per message in SNS's JSON format
 * (test/apply-rules/data/sns-http-notification.json). Real HTTP both ways: a receiver, and the SNS link server.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ALARM_TARGET_VARIABLES, ATTACHMENT_CORS_VARIABLE, CANARY_VARIABLES } from '../../infra/config/variables.ts';
import { AlarmEvaluator, readAlarms, type AlarmStatus } from '../../local/observability/alarm-evaluator.ts';
import { dashboardState } from '../../local/observability/dashboard.ts';
import { LogStore } from '../../local/observability/log-store.ts';
import { MetricStore } from '../../local/observability/metric-store.ts';
import { XrayCollector } from '../../local/observability/xray.ts';
import { StackPlan } from '../../local/plan.ts';
import { LocalSns } from '../../local/sns.ts';
import { ruleData } from '../apply-rules/support.ts';
import { stackDir } from '../support/plan.ts';
import { SnsReceiver } from '../support/sns-receiver.ts';

const FORMAT = ruleData<{
  notificationKeys: string[];
  confirmationKeys: string[];
  signatureKeys: string[];
  headers: string[];
  alarmMessageKeys: string[];
}>('sns-http-notification.json');

const receiver = new SnsReceiver();
let links: Server;
let linksBase = '';
let sns: LocalSns;
let plan: StackPlan;

function load(variables: Record<string, string[]>): { plan: StackPlan; sns: LocalSns } {
  const loaded = StackPlan.load(stackDir('wschat-dev'), {
    apiId: 'abcdefghij',
    variables: {
      jwt_issuer: 'https://issuer.invalid/',
      jwt_audience: 'wschat',
      jwks_url: 'https://issuer.invalid/jwks',
      [ATTACHMENT_CORS_VARIABLE]: JSON.stringify(['http://127.0.0.1:8080']),
      [CANARY_VARIABLES.tokenEndpoint]: 'https://issuer.invalid/oauth2/token',
      [CANARY_VARIABLES.clientId]: 'canary',
      [CANARY_VARIABLES.clientSecret]: 'canary-secret',
      [CANARY_VARIABLES.scope]: 'wschat/canary',
      ...variables,
    },
  });
  return { plan: loaded, sns: new LocalSns(loaded, linksBase) };
}

const topicArn = (severity: 'page' | 'ticket') => `arn:aws:sns:${plan.region}:000000000000:wschat-dev-alarms-${severity}`;

beforeAll(async () => {
  await receiver.listen();
  // The gateway serves SubscribeURL / UnsubscribeURL on a stack; here a bare server with the same handler.
  links = createServer((req, res) => {
    if (!sns.handler()(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => links.listen(0, '127.0.0.1', resolve));
  linksBase = `http://127.0.0.1:${(links.address() as { port: number }).port}`;
  ({ plan, sns } = load({
    [ALARM_TARGET_VARIABLES.page.httpsEndpoints]: [receiver.url('/page')],
    [ALARM_TARGET_VARIABLES.page.emails]: ['oncall@example.com'],
    [ALARM_TARGET_VARIABLES.ticket.httpsEndpoints]: [receiver.url('/ticket')],
  }));
});
afterAll(async () => {
  await receiver.close();
  await new Promise((resolve) => links.close(resolve));
});
afterEach(() => {
  receiver.notifications.length = 0;
});

describe('local SNS', () => {
  it('subscribes what the alarm target variables name, and nobody without them', () => {
    expect(sns.targets()).toEqual(
      expect.arrayContaining([
        { topicArn: topicArn('page'), protocol: 'https', endpoint: receiver.url('/page'), confirmed: false },
        { topicArn: topicArn('page'), protocol: 'email', endpoint: 'oncall@example.com', confirmed: true },
        { topicArn: topicArn('ticket'), protocol: 'https', endpoint: receiver.url('/ticket'), confirmed: false },
      ]),
    );
    expect(sns.targets()).toHaveLength(3);
    expect(load({}).sns.targets()).toEqual([]);
  });

  it('delivers nothing to an endpoint that has not confirmed, and says so', () => {
    sns.publish(topicArn('ticket'), 'before confirmation', '{}');
    expect(sns.deliveries.at(-1)).toMatchObject({ endpoint: receiver.url('/ticket'), outcome: 'failed', detail: 'subscription pending confirmation' });
    expect(receiver.notifications).toEqual([]);
  });

  it('asks each HTTPS endpoint to confirm in the SubscriptionConfirmation format; the endpoint confirms by its SubscribeURL', async () => {
    await sns.requestConfirmations();
    expect(receiver.confirmations.sort()).toEqual(['/page', '/ticket']);
    await expect.poll(() => sns.targets().every((t) => t.confirmed)).toBe(true);
    const confirmation = sns.deliveries.filter((d) => d.type === 'SubscriptionConfirmation');
    expect(confirmation.map((d) => d.outcome)).toEqual(['delivered', 'delivered']);
  });

  it("posts an alarm's state change once to each subscriber of the state's action topics, in SNS's JSON format", async () => {
    const status: AlarmStatus = {
      name: 'wschat-dev-page',
      description: 'Something users feel is broken',
      kind: 'composite',
      state: 'ALARM',
      reason: 'members in ALARM: wschat-dev-lambda-errors-ping',
      since: Date.UTC(2026, 11, 3, 12, 0, 0),
      values: [],
      actions: { ALARM: [topicArn('page')], OK: [topicArn('page')], INSUFFICIENT_DATA: [] },
      history: [],
    };
    sns.notifyAlarm(status, 'OK', plan.region);
    await expect.poll(() => receiver.notifications.length).toBe(1);
    const [notification] = receiver.notifications;
    expect(notification!.path).toBe('/page');
    const expectedKeys = FORMAT.notificationKeys.filter((k) => !FORMAT.signatureKeys.includes(k));
    expect(Object.keys(notification!.body).sort()).toEqual(expectedKeys.sort());
    for (const header of FORMAT.headers) expect(notification!.headers[header], header).toBeTruthy();
    expect(notification!.headers['x-amz-sns-message-type']).toBe('Notification');
    expect(notification!.body).toMatchObject({ Type: 'Notification', TopicArn: topicArn('page'), Subject: `ALARM: "wschat-dev-page" in ${plan.region}` });
    expect(Object.keys(notification!.alarm).sort()).toEqual([...FORMAT.alarmMessageKeys].sort());
    expect(notification!.alarm).toMatchObject({ AlarmName: 'wschat-dev-page', NewStateValue: 'ALARM', OldStateValue: 'OK', StateChangeTime: '2026-12-03T12:00:00.000Z' });
    // The email subscriber is recorded, not mailed.
    expect(sns.deliveries.filter((d) => d.protocol === 'email').at(-1)).toMatchObject({ outcome: 'recorded', subject: notification!.body.Subject });
    // A state without actions notifies nobody.
    sns.notifyAlarm({ ...status, state: 'INSUFFICIENT_DATA' }, 'ALARM', plan.region);
    sns.publish(topicArn('ticket'), 'control', '{"AlarmName":"control"}');
    await expect.poll(() => receiver.notifications.map((n) => n.alarm.AlarmName)).toEqual(['wschat-dev-page', 'control']);
  });

  it('stops delivering to a subscriber that followed its UnsubscribeURL', async () => {
    sns.publish(topicArn('ticket'), 'one', '{"AlarmName":"one"}');
    await expect.poll(() => receiver.notifications.length).toBe(1);
    const unsubscribe = await fetch(receiver.notifications[0]!.body.UnsubscribeURL as string);
    expect(unsubscribe.status).toBe(200);
    sns.publish(topicArn('ticket'), 'two', '{"AlarmName":"two"}');
    sns.publish(topicArn('page'), 'control', '{"AlarmName":"control"}');
    await expect.poll(() => receiver.notifications.map((n) => n.alarm.AlarmName)).toEqual(['one', 'control']);
    expect((await fetch(`${linksBase}/_local/sns/confirm?SubscriptionArn=nope&Token=nope`)).status).toBe(404);
  });

  it('retries an endpoint that fails, then records the failure', async () => {
    const failing = createServer((_req, res) => res.writeHead(500).end());
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(failing.address() as { port: number }).port}/broken`;
      const local = load({ [ALARM_TARGET_VARIABLES.ticket.httpsEndpoints]: [url] }).sns;
      let requests = 0;
      failing.on('request', () => requests++);
      await local.requestConfirmations();
      expect(requests).toBe(3);
      expect(local.deliveries).toEqual([expect.objectContaining({ endpoint: url, type: 'SubscriptionConfirmation', outcome: 'failed', detail: 'HTTP 500' })]);
    } finally {
      await new Promise((resolve) => failing.close(resolve));
    }
  });

  it('puts the subscribers and the latest notifications, newest first, on the local dashboard', () => {
    const { plan: dashboardPlan, sns: local } = load({ [ALARM_TARGET_VARIABLES.page.emails]: ['oncall@example.com'] });
    local.publish(topicArn('page'), 'first', '{}');
    local.publish(topicArn('page'), 'second', '{}');
    const metrics = new MetricStore();
    const state = dashboardState({
      plan: dashboardPlan,
      metrics,
      alarms: new AlarmEvaluator(readAlarms(dashboardPlan), metrics),
      logs: new LogStore(),
      traces: new XrayCollector(),
      sns: local,
      timeScale: 1,
    });
    expect(state.paging.targets).toEqual([{ topicArn: topicArn('page'), protocol: 'email', endpoint: 'oncall@example.com', confirmed: true }]);
    expect(state.paging.notifications.map((n) => [n.subject, n.outcome])).toEqual([
      ['second', 'recorded'],
      ['first', 'recorded'],
    ]);
  });

  it('refuses subscriptions it cannot expand locally, naming the resource', () => {
    expect(() => load({ [ALARM_TARGET_VARIABLES.page.httpsEndpoints]: 'not a list' as unknown as string[] })).toThrow(/page-https-subscriptions.*is not a list/);
  });
});
