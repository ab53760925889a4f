import net from 'node:net';
import {
  ConditionalCheckFailedException,
  InternalServerError,
  ProvisionedThroughputExceededException,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { ChatError, isTransient } from '../../functions/domain/errors.ts';

const named = (name: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(name), { name, ...extra });

/** A real ECONNREFUSED: connect to a port that was just released. */
async function refusedConnectionError(): Promise<unknown> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', resolve);
    socket.on('connect', () => {
      socket.destroy();
      resolve(new Error('port was unexpectedly open'));
    });
  });
}

describe('isTransient', () => {
  it.each([
    'ProvisionedThroughputExceededException',
    'ThrottlingException',
    'RequestLimitExceeded',
    'InternalServerError',
    'ServiceUnavailable',
    'LimitExceededException',
    'TimeoutError',
  ])('treats %s as transient', (name) => {
    expect(isTransient(named(name))).toBe(true);
  });

  it('recognizes the SDK’s own exception classes', () => {
    const $metadata = { httpStatusCode: 400 };
    expect(isTransient(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata }))).toBe(true);
    expect(isTransient(new InternalServerError({ message: 'oops', $metadata: { httpStatusCode: 500 } }))).toBe(true);
    expect(isTransient(new ConditionalCheckFailedException({ message: 'no', $metadata }))).toBe(false);
    expect(isTransient(new ResourceNotFoundException({ message: 'no table', $metadata }))).toBe(false);
  });

  it('honours the SDK $retryable marker', () => {
    expect(isTransient(named('SomethingNew', { $retryable: {} }))).toBe(true);
    expect(isTransient(named('SomethingNew', { $retryable: { throttling: true } }))).toBe(true);
    expect(isTransient(named('SomethingNew', { $retryable: undefined }))).toBe(false);
    expect(isTransient(named('SomethingNew', { $retryable: false }))).toBe(false);
  });

  it.each([500, 502, 503, 504, 599])('treats HTTP %i as transient', (httpStatusCode) => {
    expect(isTransient(named('UnknownError', { $metadata: { httpStatusCode } }))).toBe(true);
  });

  it.each([400, 403, 404, 410, 413, 499])('treats HTTP %i as permanent', (httpStatusCode) => {
    expect(isTransient(named('UnknownError', { $metadata: { httpStatusCode } }))).toBe(false);
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN'])('treats network code %s as transient', (code) => {
    expect(isTransient(Object.assign(new Error('net'), { code }))).toBe(true);
  });

  it('classifies a real refused connection as transient', async () => {
    const error = await refusedConnectionError();
    expect((error as { code?: string }).code).toBe('ECONNREFUSED');
    expect(isTransient(error)).toBe(true);
  });

  it.each([
    ['a plain Error', new Error('bug')],
    ['a TypeError', new TypeError('x is undefined')],
    ['a validation error', named('ValidationException', { $metadata: { httpStatusCode: 400 } })],
    ['a conditional check failure', named('ConditionalCheckFailedException')],
    ['an unknown network code', Object.assign(new Error('x'), { code: 'ENOENT' })],
    ['a ChatError', new ChatError('BAD_REQUEST', 'no')],
    ['null', null],
    ['undefined', undefined],
    ['a string naming a transient error', 'ThrottlingException'],
    ['a number', 503],
    ['metadata without a status', named('X', { $metadata: {} })],
  ])('treats %s as not transient', (_label, error) => {
    expect(isTransient(error)).toBe(false);
  });
});

describe('ChatError', () => {
  it('carries code, message and retryable (default false)', () => {
    const error = new ChatError('NOT_A_MEMBER', 'join first');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ChatError');
    expect(error.code).toBe('NOT_A_MEMBER');
    expect(error.message).toBe('join first');
    expect(error.retryable).toBe(false);
    expect(new ChatError('IN_PROGRESS', 'wait', true).retryable).toBe(true);
  });
});
