/**
 * JWKS-backed TokenVerifier: asymmetric algorithms only, so `alg: none` and HMAC tokens never verify. The key set
 * is refreshed every 10 minutes; when a refresh fails (the identity provider is down or broken) the last good set
 * keeps verifying for a bounded time (stale-if-error), each failed refresh is reported, and refreshes are retried
 * at most every 30 s so an outage does not add a fetch timeout to every handshake.
 */
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, errors, jwksCache, jwtVerify, type JWTVerifyGetKey, type JWKSCacheInput } from 'jose';
import { Unauthorized, type TokenVerifier, type VerifiedToken } from '../app/authorize.ts';

export const ALLOWED_ALGORITHMS = ['RS256', 'ES256'];

/** How long a fetched key set is used before it is fetched again. */
export const JWKS_REFRESH_MS = 10 * 60 * 1000;
/**
 * How old the last good key set may get while refreshes fail. Long enough to ride out an identity provider
 * outage (the jwks-refresh-failing alarm tells on-call within minutes); short enough that a key the provider
 * withdrew (rotated out, or compromised) stops verifying within the hour.
 */
export const JWKS_MAX_STALE_MS = 60 * 60 * 1000;
/** After a failed refresh the stale set is used without trying again for this long. */
export const JWKS_RETRY_MS = 30_000;

export interface JwtSettings {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUrl: string;
  /** Told each time a refresh failed and the last good key set (fetched `ageMs` ago) verified instead. */
  readonly onStaleKeys?: (ageMs: number, error: unknown) => void;
  /**
   * A machine client (the canary) whose access tokens are accepted too: OAuth access tokens of the
   * client-credentials grant carry `client_id` and `scope` and no audience (Cognito's shape), so they are
   * verified by issuer, signature, client and scope instead.
   */
  readonly machineClient?: { readonly clientId: string; readonly scope: string };
  /** Test seam for the refresh interval (jose's cacheMaxAge). */
  readonly refreshMs?: number;
  readonly now?: () => number;
}

// Outages of the identity provider are not the client's fault: they must surface as 500, not 401.
// ERR_JWKS_INVALID is only raised for the fetched key set itself (malformed, or holding private keys).
const OUTAGE_CODES = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JOSE_GENERIC', 'ERR_JWKS_INVALID']);

/** An error for a log line: jose's by their code, which (unlike their class names) survives minified bundles. */
export function describeError(error: unknown): string {
  return error instanceof errors.JOSEError ? `${error.code}: ${error.message}` : String(error);
}

/** A failure to get the key set (network, HTTP, malformed set), as opposed to a problem with the token. */
function isOutage(error: unknown): boolean {
  return !(error instanceof errors.JOSEError) || OUTAGE_CODES.has(error.code);
}

export class JwksTokenVerifier implements TokenVerifier {
  private readonly keys: JWTVerifyGetKey;

  constructor(private readonly settings: JwtSettings) {
    const now = settings.now ?? Date.now;
    // jose records the last good set and when it was fetched here (uat, epoch ms).
    const cache: JWKSCacheInput & { jwks?: Parameters<typeof createLocalJWKSet>[0]; uat?: number } = {};
    const remote = createRemoteJWKSet(new URL(settings.jwksUrl), {
      timeoutDuration: 3000,
      cooldownDuration: 30_000,
      cacheMaxAge: settings.refreshMs ?? JWKS_REFRESH_MS,
      [jwksCache]: cache,
    });
    let retryAt = 0;
    this.keys = async (header, token) => {
      const stale = cache.jwks && cache.uat !== undefined && now() - cache.uat <= JWKS_MAX_STALE_MS ? cache.jwks : undefined;
      if (stale && now() < retryAt) return createLocalJWKSet(stale)(header, token);
      try {
        return await remote(header, token);
      } catch (error) {
        if (!stale || !isOutage(error)) throw error;
        retryAt = now() + JWKS_RETRY_MS;
        settings.onStaleKeys?.(now() - (cache.uat as number), error);
        // A kid the stale set lacks is still the outage's fault (a rotated key), so its error is the outage's.
        return createLocalJWKSet(stale)(header, token).catch(() => Promise.reject(error));
      }
    };
  }

  async verify(token: string): Promise<VerifiedToken> {
    try {
      const machine = this.settings.machineClient;
      // Which rules apply is read from the unverified token; the verification that follows enforces them.
      if (machine && claimedClientId(token) === machine.clientId) {
        const { payload } = await jwtVerify(token, this.keys, {
          issuer: this.settings.issuer,
          algorithms: ALLOWED_ALGORITHMS,
          requiredClaims: ['exp', 'sub', 'scope'],
          clockTolerance: 5,
        });
        const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
        if (payload.token_use !== 'access' || !scopes.includes(machine.scope)) throw new Unauthorized('ERR_JWT_CLAIM_VALIDATION_FAILED');
        return { subject: payload.sub as string, expiresAt: payload.exp as number, machineClient: true };
      }
      const { payload } = await jwtVerify(token, this.keys, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms: ALLOWED_ALGORITHMS,
        requiredClaims: ['exp', 'sub'],
        clockTolerance: 5,
      });
      return { subject: payload.sub as string, expiresAt: payload.exp as number, rooms: payload.rooms };
    } catch (error) {
      if (error instanceof errors.JOSEError && !OUTAGE_CODES.has(error.code)) throw new Unauthorized(error.code);
      throw error;
    }
  }
}

/** The `client_id` an (unverified) token claims, or undefined when it has none or is no JWT. */
function claimedClientId(token: string): unknown {
  try {
    return decodeJwt(token).client_id;
  } catch {
    return undefined;
  }
}
