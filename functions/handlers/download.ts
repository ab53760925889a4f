import { requestDownload } from '../app/attachments.ts';
import { downloadRequest } from '../domain/protocol.ts';
import { dynamoStore } from '../runtime/dynamodb.ts';
import { s3Storage } from '../runtime/s3.ts';
import { messageRoute } from '../runtime/ws-handler.ts';

export const handler = messageRoute(downloadRequest, { store: dynamoStore, storage: s3Storage }, async (deps, caller, req) => ({
  frames: [{ type: 'download' as const, ...(await requestDownload(deps, caller, req)) }],
}));
