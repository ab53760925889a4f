/**
 * An HTTP endpoint subscribed to SNS topics, as PagerDuty's or Opsgenie's event URL is: it confirms its
 * subscription by visiting the SubscribeURL and keeps every notification it is posted, per path.
 */
import { createServer, type Server } from 'node:http';

export interface ReceivedNotification {
  /** Date.now() when it arrived. */
  readonly at: number;
  /** The path it was posted to (one per topic in the tests, e.g. /page). */
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Record<string, string>;
  /** The CloudWatch alarm notification inside `Message`. */
  readonly alarm: { AlarmName: string; NewStateValue: string; OldStateValue: string } & Record<string, unknown>;
}

export class SnsReceiver {
  readonly notifications: ReceivedNotification[] = [];
  readonly confirmations: string[] = [];
  private server?: Server;

  /** The URL of `path` on this receiver. */
  url(path: string): string {
    const address = this.server?.address();
    if (!address || typeof address === 'string') throw new Error('the receiver is not listening');
    return `http://127.0.0.1:${address.port}${path}`;
  }

  async listen(): Promise<void> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
      req.on('end', () => {
        const body = JSON.parse(raw) as Record<string, string>;
        if (body.Type === 'SubscriptionConfirmation') {
          this.confirmations.push(req.url ?? '/');
          // Confirms the way a real endpoint does: a GET of the SubscribeURL.
          void fetch(body.SubscribeURL as string).then((r) => r.arrayBuffer());
        } else {
          this.notifications.push({ at: Date.now(), path: req.url ?? '/', headers: req.headers, body, alarm: JSON.parse(body.Message as string) as ReceivedNotification['alarm'] });
        }
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
  }

  /** Notifications posted to `path` about `alarmName` entering `state`. */
  received(path: string, alarmName: string, state?: string): ReceivedNotification[] {
    return this.notifications.filter((n) => n.path === path && n.alarm.AlarmName === alarmName && (state === undefined || n.alarm.NewStateValue === state));
  }

  async close(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
