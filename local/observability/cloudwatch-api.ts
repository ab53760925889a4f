/**
 * CloudWatch's DescribeAlarms on a local port, in the AWS Query protocol (form-encoded request, XML response)
 * that CloudWatch has always answered: what a rollout (ops/rollout.ts) reads to watch the stage's alarms. Metric
 * alarms only, by name, as the local evaluator holds them; each name is authorized on its alarm ARN.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { accessKeyIdOf } from '../iam.ts';
import { LOCAL_ACCOUNT_ID } from '../plan.ts';
import { closeNow, listenOnLoopback } from '../loopback-server.ts';
import type { AlarmStatus } from './alarm-evaluator.ts';

export interface CloudWatchApiOptions {
  readonly region: string;
  readonly statuses: ReadonlyMap<string, AlarmStatus>;
  /** Undefined when allowed; otherwise AWS's AccessDenied message. */
  readonly authorize?: (accessKeyId: string | undefined, action: string, resource: string) => string | undefined;
}

/** CloudWatch refuses more names in one request. */
const MAX_ALARM_NAMES = 100;

export class LocalCloudWatchApi {
  private readonly server: Server;

  constructor(private readonly options: CloudWatchApiOptions) {
    this.server = createServer((req, res) =>
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) fail(res, 500, 'Receiver', 'InternalServiceError', (error as Error).message);
      }),
    );
  }

  async listen(): Promise<string> {
    return listenOnLoopback(this.server);
  }

  async close(): Promise<void> {
    await closeNow(this.server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const action = params.get('Action');
    if (req.method !== 'POST' || action !== 'DescribeAlarms') {
      return fail(res, 400, 'Sender', 'InvalidAction', `${req.method} ${action ?? '(no Action)'} is not an operation of the local CloudWatch API`);
    }
    const names = [...params.entries()].filter(([key]) => /^AlarmNames\.member\.\d+$/.test(key)).map(([, value]) => value);
    if (names.length === 0) return fail(res, 400, 'Sender', 'InvalidParameterValue', 'AlarmNames is required locally: name the alarms to describe');
    if (names.length > MAX_ALARM_NAMES) return fail(res, 400, 'Sender', 'InvalidParameterValue', `AlarmNames holds at most ${MAX_ALARM_NAMES} names`);
    const accessKeyId = accessKeyIdOf(req.headers.authorization);
    for (const name of names) {
      const denied = this.options.authorize?.(accessKeyId, 'cloudwatch:DescribeAlarms', `arn:aws:cloudwatch:${this.options.region}:${LOCAL_ACCOUNT_ID}:alarm:${name}`);
      if (denied) return fail(res, 403, 'Sender', 'AccessDenied', denied);
    }
    // Unknown names are left out, as CloudWatch does.
    const members = names
      .map((name) => this.options.statuses.get(name))
      .filter((status): status is AlarmStatus => status?.kind === 'metric')
      .map((status) => `<member><AlarmName>${xml(status.name)}</AlarmName><StateValue>${status.state}</StateValue><StateReason>${xml(status.reason)}</StateReason></member>`)
      .join('');
    res.writeHead(200, { 'content-type': 'text/xml' }).end(
      `<DescribeAlarmsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><DescribeAlarmsResult><MetricAlarms>${members}</MetricAlarms><CompositeAlarms/></DescribeAlarmsResult><ResponseMetadata><RequestId>local</RequestId></ResponseMetadata></DescribeAlarmsResponse>`,
    );
  }
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fail(res: ServerResponse, status: number, type: 'Sender' | 'Receiver', code: string, message: string): void {
  res
    .writeHead(status, { 'content-type': 'text/xml' })
    .end(`<ErrorResponse><Error><Type>${type}</Type><Code>${code}</Code><Message>${xml(message)}</Message></Error><RequestId>local</RequestId></ErrorResponse>`);
}
