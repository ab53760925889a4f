/**
 * The plan's Secrets Manager secrets on an endpoint that speaks GetSecretValue (JSON protocol), as
 * AWS_ENDPOINT_URL_SECRETS_MANAGER tells the functions. Each secret's value is its `aws_secretsmanager_secret_version`
 * resolved with the stack's variables; every call is checked against the caller's role (secretsmanager:GetSecretValue).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { accessKeyIdOf } from './iam.ts';
import type { StackPlan } from './plan.ts';

export interface LocalSecretsOptions {
  /** The IAM denial's message, or undefined when the caller may. */
  readonly authorize: (accessKeyId: string | undefined, action: string, resource: string) => string | undefined;
}

interface Secret {
  readonly arn: string;
  readonly name: string;
  readonly value: string;
}

class SecretsError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export class LocalSecrets {
  private readonly secrets: Secret[] = [];
  private server?: Server;

  constructor(
    plan: StackPlan,
    private readonly options: LocalSecretsOptions,
  ) {
    for (const version of plan.resources('aws_secretsmanager_secret_version')) {
      const secret = plan.byAddress(plan.referencedAddress(String(version.config.secret_id)));
      this.secrets.push({
        arn: plan.resolve(`\${${secret.address}.arn}`),
        name: plan.resolve(String(secret.config.name)),
        value: plan.resolve(String(version.config.secret_string)),
      });
    }
  }

  async listen(): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (req.method !== 'POST' || req.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue') {
        throw new SecretsError(400, 'InvalidRequestException', 'the local Secrets Manager answers GetSecretValue only (POST, JSON protocol)');
      }
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      let input: { SecretId?: unknown };
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { SecretId?: unknown };
      } catch {
        throw new SecretsError(400, 'InvalidRequestException', 'the request body is not JSON');
      }
      const id = String(input.SecretId ?? '');
      const secret = this.secrets.find((s) => s.arn === id || s.name === id);
      if (!secret) throw new SecretsError(400, 'ResourceNotFoundException', `Secrets Manager can't find the specified secret ${id}`);
      // Authorized on the secret's ARN, whichever way the caller named it, as IAM does.
      const denial = this.options.authorize(accessKeyIdOf(req.headers.authorization), 'secretsmanager:GetSecretValue', secret.arn);
      if (denial) throw new SecretsError(400, 'AccessDeniedException', denial);
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
      res.end(JSON.stringify({ ARN: secret.arn, Name: secret.name, SecretString: secret.value, VersionId: 'local', VersionStages: ['AWSCURRENT'] }));
    } catch (error) {
      const e = error instanceof SecretsError ? error : new SecretsError(500, 'InternalServiceError', (error as Error).message);
      res.writeHead(e.status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ __type: e.type, message: e.message }));
    }
  }
}
