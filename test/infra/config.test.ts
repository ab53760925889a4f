/**
 * The stage configuration and state backend settings are checked before anything is synthesized, and every
 * problem names the field (or environment variable) to fix.
 */
import { describe, expect, it } from 'vitest';
import { ALARMS, type AlarmDefinition } from '../../dashboards/alarms.ts';
import { stateBackendFromEnv, StateBackendError } from '../../infra/config/state-backend.ts';
import { StageConfigError, STAGES, validateStages } from '../../infra/config/stages.ts';

type Loose = Record<string, any>;

/** A deep copy of the dev stage with one change applied. */
function devWith(change: (stage: Loose) => void): Record<string, unknown> {
  const dev = structuredClone(STAGES.dev) as Loose;
  change(dev);
  return { dev };
}

function problemsOf(stages: Record<string, unknown>): readonly string[] {
  try {
    validateStages(stages);
  } catch (error) {
    expect(error).toBeInstanceOf(StageConfigError);
    return (error as StageConfigError).problems;
  }
  throw new Error('the configuration was accepted');
}

const anomalyAlarm = (ALARMS as readonly AlarmDefinition[]).find((a) => a.rule.kind === 'anomaly');

describe('stage configuration', () => {
  it('accepts every configured stage as it is', () => {
    expect(Object.keys(validateStages(STAGES))).toEqual(Object.keys(STAGES));
  });

  it.each<[string, (stage: Loose) => void, string]>([
    ['a name other than its key', (s) => (s.name = 'develop'), 'dev.name'],
    ['a malformed region', (s) => (s.region = 'US East 1'), 'dev.region'],
    ['a retention CloudWatch does not offer', (s) => (s.logRetentionDays = 10), 'dev.logRetentionDays'],
    ['messages kept no day at all', (s) => (s.messageRetentionDays = 0), 'dev.messageRetentionDays'],
    ['a fractional message retention', (s) => (s.messageRetentionDays = 1.5), 'dev.messageRetentionDays'],
    ['an unknown log level', (s) => (s.logLevel = 'TRACE'), 'dev.logLevel'],
    ['a zero stage rate', (s) => (s.throttle.rateLimit = 0), 'dev.throttle.rateLimit'],
    ['a burst below the stage rate', (s) => (s.throttle.burstLimit = s.throttle.rateLimit - 1), 'dev.throttle.burstLimit'],
    ['a throttle for a route that does not exist', (s) => (s.throttle.routes = { shout: { rateLimit: 1, burstLimit: 1 } }), 'dev.throttle.routes.shout'],
    ['a fractional route burst', (s) => (s.throttle.routes = { send: { rateLimit: 1, burstLimit: 1.5 } }), 'dev.throttle.routes.send.burstLimit'],
    ['a route burst below its rate', (s) => (s.throttle.routes = { send: { rateLimit: 10, burstLimit: 5 } }), 'dev.throttle.routes.send.burstLimit'],
    ['a non-boolean metrics toggle', (s) => (s.detailedMetrics = 'yes'), 'dev.detailedMetrics'],
    ['a missing point-in-time recovery choice', (s) => delete s.pointInTimeRecovery, 'dev.pointInTimeRecovery'],
    ['an unknown identity provider', (s) => (s.identityProvider = 'auth0'), 'dev.identityProvider'],
    ['a non-boolean key choice', (s) => (s.customerManagedKey = 1), 'dev.customerManagedKey'],
    ['a non-boolean custom domain choice', (s) => (s.customDomain = 'chat.example.com'), 'dev.customDomain'],
    ['a missing account logging choice', (s) => delete s.manageApiGatewayAccount, 'dev.manageApiGatewayAccount'],
    ['no fan-out parallelism', (s) => (s.fanout.concurrency = 0), 'dev.fanout.concurrency'],
    ['runaway fan-out parallelism', (s) => (s.fanout.concurrency = 3200), 'dev.fanout.concurrency'],
    ['a zero async fan-out threshold', (s) => (s.fanout.asyncThreshold = 0), 'dev.fanout.asyncThreshold'],
    ['a fractional async fan-out threshold', (s) => (s.fanout.asyncThreshold = 200.5), 'dev.fanout.asyncThreshold'],
    ['shards too large for an async invoke', (s) => (s.fanout.shardSize = 5000), 'dev.fanout.shardSize'],
    ['a missing shard size', (s) => delete s.fanout.shardSize, 'dev.fanout.shardSize'],
    ['a connection that may be in no room', (s) => (s.limits.roomsPerConnection = 0), 'dev.limits.roomsPerConnection'],
    ['a room for one user only', (s) => (s.limits.membersPerRoom = 1), 'dev.limits.membersPerRoom'],
    ['a fractional typing cut-off', (s) => (s.limits.typingMaxMembers = 2.5), 'dev.limits.typingMaxMembers'],
    ['a missing users-per-room limit', (s) => delete s.limits.membersPerRoom, 'dev.limits.membersPerRoom'],
    ['an empty owner tag', (s) => (s.tags.owner = ''), 'dev.tags.owner'],
    ['a missing cost-center tag', (s) => delete s.tags['cost-center'], 'dev.tags.cost-center'],
    ['a tag value AWS refuses', (s) => (s.tags.owner = 'chat<team>'), 'dev.tags.owner'],
    ['a plain-http runbook link', (s) => (s.observability.runbookBaseUrl = 'http://runbooks.example.com'), 'dev.observability.runbookBaseUrl'],
    ['a threshold for an alarm that does not exist', (s) => (s.observability.alarmThresholds = { 'no-such-alarm': 1 }), 'dev.observability.alarmThresholds.no-such-alarm'],
    ['a negative alarm threshold', (s) => (s.observability.alarmThresholds = { 'auth-failures': -1 }), 'dev.observability.alarmThresholds.auth-failures'],
    // Lambda ignores X-Ray sampling rules, so a stage cannot ask for a sample rate (docs/operations.md).
    ['a trace sample rate', (s) => (s.observability.traceSampleRate = 1), 'dev.observability.traceSampleRate'],
    ['a zero budget', (s) => (s.cost.monthlyBudgetUsd = 0), 'dev.cost.monthlyBudgetUsd'],
    ['a missing audit trail choice', (s) => delete s.audit.trail, 'dev.audit.trail'],
    ['a fractional audit retention', (s) => (s.audit.retentionDays = 90.5), 'dev.audit.retentionDays'],
    ['a misspelt setting', (s) => (s.deletionProtecton = true), 'dev.deletionProtecton'],
    ['a function without a reservation', (s) => delete s.concurrency.reserved.fanout, 'dev.concurrency.reserved.fanout'],
    ['a reservation of 0, which throttles everything', (s) => (s.concurrency.reserved.who = 0), 'dev.concurrency.reserved.who'],
    ['provisioned concurrency for a function not in the catalog', (s) => (s.concurrency.provisioned = { chat: { min: 1, max: 2, targetUtilization: 0.7 } }), 'dev.concurrency.provisioned.chat'],
    ['a provisioned min above its max', (s) => (s.concurrency.provisioned = { send: { min: 20, max: 10, targetUtilization: 0.7 } }), 'dev.concurrency.provisioned.send.min'],
    ['a utilization target with no headroom', (s) => (s.concurrency.provisioned = { send: { min: 1, max: 10, targetUtilization: 1 } }), 'dev.concurrency.provisioned.send.targetUtilization'],
    [
      'a scheduled action that is not a schedule',
      (s) => (s.concurrency.provisioned = { send: { min: 1, max: 10, targetUtilization: 0.7, schedules: [{ name: 'evening', schedule: '18:00', min: 5, max: 10 }] } }),
      'dev.concurrency.provisioned.send.schedules.0.schedule',
    ],
  ])('rejects %s, naming the field', (_what, change, field) => {
    const problems = problemsOf(devWith(change));
    expect(problems.map((p) => p.split(': ')[0])).toEqual([field]);
    expect(problems[0]!.length).toBeGreaterThan(field.length + 2);
  });

  it("rejects reservations that leave less than Lambda's unreserved 100 of the account quota, naming the quota setting", () => {
    // dev reserves 880 of 1,000: 20 more still fit, 21 more do not.
    const reserved = Object.values(STAGES.dev.concurrency.reserved).reduce((sum, n) => sum + n, 0);
    const fits = devWith((s) => (s.concurrency.reserved.send += 900 - reserved));
    expect(() => validateStages(fits)).not.toThrow();
    expect(problemsOf(devWith((s) => (s.concurrency.reserved.send += 901 - reserved)))).toEqual([
      'dev.concurrency.reserved: reserves 901 concurrent executions, but the account quota (dev.observability.lambdaConcurrencyQuota: 1000) allows at most 900: Lambda keeps 100 unreserved',
    ]);
    // The same reservations in an account whose quota is the smallest one.
    expect(problemsOf(devWith((s) => (s.observability.lambdaConcurrencyQuota = 10)))).toEqual([
      expect.stringMatching(/^dev\.concurrency\.reserved: reserves \d+ concurrent executions, but the account quota \(dev\.observability\.lambdaConcurrencyQuota: 10\) allows at most -90/),
    ]);
  });

  it("rejects provisioned concurrency (or a scheduled peak) above the function's reservation", () => {
    const problems = problemsOf(
      devWith((s) => {
        s.concurrency.reserved.send = 50;
        s.concurrency.provisioned = {
          send: { min: 1, max: 51, targetUtilization: 0.7, schedules: [{ name: 'evening', schedule: 'cron(0 18 * * ? *)', min: 10, max: 60 }] },
          connect: { min: 1, max: 100, targetUtilization: 0.7 },
        };
      }),
    );
    expect(problems).toEqual([
      "dev.concurrency.provisioned.send.max: 51 is more than send's reserved concurrency (50)",
      "dev.concurrency.provisioned.send.schedules.0.max: 60 is more than send's reserved concurrency (50)",
    ]);
  });

  it('rejects a threshold for an anomaly-band alarm, which has none to replace', () => {
    expect(anomalyAlarm, 'the alarm catalog has an anomaly alarm').toBeDefined();
    const problems = problemsOf(devWith((s) => (s.observability.alarmThresholds = { [anomalyAlarm!.id]: 3 })));
    expect(problems).toEqual([expect.stringMatching(new RegExp(`^dev\\.observability\\.alarmThresholds\\.${anomalyAlarm!.id}: `))]);
  });

  it('reports every problem of every stage at once, in one error that says where the configuration lives', () => {
    const prod = structuredClone(STAGES.prod) as Loose;
    prod.region = 'mars';
    const stages = { ...devWith((s) => (s.logRetentionDays = 2)), prod };
    expect(() => validateStages(stages)).toThrow(/infra\/config\/stages\.ts[\s\S]*dev\.logRetentionDays[\s\S]*prod\.region/);
  });

  it('rejects an empty stage list', () => {
    expect(problemsOf({})).toEqual([expect.stringContaining('at least one stage')]);
  });
});

