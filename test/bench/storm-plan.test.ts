/** The plan a storm with provisioned concurrency runs: the dev plan with the prod plan's scalable targets. */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { provisionedPlanDir, provisionedTargetsOf } from '../../bench/storm-plan.ts';
import { ATTACHMENT_CORS_VARIABLE, CANARY_VARIABLES, IDENTITY_VARIABLES } from '../../infra/config/variables.ts';
import { FunctionTargets, readProvisionedTargets } from '../../local/lambda/aliases.ts';
import { StackPlan } from '../../local/plan.ts';
import { resourcesOf, stackDir, type Plan } from '../support/plan.ts';

const VARIABLES = {
  [IDENTITY_VARIABLES.issuer]: 'https://issuer.invalid/',
  [IDENTITY_VARIABLES.audience]: 'wschat',
  [IDENTITY_VARIABLES.jwksUrl]: 'https://issuer.invalid/jwks',
  [ATTACHMENT_CORS_VARIABLE]: '[]',
  [CANARY_VARIABLES.tokenEndpoint]: 'https://issuer.invalid/oauth2/token',
  [CANARY_VARIABLES.clientId]: 'canary',
  [CANARY_VARIABLES.clientSecret]: 'secret',
  [CANARY_VARIABLES.scope]: 'wschat/canary',
};
const load = (dir: string) => StackPlan.load(dir, { apiId: 'abcdefghij', variables: VARIABLES });

describe('the provisioned storm plan', () => {
  it("puts each of prod's provisioned functions on the dev alias of the same function, with prod's capacities", () => {
    const prodTargets = provisionedTargetsOf(stackDir('wschat-prod'));
    expect([...prodTargets.keys()].sort()).toEqual(['authorizer', 'connect', 'send']);
    const dir = provisionedPlanDir(stackDir('wschat-dev'), stackDir('wschat-prod'));
    try {
      const plan = load(dir);
      const provisioned = readProvisionedTargets(plan, FunctionTargets.fromPlan(plan));
      expect(Object.fromEntries([...provisioned.values()].map((t) => [t.functionName, [t.qualifier, t.environments]]))).toEqual(
        Object.fromEntries([...prodTargets].map(([name, target]) => [`wschat-dev-${name}`, ['live', target.min_capacity]])),
      );
      // Nothing else differs from the dev plan.
      const copy = JSON.parse(readFileSync(path.join(dir, 'cdk.tf.json'), 'utf8')) as Plan;
      const dev = JSON.parse(readFileSync(path.join(stackDir('wschat-dev'), 'cdk.tf.json'), 'utf8')) as Plan;
      expect(resourcesOf(dev, 'aws_appautoscaling_target')).toEqual([]);
      delete copy.resource.aws_appautoscaling_target;
      expect(copy).toEqual(dev);
    } finally {
      rmSync(path.dirname(dir), { recursive: true, force: true });
    }
  });

  it('refuses a source plan that provisions nothing', () => {
    expect(() => provisionedPlanDir(stackDir('wschat-dev'), stackDir('wschat-dev'))).toThrow(/provisions no function: nothing to copy/);
  });
});
