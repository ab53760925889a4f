/**
 * SNS as alarms use it: the plan's topics and subscriptions (for_each over the alarm target variables), and
 * delivery to HTTP/HTTPS subscriptions the way SNS does it: a SubscriptionConfirmation first, whose SubscribeURL
 * the endpoint visits, then one POST per published message in SNS's JSON format
 * (https://docs.aws.amazon.com/sns/latest/dg/http-notification-json.html, read 2026-12-03). Email subscriptions
 * are recorded, not mailed. Locally a URL may be http://; nothing is signed (AWS's signing key is AWS's).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AlarmState, AlarmStatus } from './observability/alarm-evaluator.ts';
import { LOCAL_ACCOUNT_ID, type StackPlan } from './plan.ts';

interface Subscription {
  readonly arn: string;
  readonly topicArn: string;
  readonly protocol: string;
  readonly endpoint: string;
  /** Secret of the confirmation link; a subscription delivers nothing until it is visited. */
  readonly token: string;
  confirmed: boolean;
}

/** One POST (or recorded email) SNS made, for the dashboard and for tests that prove a page went out. */
export interface Delivery {
  readonly at: number;
  readonly topicArn: string;
  readonly endpoint: string;
  readonly protocol: string;
  readonly type: 'SubscriptionConfirmation' | 'Notification';
  readonly subject?: string;
  /** `delivered` (2xx), `failed` (with why) or `recorded` (email: not sent from this machine). */
  readonly outcome: 'delivered' | 'failed' | 'recorded';
  readonly detail?: string;
}

const FOR_EACH_LIST = /^\$\{(?:toset\()?var\.([A-Za-z0-9_]+)\)?\}$/;
const PATH = '/_local/sns';
/** SNS's default delivery policy retries an HTTP endpoint 3 times, the first immediately; locally 1 s apart. */
const ATTEMPTS = 3;
const RETRY_MS = 1000;

function subscriptionsOf(plan: StackPlan): Omit<Subscription, 'arn' | 'token' | 'confirmed'>[] {
  return plan.resources('aws_sns_topic_subscription').flatMap(({ address, config }) => {
    const topicArn = plan.resolve(String(config.topic_arn));
    const protocol = String(config.protocol);
    if (config.for_each === undefined) return [{ topicArn, protocol, endpoint: plan.resolve(String(config.endpoint)) }];
    const variable = FOR_EACH_LIST.exec(String(config.for_each))?.[1];
    if (!variable || config.endpoint !== '${each.value}') {
      throw new Error(`${address}: only for_each over a list variable with endpoint = each.value runs locally`);
    }
    const values = plan.variable(variable);
    if (!Array.isArray(values)) throw new Error(`${address}: var.${variable} is not a list`);
    return values.map((endpoint) => ({ topicArn, protocol, endpoint: String(endpoint) }));
  });
}

export class LocalSns {
  readonly deliveries: Delivery[] = [];
  private readonly subscriptions: Subscription[];

  constructor(
    plan: StackPlan,
    /** Where this machine answers the SubscribeURL and UnsubscribeURL links (the gateway's http base). */
    private readonly baseUrl: string,
  ) {
    this.subscriptions = subscriptionsOf(plan).map((s) => ({ ...s, arn: `${s.topicArn}:${randomUUID()}`, token: randomUUID(), confirmed: false }));
  }

