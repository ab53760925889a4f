/** Boots the real local stack (the synthesized dev plan) for a test file, on free ports and a private state dir. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local/stack.ts';
import { stackDir } from './plan.ts';

export interface BootedStack extends LocalStack {
  /** Everything functions and the gateway logged, for failure messages. */
  readonly printed: string[];
  /** Extracted bundles and the development identity provider's key. */
  readonly stateDir: string;
  tokenFor(user: string, options?: { ttlSeconds?: number }): Promise<string>;
  wsUrl(token?: string): string;
}

export async function bootDevStack(
  options: Pick<LocalStackOptions, 'timeScale' | 'ttlSweepMs' | 'dynamoEndpoint'> = {},
): Promise<BootedStack> {
  const printed: string[] = [];
  const stateDir = mkdtempSync(path.join(tmpdir(), 'wschat-e2e-'));
  const stack = await startLocalStack({
    stackDir: stackDir('wschat-dev'),
    port: 0,
    stateDir,
    log: (source, line) => printed.push(`${source} ${line}`),
    ...options,
  });
  return Object.assign(stack, {
    printed,
    stateDir,
    tokenFor: (user: string, opts?: { ttlSeconds?: number }) => stack.idp.mint(user, opts),
    wsUrl: (token?: string) => (token === undefined ? stack.url : `${stack.url}?token=${encodeURIComponent(token)}`),
  });
}
