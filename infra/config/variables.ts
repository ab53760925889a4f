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

/** Declared by every stage: the monthly AWS Budgets amount in USD (defaults to the stage's `cost.monthlyBudgetUsd`). */
export const BUDGET_VARIABLE = 'monthly_budget_usd';

/** Declared by stages with `audit.trail`: true when an organization trail already records the account, so the stage's own trail is not created. */
export const ORGANIZATION_TRAIL_VARIABLE = 'organization_trail_exists';

/** Declared by stages with `customDomain`: the Route 53 hosted zone to create the alias record in; empty leaves DNS to the operator. */
export const DNS_ZONE_VARIABLE = 'route53_zone_id';

/**
 * Where alarms notify, declared by every stage (docs/operations.md#paging). Page targets receive the composite
 * page alarm, ticket targets every ticket alarm. HTTPS endpoints are PagerDuty / Opsgenie (or any) event URLs
 * subscribed to the topic; a stage with `requirePageTarget` refuses to plan until one email or endpoint is set.
 */
export const ALARM_TARGET_VARIABLES = {
  page: { emails: 'page_alarm_emails', httpsEndpoints: 'page_alarm_https_endpoints' },
  ticket: { emails: 'ticket_alarm_emails', httpsEndpoints: 'ticket_alarm_https_endpoints' },
} as const;

/** An AWS Chatbot Slack channel that receives both topics (optional: a channel wakes nobody, so it is no page target). */
export const SLACK_CHANNEL_VARIABLE = 'alarm_slack_channel';

/** The base URL alarm descriptions link runbooks under; its default is the stage's `observability.runbookBaseUrl`. */
export const RUNBOOK_BASE_URL_VARIABLE = 'runbook_base_url';

/** Every stage: the browser origins the attachment bucket's CORS admits (the local runtime passes its own). */
export const ATTACHMENT_CORS_VARIABLE = 'attachment_cors_origins';

/**
 * Declared by stages whose identity provider is `external`: the issuer's OAuth 2.0 token endpoint and the machine
 * client the canary gets its token with (client-credentials grant), and the scope it asks for. The secret goes
 * into the stage's Secrets Manager secret, the only one the canary may read.
 */
export const CANARY_VARIABLES = {
  tokenEndpoint: 'canary_token_endpoint',
  clientId: 'canary_client_id',
  clientSecret: 'canary_client_secret',
  scope: 'canary_scope',
} as const;
