/**
 * Names of the stack's Terraform variables: values that differ per deployment, so they are never literals in
 * the synthesized plan. Infra declares them; SREs set them in tfvars (docs/operations.md); the local runtime
 * supplies the identity ones the way an SRE's tfvars would.
 */

/** Declared by stages whose identity provider is `external` (the dev stage, so the local runtime is its issuer). */
export const IDENTITY_VARIABLES = {
  issuer: 'jwt_issuer',
  audience: 'jwt_audience',
  jwksUrl: 'jwks_url',
} as const;

/** Declared by stages with `customerManagedKey`. */
export const KMS_KEY_VARIABLE = 'kms_key_arn';

/** Declared by stages with `customDomain`. */
export const CUSTOM_DOMAIN_VARIABLES = {
  domainName: 'custom_domain_name',
  certificateArn: 'custom_domain_certificate_arn',
} as const;
