/**
 * Names of the stack's Terraform variables. Infra declares them; the local runtime supplies values for them
 * the way an SRE's tfvars would.
 */
export const IDENTITY_VARIABLES = {
  issuer: 'jwt_issuer',
  audience: 'jwt_audience',
  jwksUrl: 'jwks_url',
} as const;
