import { Fn, TerraformLocal } from 'cdktf';
import type { Construct } from 'constructs';

/**
 * The account id, as a Terraform local read from the ARN of a resource the stack creates (its fifth field): no
 * data source, so plans stay offline, and no account literal in the plan. Resource policies that must name the
 * account (its root, `aws:SourceAccount`) reference the local.
 */
export function accountIdFrom(scope: Construct, arn: string): string {
  return new TerraformLocal(scope, 'account_id', Fn.element(Fn.split(':', arn), 4)).asString;
}
