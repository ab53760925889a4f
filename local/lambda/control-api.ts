/**
 * The part of Lambda's control plane a rollout needs (ops/rollout.ts), on the same port and paths as the Invoke
 * API, so @aws-sdk/client-lambda pointed at the local endpoint reaches it: PublishVersion, ListVersionsByFunction,
 * GetAlias and UpdateAlias (REST-JSON, API version 2015-03-31), each authorized by local IAM as its Lambda action
 * on the function's ARN.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { accessKeyIdOf } from '../iam.ts';
import { LOCAL_ACCOUNT_ID } from '../plan.ts';
import { TargetError, type AliasState, type FunctionTargets } from './aliases.ts';

export interface ControlApiOptions {
  readonly region: string;
  readonly targets: FunctionTargets;
  /** Undefined when allowed; otherwise AWS's AccessDenied message. */
  readonly authorize?: (accessKeyId: string | undefined, action: string, resource: string) => string | undefined;
  readonly log: (line: string) => void;
}

interface Operation {
  readonly action: 'PublishVersion' | 'ListVersionsByFunction' | 'GetAlias' | 'UpdateAlias';
  readonly functionName: string;
  readonly aliasName?: string;
}

const VERSIONS_PATH = /^\/2015-03-31\/functions\/([^/]+)\/versions$/;
const ALIAS_PATH = /^\/2015-03-31\/functions\/([^/]+)\/aliases\/([^/]+)$/;

function operationOf(method: string | undefined, pathname: string): Operation | undefined {
  const versions = VERSIONS_PATH.exec(pathname);
  if (versions?.[1]) {
    const functionName = decodeURIComponent(versions[1]);
    if (method === 'POST') return { action: 'PublishVersion', functionName };
    if (method === 'GET') return { action: 'ListVersionsByFunction', functionName };
  }
  const alias = ALIAS_PATH.exec(pathname);
  if (alias?.[1] && alias[2]) {
    const functionName = decodeURIComponent(alias[1]);
    const aliasName = decodeURIComponent(alias[2]);
    if (method === 'GET') return { action: 'GetAlias', functionName, aliasName };
    if (method === 'PUT') return { action: 'UpdateAlias', functionName, aliasName };
  }
  return undefined;
}

/** Answers the request if it is one of the control-plane operations above; false leaves it to the Invoke API. */
export async function handleControlPlane(options: ControlApiOptions, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const operation = operationOf(req.method, url.pathname);
  if (!operation) return false;
  const { targets } = options;
  const functionArn = `arn:aws:lambda:${options.region}:${LOCAL_ACCOUNT_ID}:function:${operation.functionName}`;
  const denied = options.authorize?.(accessKeyIdOf(req.headers.authorization), `lambda:${operation.action}`, functionArn);
  if (denied) return fail(res, 403, 'AccessDeniedException', denied);
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  let body: Record<string, unknown> = {};
  try {
    if (chunks.length > 0) body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
  } catch {
    return fail(res, 400, 'InvalidRequestContentException', 'Could not parse request body into json');
  }
  try {
    if (targets.publishedVersions(operation.functionName) === undefined) {
      throw new TargetError('ResourceNotFoundException', `Function not found: ${functionArn}`);
    }
    switch (operation.action) {
      case 'PublishVersion': {
        const version = targets.publishVersion(operation.functionName);
        options.log(`${operation.functionName}: published version ${version}`);
        return ok(res, 201, versionConfiguration(functionArn, operation.functionName, version, typeof body.Description === 'string' ? body.Description : ''));
      }
      case 'ListVersionsByFunction': {
        const versions = ['$LATEST', ...(targets.publishedVersions(operation.functionName) ?? [])];
        return ok(res, 200, { Versions: versions.map((v) => versionConfiguration(functionArn, operation.functionName, v, '')) });
      }
      case 'GetAlias':
        return ok(res, 200, aliasConfiguration(functionArn, targets.alias(operation.functionName, operation.aliasName as string)));
      case 'UpdateAlias': {
        const routing = body.RoutingConfig as { AdditionalVersionWeights?: Record<string, number> } | undefined;
        const updated = targets.updateAlias(operation.functionName, operation.aliasName as string, {
          functionVersion: typeof body.FunctionVersion === 'string' ? body.FunctionVersion : undefined,
          description: typeof body.Description === 'string' ? body.Description : undefined,
          // A RoutingConfig without weights clears them, as on Lambda; no RoutingConfig keeps them.
          additionalVersionWeights: routing === undefined ? undefined : (routing.AdditionalVersionWeights ?? {}),
          revisionId: typeof body.RevisionId === 'string' ? body.RevisionId : undefined,
        });
        options.log(`${operation.functionName}:${updated.name} -> version ${updated.functionVersion} ${JSON.stringify(updated.additionalVersionWeights)}`);
        return ok(res, 200, aliasConfiguration(functionArn, updated));
      }
    }
  } catch (error) {
    if (!(error instanceof TargetError)) throw error;
    const status = error.type === 'ResourceNotFoundException' ? 404 : error.type === 'PreconditionFailedException' ? 412 : 400;
    return fail(res, status, error.type, error.message);
  }
}

function versionConfiguration(functionArn: string, functionName: string, version: string, description: string): Record<string, unknown> {
  return { FunctionName: functionName, FunctionArn: `${functionArn}:${version}`, Version: version, Description: description, State: 'Active' };
}

function aliasConfiguration(functionArn: string, alias: AliasState): Record<string, unknown> {
  return {
    AliasArn: `${functionArn}:${alias.name}`,
    Name: alias.name,
    FunctionVersion: alias.functionVersion,
    Description: alias.description,
    RevisionId: alias.revisionId,
    ...(Object.keys(alias.additionalVersionWeights).length > 0 ? { RoutingConfig: { AdditionalVersionWeights: alias.additionalVersionWeights } } : {}),
  };
}

function ok(res: ServerResponse, status: number, body: Record<string, unknown>): true {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  return true;
}

function fail(res: ServerResponse, status: number, type: string, message: string): true {
  // The SDK names its error from this header, as for every REST-JSON service.
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type }).end(JSON.stringify({ Type: 'User', message }));
  return true;
}
