import { Apigatewayv2ApiMapping } from '@cdktf/provider-aws/lib/apigatewayv2-api-mapping/index.js';
import { Apigatewayv2DomainName } from '@cdktf/provider-aws/lib/apigatewayv2-domain-name/index.js';
import type { Apigatewayv2Api } from '@cdktf/provider-aws/lib/apigatewayv2-api/index.js';
import type { Apigatewayv2Stage } from '@cdktf/provider-aws/lib/apigatewayv2-stage/index.js';
import { Route53Record } from '@cdktf/provider-aws/lib/route53-record/index.js';
import { TerraformOutput, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import type { StageConfig } from '../config/stages.ts';
import { CUSTOM_DOMAIN_VARIABLES, DNS_ZONE_VARIABLE } from '../config/variables.ts';

/**
 * The API on the operator's own host name (a regional endpoint with their ACM certificate), so clients never
 * depend on the execute-api id, which changes if the API is ever recreated. With it the API's execute-api
 * endpoint is disabled (infra/constructs/api.ts), so the host name is also where functions call `@connections`.
 * The DNS record is created when the operator names their Route 53 hosted zone; otherwise the stack outputs the
 * target to alias.
 */
export class CustomDomain extends Construct {
  /** The host name clients connect to (a variable reference). */
  readonly hostName: string;
  /** `${var.custom_domain_certificate_arn}`: the certificate whose expiry the observability construct watches. */
  readonly certificateArn: string;
  private readonly domain: Apigatewayv2DomainName;

  constructor(scope: Construct, id: string, stage: StageConfig) {
    super(scope, id);
    const domainName = new TerraformVariable(this, CUSTOM_DOMAIN_VARIABLES.domainName, {
      type: 'string',
      description: 'Host name clients connect to, e.g. chat.example.com',
      validation: [
        {
          condition: `\${can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?[.])+[a-z]{2,63}$", var.${CUSTOM_DOMAIN_VARIABLES.domainName}))}`,
          errorMessage: `${CUSTOM_DOMAIN_VARIABLES.domainName} must be a lowercase DNS host name such as chat.example.com.`,
        },
      ],
    });
    domainName.overrideLogicalId(CUSTOM_DOMAIN_VARIABLES.domainName);
    const certificateArn = new TerraformVariable(this, CUSTOM_DOMAIN_VARIABLES.certificateArn, {
      type: 'string',
      description: `ARN of the ACM certificate for the host name, in ${stage.region} (a regional endpoint's certificate lives in its Region)`,
      validation: [
        {
          condition: `\${can(regex("^arn:aws[a-z-]*:acm:${stage.region}:[0-9]{12}:certificate/[A-Za-z0-9-]+$", var.${CUSTOM_DOMAIN_VARIABLES.certificateArn}))}`,
          errorMessage: `${CUSTOM_DOMAIN_VARIABLES.certificateArn} must be the ARN of an ACM certificate in ${stage.region} (arn:aws:acm:${stage.region}:<account>:certificate/<id>).`,
        },
      ],
    });
    certificateArn.overrideLogicalId(CUSTOM_DOMAIN_VARIABLES.certificateArn);
    this.hostName = domainName.stringValue;
    this.certificateArn = certificateArn.stringValue;
    this.domain = new Apigatewayv2DomainName(this, 'domain', {
      domainName: domainName.stringValue,
      domainNameConfiguration: { certificateArn: certificateArn.stringValue, endpointType: 'REGIONAL', securityPolicy: 'TLS_1_2' },
    });
  }

  /** Maps the host name's root to the stage, adds the alias record when a zone is given, and outputs both. */
  serve(api: Apigatewayv2Api, apiStage: Apigatewayv2Stage): void {
    const { domain } = this;
    new Apigatewayv2ApiMapping(this, 'mapping', { apiId: api.id, domainName: domain.id, stage: apiStage.id });

    const zone = new TerraformVariable(this, DNS_ZONE_VARIABLE, {
      type: 'string',
      default: '',
      description: 'Route 53 hosted zone id holding the host name; the stack then creates its alias record. Empty: the DNS record is yours (see the custom_domain_dns_target output)',
      validation: [
        {
          condition: `\${var.${DNS_ZONE_VARIABLE} == "" || can(regex("^Z[A-Z0-9]{1,31}$", var.${DNS_ZONE_VARIABLE}))}`,
          errorMessage: `${DNS_ZONE_VARIABLE} must be empty or a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ.`,
        },
      ],
    });
    zone.overrideLogicalId(DNS_ZONE_VARIABLE);
    new Route53Record(this, 'alias', {
      count: `\${var.${DNS_ZONE_VARIABLE} == "" ? 0 : 1}` as unknown as number,
      zoneId: zone.stringValue,
      name: domain.domainName,
      type: 'A',
      alias: {
        name: domain.domainNameConfiguration.targetDomainName,
        zoneId: domain.domainNameConfiguration.hostedZoneId,
        // API Gateway's regional endpoint has no health of its own to evaluate.
        evaluateTargetHealth: false,
      },
    });

    new TerraformOutput(this, 'custom_domain_url', {
      value: `wss://${domain.domainName}`,
      description: 'wss:// URL on the custom domain (append ?token=<JWT>); live once DNS points at custom_domain_dns_target',
    }).overrideLogicalId('custom_domain_url');
    new TerraformOutput(this, 'custom_domain_dns_target', {
      value: {
        name: domain.domainNameConfiguration.targetDomainName,
        hosted_zone_id: domain.domainNameConfiguration.hostedZoneId,
      },
      description: 'Alias (or CNAME) target for the custom domain DNS record',
    }).overrideLogicalId('custom_domain_dns_target');
  }
}
