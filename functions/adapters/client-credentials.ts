/**
 * TokenSource by the OAuth 2.0 client-credentials grant (RFC 6749 §4.4), as Cognito's token endpoint serves it:
 * the client authenticates with HTTP Basic and asks for its scope. A token is reused until a minute before it
 * expires, so a canary run every minute asks the issuer about once an hour.
 */
import type { TokenSource } from '../app/ports.ts';

export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface ClientCredentialsOptions {
  readonly tokenEndpoint: string;
  readonly scope: string;
  /** Read when a token is needed, so a rotated secret is picked up with the next token. */
  readonly credentials: () => Promise<ClientCredentials>;
  readonly now?: () => number;
}

const REFRESH_BEFORE_EXPIRY_MS = 60_000;

export class ClientCredentialsTokenSource implements TokenSource {
  private cached?: { token: string; expiresAt: number };

  constructor(private readonly options: ClientCredentialsOptions) {}

  async token(): Promise<string> {
    const now = this.options.now ?? Date.now;
    if (this.cached && now() < this.cached.expiresAt - REFRESH_BEFORE_EXPIRY_MS) return this.cached.token;
    const { clientId, clientSecret } = await this.options.credentials();
    // RFC 6749 §2.3.1: both parts form-encoded before Basic encoding.
    const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');
    const response = await fetch(this.options.tokenEndpoint, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: this.options.scope }).toString(),
    });
    const body = (await response.json().catch(() => ({}))) as { access_token?: unknown; expires_in?: unknown; error?: unknown };
    if (!response.ok || typeof body.access_token !== 'string') {
      throw new Error(`the token endpoint answered ${response.status}${typeof body.error === 'string' ? ` ${body.error}` : ''}`);
    }
    const lifetimeMs = (typeof body.expires_in === 'number' ? body.expires_in : 0) * 1000;
    this.cached = { token: body.access_token, expiresAt: now() + lifetimeMs };
    return body.access_token;
  }
}
