/**
 * Rules AWS applies only at apply time to the budget, the audit trail and the prod hardening, checked on every
 * synthesized stack against the documented rules in data/ (each file names its source and the date it was read).
 */
import { describe, expect, it } from 'vitest';
import { named, readPlan, ruleData, synthesizedStacks, type Plan } from './support.ts';

type Res = Record<string, any>;

const SELECTORS = ruleData<{ maxValuesPerTrail: number; managementFields: string[]; dataFields: string[]; equalsOnlyFields: string[]; dataResourceTypes: string[] }>(
  'cloudtrail-event-selectors.json',
);
const DELIVERY = ruleData<{ bucketActions: string[]; objectPrefix: string; aclCondition: string; keyActions: string[] }>('cloudtrail-delivery.json');
const BUDGETS = ruleData<{ servicePrincipal: string; action: string; notificationTypes: string[]; thresholdTypes: string[] }>('budgets-notifications.json');
const ENDPOINT = ruleData<{ takesEffectOn: string }>('apigateway-disable-execute-api-endpoint.json');

/** How many values a trail's advanced event selectors hold: the number CloudTrail counts against its limit. */
export function selectorValues(selectors: { field_selector: Record<string, unknown>[] }[]): number {
  return selectors
    .flatMap((s) => s.field_selector)
    .flatMap((f) => Object.entries(f).filter(([key]) => key !== 'field').flatMap(([, values]) => values as unknown[])).length;
}

describe('the value count CloudTrail limits', () => {
  it('counts every value of every operator, not fields or selectors', () => {
    expect(selectorValues([{ field_selector: [{ field: 'eventCategory', equals: ['Data'] }, { field: 'resources.ARN', equals: ['a', 'b'], not_equals: ['c'] }] }])).toBe(4);
  });
});

describe.each(synthesizedStacks())('%s', (stack) => {
  const plan: Plan = readPlan(stack);
  const statements = (type: string) =>
    named(plan, type).flatMap(([id, r]) => (JSON.parse(String((r as Res).policy)) as { Statement: Res[] }).Statement.map((s): Res => ({ id, ...s })));

  it('notifies budgets only through topics whose policy lets AWS Budgets publish, with documented notification types', () => {
    const budgets = named(plan, 'aws_budgets_budget');
    expect(budgets.length).toBeGreaterThan(0);
    const publishable = new Set(
      named(plan, 'aws_sns_topic_policy')
        .filter(([, p]) =>
          (JSON.parse(String((p as Res).policy)) as { Statement: Res[] }).Statement.some(
            (s) => s.Effect === 'Allow' && [s.Principal?.Service].flat().includes(BUDGETS.servicePrincipal) && [s.Action].flat().includes(BUDGETS.action),
          ),
        )
        .map(([, p]) => (p as Res).arn),
    );
    for (const [id, budget] of budgets) {
      for (const notification of (budget as Res).notification as Res[]) {
        expect(BUDGETS.notificationTypes, id).toContain(notification.notification_type);
        expect(BUDGETS.thresholdTypes, id).toContain(notification.threshold_type);
        for (const topic of notification.subscriber_sns_topic_arns) expect(publishable.has(topic), `${id} notifies ${topic}`).toBe(true);
      }
    }
  });

  const trails = named(plan, 'aws_cloudtrail');
  it.skipIf(trails.length === 0)('keeps each trail within CloudTrail selector rules', () => {
    for (const [id, trail] of trails) {
      const selectors = (trail as Res).advanced_event_selector as { field_selector: Res[] }[];
      expect(selectorValues(selectors), id).toBeLessThanOrEqual(SELECTORS.maxValuesPerTrail);
      for (const selector of selectors) {
        const fields = Object.fromEntries(selector.field_selector.map((f) => [f.field, f.equals]));
        const allowed = fields.eventCategory?.[0] === 'Management' ? SELECTORS.managementFields : SELECTORS.dataFields;
        for (const field of Object.keys(fields)) expect(allowed, `${id}: ${field}`).toContain(field);
        if (fields.eventCategory?.[0] !== 'Management') expect(SELECTORS.dataResourceTypes, id).toContain(fields['resources.type']?.[0]);
        for (const f of selector.field_selector.filter((f) => SELECTORS.equalsOnlyFields.includes(f.field))) {
          expect(Object.keys(f).filter((k) => k !== 'field'), `${id}: ${f.field} takes Equals only`).toEqual(['equals']);
        }
      }
    }
  });

  it.skipIf(trails.length === 0)('creates each trail after a bucket policy and key policy that grant CloudTrail what it checks', () => {
    const bucketGrants = statements('aws_s3_bucket_policy').filter((s) => s.Effect === 'Allow' && s.Principal?.Service === 'cloudtrail.amazonaws.com');
    expect(bucketGrants.map((s) => s.Action).sort()).toEqual([...DELIVERY.bucketActions].sort());
    const write = bucketGrants.find((s) => s.Action === 's3:PutObject')!;
    expect(String(write.Resource)).toContain(`/${DELIVERY.objectPrefix}`);
    expect(write.Condition.StringEquals['s3:x-amz-acl']).toBe(DELIVERY.aclCondition);
    const keyGrants = statements('aws_kms_key_policy').filter((s) => s.Principal?.Service === 'cloudtrail.amazonaws.com');
    expect(keyGrants.map((s) => s.Action).sort()).toEqual([...DELIVERY.keyActions].sort());
    for (const [id, trail] of trails) {
      const after = [...((trail as Res).depends_on as string[])].map((d) => d.split('.')[0]).sort();
      expect(after, id).toEqual(['aws_kms_key_policy', 'aws_s3_bucket_policy']);
    }
  });

  it('redeploys the API whenever its execute-api endpoint setting changes, since only a deployment applies it', () => {
    expect(ENDPOINT.takesEffectOn).toBe('deployment');
    const [apiId] = named(plan, 'aws_apigatewayv2_api')[0]!;
    for (const [id, deployment] of named(plan, 'aws_apigatewayv2_deployment')) {
      expect(String((deployment as Res).triggers.redeployment), id).toContain(`aws_apigatewayv2_api.${apiId}.disable_execute_api_endpoint`);
    }
  });
});
