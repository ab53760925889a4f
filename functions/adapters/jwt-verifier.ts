/** JWKS-backed TokenVerifier: asymmetric algorithms only, so `alg: none` and HMAC tokens never verify. */
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import { Unauthorized, type TokenVerifier } from '../app/authorize.ts';

export const ALLOWED_ALGORITHMS = ['RS256', 'ES256'];

export interface JwtSettings {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUrl: string;
}

// Outages of the identity provider are not the client's fault: they must surface as 500, not 401.
// ERR_JWKS_INVALID is only raised for the fetched key set itself (malformed, or holding private keys).
const OUTAGE_CODES = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JOSE_GENERIC', 'ERR_JWKS_INVALID']);

export class JwksTokenVerifier implements TokenVerifier {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(private readonly settings: JwtSettings) {
    this.jwks = createRemoteJWKSet(new URL(settings.jwksUrl), { timeoutDuration: 3000, cooldownDuration: 30_000 });
  }

  async verify(token: string): Promise<{ subject: string }> {
    try {
      const { payload } = await jwtVerify(token, this.jwks, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms: ALLOWED_ALGORITHMS,
        requiredClaims: ['exp', 'sub'],
        clockTolerance: 5,
      });
      return { subject: payload.sub as string };
    } catch (error) {
      if (error instanceof errors.JOSEError && !OUTAGE_CODES.has(error.code)) throw new Unauthorized(error.code);
      throw error;
    }
  }
}