  /** Sends each HTTP(S) subscription its SubscriptionConfirmation, as SNS does when the subscription is created. */
  requestConfirmations(): Promise<void> {
    return Promise.all(
      this.subscriptions
        .filter((s) => this.isHttp(s))
        .map((s) =>
          this.post(s, 'SubscriptionConfirmation', {
            Type: 'SubscriptionConfirmation',
            MessageId: randomUUID(),
            Token: s.token,
            TopicArn: s.topicArn,
            Message: `You have chosen to subscribe to the topic ${s.topicArn}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
            SubscribeURL: `${this.baseUrl}${PATH}/confirm?${new URLSearchParams({ SubscriptionArn: s.arn, Token: s.token })}`,
            Timestamp: new Date().toISOString(),
          }),
        ),
    ).then(() => undefined);
  }

  /** Publishes to a topic: every confirmed HTTP(S) subscriber gets one POST; emails are recorded. */
  publish(topicArn: string, subject: string, message: string): void {
    for (const s of this.subscriptions.filter((x) => x.topicArn === topicArn)) {
      if (!this.isHttp(s)) {
        this.deliveries.push({ at: Date.now(), topicArn, endpoint: s.endpoint, protocol: s.protocol, type: 'Notification', subject, outcome: 'recorded' });
        continue;
      }
      if (!s.confirmed) {
        this.deliveries.push({ at: Date.now(), topicArn, endpoint: s.endpoint, protocol: s.protocol, type: 'Notification', subject, outcome: 'failed', detail: 'subscription pending confirmation' });
        continue;
      }
      void this.post(s, 'Notification', {
        Type: 'Notification',
        MessageId: randomUUID(),
        TopicArn: topicArn,
        Subject: subject,
        Message: message,
        Timestamp: new Date().toISOString(),
        UnsubscribeURL: `${this.baseUrl}${PATH}/unsubscribe?${new URLSearchParams({ SubscriptionArn: s.arn })}`,
      });
    }
  }

  /** What CloudWatch publishes when an alarm changes state: the alarm notification as Message, its summary as Subject. */
  notifyAlarm(status: AlarmStatus, previous: AlarmState, region: string): void {
    const arn = `arn:aws:cloudwatch:${region}:${LOCAL_ACCOUNT_ID}:alarm:${status.name}`;
    const message = JSON.stringify({
      AlarmName: status.name,
      AlarmDescription: status.description,
      AWSAccountId: LOCAL_ACCOUNT_ID,
      NewStateValue: status.state,
      NewStateReason: status.reason,
      StateChangeTime: new Date(status.since).toISOString(),
      Region: region,
      AlarmArn: arn,
      OldStateValue: previous,
    });
    // A subject is at most 100 characters.
    const subject = `${status.state}: "${status.name}" in ${region}`.slice(0, 100);
    for (const topicArn of status.actions[status.state]) this.publish(topicArn, subject, message);
  }

  /** The SubscribeURL and UnsubscribeURL links. */
  handler() {
    return (req: IncomingMessage, res: ServerResponse): boolean => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (!url.pathname.startsWith(`${PATH}/`)) return false;
      const subscription = this.subscriptions.find((s) => s.arn === url.searchParams.get('SubscriptionArn'));
      if (url.pathname === `${PATH}/confirm` && subscription && subscription.token === url.searchParams.get('Token')) {
        subscription.confirmed = true;
        res.writeHead(200, { 'content-type': 'text/xml' }).end(`<ConfirmSubscriptionResponse><ConfirmSubscriptionResult><SubscriptionArn>${subscription.arn}</SubscriptionArn></ConfirmSubscriptionResult></ConfirmSubscriptionResponse>`);
        return true;
      }
      if (url.pathname === `${PATH}/unsubscribe` && subscription) {
        this.subscriptions.splice(this.subscriptions.indexOf(subscription), 1);
        res.writeHead(200, { 'content-type': 'text/xml' }).end('<UnsubscribeResponse/>');
        return true;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('no such subscription or token');
      return true;
    };
  }

  /** Subscriptions per topic, for the dashboard: whom each topic reaches. */
  targets(): { topicArn: string; protocol: string; endpoint: string; confirmed: boolean }[] {
    return this.subscriptions.map(({ topicArn, protocol, endpoint, confirmed }) => ({ topicArn, protocol, endpoint, confirmed: confirmed || !this.isHttp({ protocol }) }));
  }

  private isHttp(s: Pick<Subscription, 'protocol'>): boolean {
    return s.protocol === 'http' || s.protocol === 'https';
  }

  private async post(s: Subscription, type: Delivery['type'], body: Record<string, string>): Promise<void> {
    const headers: Record<string, string> = {
      'content-type': 'text/plain; charset=UTF-8',
      'x-amz-sns-message-type': type,
      'x-amz-sns-message-id': body.MessageId as string,
      'x-amz-sns-topic-arn': s.topicArn,
      ...(type === 'Notification' ? { 'x-amz-sns-subscription-arn': s.arn } : {}),
    };
    let detail = '';
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        const response = await fetch(s.endpoint, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(15_000) });
        await response.arrayBuffer();
        if (response.ok) {
          this.deliveries.push({ at: Date.now(), topicArn: s.topicArn, endpoint: s.endpoint, protocol: s.protocol, type, subject: body.Subject, outcome: 'delivered' });
          return;
        }
        detail = `HTTP ${response.status}`;
      } catch (error) {
        detail = (error as Error).message;
      }
      if (attempt < ATTEMPTS) await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
    this.deliveries.push({ at: Date.now(), topicArn: s.topicArn, endpoint: s.endpoint, protocol: s.protocol, type, subject: body.Subject, outcome: 'failed', detail });
  }
}
