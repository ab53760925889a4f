/** The credentials link function bundles use instead of the SDK's default chain (infra/bundle.ts). */
import { afterEach, describe, expect, it } from 'vitest';
import { defaultProvider } from '../../functions/runtime/environment-credentials.ts';

const VARIABLES = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_CREDENTIAL_EXPIRATION'] as const;
const saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));

afterEach(() => {
  for (const name of VARIABLES) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});

function setEnvironment(values: Partial<Record<(typeof VARIABLES)[number], string>>): void {
  for (const name of VARIABLES) {
    if (values[name] === undefined) delete process.env[name];
    else process.env[name] = values[name];
  }
}

describe('environment credentials', () => {
  it("reads the role's credentials Lambda puts in the environment, session token and expiry included", async () => {
    setEnvironment({ AWS_ACCESS_KEY_ID: 'AKID', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'token', AWS_CREDENTIAL_EXPIRATION: '2026-12-03T18:00:00Z' });
    await expect(defaultProvider()()).resolves.toEqual({
      accessKeyId: 'AKID',
      secretAccessKey: 'secret',
      sessionToken: 'token',
      expiration: new Date('2026-12-03T18:00:00Z'),
    });
  });

  it('reads them when they change (a provider is asked again when its credentials expire)', async () => {
    const provider = defaultProvider();
    setEnvironment({ AWS_ACCESS_KEY_ID: 'first', AWS_SECRET_ACCESS_KEY: 's1' });
    await expect(provider()).resolves.toEqual({ accessKeyId: 'first', secretAccessKey: 's1' });
    setEnvironment({ AWS_ACCESS_KEY_ID: 'second', AWS_SECRET_ACCESS_KEY: 's2' });
    await expect(provider()).resolves.toEqual({ accessKeyId: 'second', secretAccessKey: 's2' });
  });

  it.each([
    ['no key id', { AWS_SECRET_ACCESS_KEY: 'secret' }],
    ['no secret', { AWS_ACCESS_KEY_ID: 'AKID' }],
  ])('fails as the SDK does with %s', async (_case, values) => {
    setEnvironment(values);
    await expect(defaultProvider()()).rejects.toMatchObject({
      name: 'CredentialsProviderError',
      message: 'Unable to find environment variable credentials.',
    });
  });
});
