/**
 * The rollout's CloudWatch port (rollout.ts): DescribeAlarms in the AWS Query protocol, signed with SigV4 and the
 * SDK's usual credentials. The repository has no @aws-sdk/client-cloudwatch, so this one call is made by hand;
 * the Query protocol is what CloudWatch has always answered
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html, read 2026-12-03).
 */
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AlarmWatch } from './rollout.ts';

/** CloudWatch's limit of names per DescribeAlarms request. */
const NAMES_PER_REQUEST = 100;
/** As the SDK's standard retry mode: the first attempt and two retries. */
const MAX_ATTEMPTS = 3;

/** A failure worth another attempt: the request did not arrive, or CloudWatch was busy or failing. */
class TransientError extends Error {}

/** SHA-256 (keyed: HMAC) in the shape the signer expects. */
class Sha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

function bytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  return ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
}

export class CloudWatchAlarms implements AlarmWatch {
  private readonly signer: SignatureV4;
  private readonly endpoint: URL;

  /** `endpoint`: AWS_ENDPOINT_URL_CLOUDWATCH (the local stack's) or the Region's own; credentials: the SDK's chain. */
  constructor(
    region: string,
    endpoint = process.env.AWS_ENDPOINT_URL_CLOUDWATCH ?? `https://monitoring.${region}.amazonaws.com`,
    credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider = defaultProvider(),
  ) {
    this.endpoint = new URL(endpoint);
    this.signer = new SignatureV4({ service: 'monitoring', region, credentials, sha256: Sha256 });
  }

  async firing(alarmNames: readonly string[]): Promise<string[]> {
    const firing: string[] = [];
    for (let i = 0; i < alarmNames.length; i += NAMES_PER_REQUEST) {
      const params = new URLSearchParams({ Action: 'DescribeAlarms', Version: '2010-08-01', 'AlarmTypes.member.1': 'MetricAlarm' });
      alarmNames.slice(i, i + NAMES_PER_REQUEST).forEach((name, at) => params.set(`AlarmNames.member.${at + 1}`, name));
      for (const alarm of await this.describe(params.toString())) if (alarm.state === 'ALARM') firing.push(alarm.name);
    }
    return firing;
  }

  /** Retries what the SDK's standard mode retries: network errors, 5xx and throttling, with backoff. */
  private async describe(body: string): Promise<{ name: string; state: string }[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.describeOnce(body);
      } catch (error) {
        if (!(error instanceof TransientError) || attempt === MAX_ATTEMPTS) throw error;
        await sleep(100 * 2 ** attempt);
      }
    }
  }

  private async describeOnce(body: string): Promise<{ name: string; state: string }[]> {
    const signed = await this.signer.sign({
      method: 'POST',
      protocol: this.endpoint.protocol,
      hostname: this.endpoint.hostname,
      port: this.endpoint.port ? Number(this.endpoint.port) : undefined,
      path: this.endpoint.pathname,
      headers: { host: this.endpoint.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body,
    });
    let response: Response;
    try {
      response = await fetch(this.endpoint, { method: 'POST', headers: signed.headers, body });
    } catch (error) {
      throw new TransientError(`CloudWatch DescribeAlarms could not be sent: ${(error as Error).message}`);
    }
    const text = await response.text();
    if (!response.ok) {
      const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? String(response.status);
      const message = `CloudWatch DescribeAlarms failed: ${code}: ${unescape(/<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? text)}`;
      throw response.status >= 500 || code === 'Throttling' ? new TransientError(message) : new Error(message);
    }
    const metricAlarms = /<MetricAlarms>([\s\S]*?)<\/MetricAlarms>/.exec(text)?.[1] ?? '';
    return [...metricAlarms.matchAll(/<member>([\s\S]*?)<\/member>/g)].map(([, member]) => ({
      name: unescape(/<AlarmName>([^<]*)<\/AlarmName>/.exec(member as string)?.[1] ?? ''),
      state: /<StateValue>([^<]*)<\/StateValue>/.exec(member as string)?.[1] ?? '',
    }));
  }
}

function unescape(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}