describe('state backend settings', () => {
  it('keeps local state when no bucket is set', () => {
    expect(stateBackendFromEnv({})).toEqual({ kind: 'local' });
  });

  it('uses S3 state when the bucket and its Region are set', () => {
    expect(stateBackendFromEnv({ WSCHAT_STATE_BUCKET: 'acme-terraform-state', WSCHAT_STATE_REGION: 'eu-west-1' })).toEqual({
      kind: 's3',
      bucket: 'acme-terraform-state',
      region: 'eu-west-1',
    });
  });

  it.each<[string, NodeJS.ProcessEnv, string]>([
    ['a bucket without a Region', { WSCHAT_STATE_BUCKET: 'acme-terraform-state' }, 'WSCHAT_STATE_REGION'],
    ['a Region without a bucket', { WSCHAT_STATE_REGION: 'eu-west-1' }, 'WSCHAT_STATE_BUCKET'],
    ['an invalid bucket name', { WSCHAT_STATE_BUCKET: 'Acme_State', WSCHAT_STATE_REGION: 'eu-west-1' }, 'WSCHAT_STATE_BUCKET "Acme_State"'],
    ['an invalid Region', { WSCHAT_STATE_BUCKET: 'acme-terraform-state', WSCHAT_STATE_REGION: 'Ireland' }, 'WSCHAT_STATE_REGION "Ireland"'],
  ])('rejects %s, naming the variable', (_what, env, named) => {
    expect(() => stateBackendFromEnv(env)).toThrow(StateBackendError);
    expect(() => stateBackendFromEnv(env)).toThrow(named);
  });
});
