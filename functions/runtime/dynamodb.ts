/** The DynamoDB store, for the functions granted tables; imported only by their handlers. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoChatStore, type TableNames } from '../adapters/dynamodb-store.ts';
import type { ChatStore } from '../app/ports.ts';
import { tracer } from './tracing.ts';

export function dynamoStore(tables: TableNames): ChatStore {
  const dynamo = tracer.captureAWSv3Client(new DynamoDBClient({}));
  return new DynamoChatStore(DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } }), tables);
}
