import { requestUpload } from '../app/attachments.ts';
import { uploadRequest } from '../domain/protocol.ts';
import { dynamoStore } from '../runtime/dynamodb.ts';
import { s3Storage } from '../runtime/s3.ts';
import { messageRoute } from '../runtime/ws-handler.ts';

export const handler = messageRoute(uploadRequest, { store: dynamoStore, storage: s3Storage }, async (deps, caller, req) => ({
  frames: [{ type: 'upload' as const, ...(await requestUpload(deps, caller, req)), ...(req.requestId === undefined ? {} : { requestId: req.requestId }) }],
}));
