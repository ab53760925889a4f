import { Apigatewayv2ApiMapping } from '@cdktf/provider-aws/lib/apigatewayv2-api-mapping/index.js';
import { Apigatewayv2DomainName } from '@cdktf/provider-aws/lib/apigatewayv2-domain-name/index.js';
import type { Apigatewayv2Api } from '@cdktf/provider-aws/lib/apigatewayv2-api/index.js';
import type { Apigatewayv2Stage } from '@cdktf/provider-aws/lib/apigatewayv2-stage/index.js';
import { TerraformOutput, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import type { StageConfig } from '../config/stages.ts';
import { CUSTOM_DOMAIN_VARIABLES } from '../config/variables.ts';

export interface CustomDomainProps {
  readonly stage: StageConfig;
  readonly api: Apigatewayv2Api;
  readonly apiStage: Apigatewayv2Stage;
}

/**
 * The API on the operator's own host name (a regional endpoint with their ACM certificate), so clients never
 * depend on the execute-api id, which changes if the API is ever recreated. The DNS record is the operator's: the
 * stack outputs the target to alias.
 */
export class CustomDomain extends Construct {
  constructor(scope: Construct, id: string, props: CustomDomainProps) {
    super(scope, id);
    const { stage, api, apiStage } = props;
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

    const domain = new Apigatewayv2DomainName(this, 'domain', {
      domainName: domainName.stringValue,
      domainNameConfiguration: { certificateArn: certificateArn.stringValue, endpointType: 'REGIONAL', securityPolicy: 'TLS_1_2' },
    });
    new Apigatewayv2ApiMapping(this, 'mapping', { apiId: api.id, domainName: domain.id, stage: apiStage.id });

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
