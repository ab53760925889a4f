/**
 * The cost model (ops/cost/model.ts) and `npm run cost` (ops/cost/cli.ts): flags are checked before anything
 * runs, the arithmetic follows the prices and the measured work, and the report ends with the total line.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixedResources, MEASURED_ROOM_SIZES, readCoefficients, runsPerMonth, type Coefficients, type FixedResources } from '../../ops/cost/coefficients.ts';
import { stackName } from '../../infra/config/stages.ts';
import { readPlan } from '../support/plan.ts';
import { parseTraffic, PRICES_FILE, render, UsageError } from '../../ops/cost/cli.ts';
import { CANARY_RUN_BILLED_MS, DEFAULT_PROFILE, fixedMonthlyCost, MINUTES_PER_MONTH, monthlyCost, monthlyWork, workInRoom, type Prices } from '../../ops/cost/model.ts';
import { REPO_ROOT } from '../../local/paths.ts';

const PRICES = JSON.parse(readFileSync(PRICES_FILE, 'utf8')) as Prices & { sources: Record<string, string> };

const NO_FIXED: FixedResources = {
  standardAlarms: 0,
  anomalyAlarms: 0,
  compositeAlarms: 0,
  dashboards: 0,
  kmsKeys: 0,
  trails: 0,
  detailedMetricRoutes: 0,
  logRetentionDays: 30,
  canaryRunsPerMonth: 0,
  secrets: 0,
  machineClients: 0,
  machineTokenMinutes: 0,
  provisionedConcurrency: {},
};

/** Work made up for the arithmetic: a send costs one message in and one out per member. */
function coefficients(fixed: Partial<FixedResources> = {}): Coefficients {
  const room = (action: string, perMember: Record<string, number>) =>
    Object.fromEntries(MEASURED_ROOM_SIZES.map((size) => [`${action}.${size}`, Object.fromEntries(Object.entries(perMember).map(([k, v]) => [k, v * size]))]));
  return {
    about: 'test',
    measuredAt: { commit: '0'.repeat(40), date: '2026-12-03' },
    stage: 'dev',
    actions: {
      connect: { 'lambda.invocations.wschat-dev-connect': 1, 'lambda.billedMs.wschat-dev-connect': 1000, 'apigateway.ConnectCount': 1 },
      ping: { 'apigateway.MessageCount': 2 },
      ...room('join', {}),
      ...room('history', {}),
      ...room('typing', {}),
      ...room('disconnect', {}),
      ...room('send', { 'apigateway.MessageCount': 1, 'dynamodb.writeUnits.wschat-dev-messages': 1, 'dynamodb.writes.wschat-dev-messages': 1 }),
    },
    customMetricSeries: 10,
    fixed: { prod: { ...NO_FIXED, ...fixed } },
  };
}

const quiet = { ...DEFAULT_PROFILE, pingsPerMinute: 0 };
const line = (lines: ReturnType<typeof monthlyCost>, item: RegExp) => lines.find((l) => item.test(l.item))!;

describe('the cost model', () => {
  it('prices connection minutes and messages from the traffic', () => {
    const lines = monthlyCost(coefficients(), PRICES, { connections: 1000, messagesPerSecond: 10, profile: { ...quiet, roomSize: 100 } });
    expect(line(lines, /connection minutes/).quantity).toBe(1000 * MINUTES_PER_MONTH);
    expect(line(lines, /connection minutes/).usd).toBeCloseTo(((1000 * MINUTES_PER_MONTH) / 1e6) * PRICES.apiGateway.connectionMinutesPerMillion, 6);
    const sends = 10 * MINUTES_PER_MONTH * 60;
    expect(line(lines, /WebSocket messages/).quantity).toBeCloseTo(sends * 100, 0);
    expect(line(lines, /write request units/).usd).toBeCloseTo(((sends * 100) / 1e6) * PRICES.dynamodb.writeRequestUnitsPerMillion, 6);
  });

  it('bills Lambda by invocation and by GB-second of the function catalog memory', () => {
    const lines = monthlyCost(coefficients(), PRICES, { connections: 1, messagesPerSecond: 0, profile: { ...quiet, sessionMinutes: MINUTES_PER_MONTH } });
    // One session a month: one connect of 1 s at the connect function's 256 MB.
    expect(line(lines, /^requests$/).quantity).toBe(1);
    expect(line(lines, /compute/).quantity).toBeCloseTo(0.25, 6);
  });

  it('interpolates room-wide work between measured sizes and extrapolates past the largest', () => {
    const c = coefficients();
    expect(workInRoom(c, 'send', 550)['apigateway.MessageCount']).toBeCloseTo(550, 6);
    expect(workInRoom(c, 'send', 5000)['apigateway.MessageCount']).toBeCloseTo(5000, 6);
    expect(() => workInRoom({ ...c, actions: { connect: {} } }, 'send', 10)).toThrow(/regenerate/);
  });

  it('counts pings per connection and minute', () => {
    const work = monthlyWork(coefficients(), { connections: 10, messagesPerSecond: 0, profile: { ...quiet, pingsPerMinute: 1 } });
    expect(work['apigateway.MessageCount']).toBe(10 * MINUTES_PER_MONTH * 2);
  });

  it('has a fixed part for the observability and the audit trail, and nothing else without traffic', () => {
    const fixed = fixedMonthlyCost(coefficients({ standardAlarms: 10, anomalyAlarms: 1, compositeAlarms: 1, dashboards: 1, trails: 1, kmsKeys: 1, detailedMetricRoutes: 2 }), PRICES);
    expect(Object.fromEntries(fixed.map((l) => [l.item, Number(l.usd.toFixed(4))]))).toEqual({
      'custom and per-route metrics': (10 + 2 * 6) * 0.3,
      'alarms (standard, anomaly, composite)': 10 * 0.1 + 0.3 + 0.5,
      dashboards: 3,
      'audit trail key': 1,
    });
  });
});

describe("the canary's and provisioned concurrency's fixed part", () => {
  const withCanary = coefficients({ canaryRunsPerMonth: MINUTES_PER_MONTH, secrets: 1, machineClients: 1, machineTokenMinutes: 60, provisionedConcurrency: { connect: { environments: 10, memoryMb: 256 } } });
  const fixed = Object.fromEntries(fixedMonthlyCost(withCanary, PRICES).map((l) => [`${l.service}: ${l.item}`, l]));

  it('holds the provisioned environments at the minimum all month, at the allocation price', () => {
    const gbSeconds = 10 * 0.25 * MINUTES_PER_MONTH * 60;
    expect(fixed['Lambda: provisioned concurrency (10 environments at the minimum, allocated)']).toMatchObject({ quantity: gbSeconds, usd: gbSeconds * PRICES.lambda.arm64ProvisionedConcurrencyGbSecond });
  });

  it("prices each canary run as a client's requests, its connection minute and its own invocation", () => {
    // The made-up connect: one invocation of the connect function (1 s at 256 MB), on a provisioned environment here.
    expect(fixed['Canary: Lambda: requests']!.quantity).toBe(2 * MINUTES_PER_MONTH);
    expect(fixed['Canary: API Gateway: connection minutes']!.quantity).toBe(MINUTES_PER_MONTH);
    expect(fixed['Canary: Lambda: compute (arm64)']!.quantity).toBeCloseTo(MINUTES_PER_MONTH * (CANARY_RUN_BILLED_MS / 1000) * 0.25, 6);
    expect(fixed['Canary: Lambda: compute on provisioned environments (arm64)']).toMatchObject({
      quantity: MINUTES_PER_MONTH * 0.25,
      usd: MINUTES_PER_MONTH * 0.25 * PRICES.lambda.arm64ProvisionedDurationGbSecond,
    });
    // Its message in a room of one: one message out (made-up send work of one per member).
    expect(fixed['Canary: API Gateway: WebSocket messages (32 KB units)']!.quantity).toBe(MINUTES_PER_MONTH);
  });

  it('asks for a token (and reads its secret) once per token lifetime less a minute, and pays for the machine client and the secret', () => {
    const tokens = MINUTES_PER_MONTH / 59;
    expect(fixed['Canary: Cognito: client-credentials token requests']).toMatchObject({ quantity: tokens, usd: (tokens / 1000) * PRICES.cognito.machineTokenRequestsPerThousand });
    expect(fixed['Canary: Secrets Manager: secret reads']).toMatchObject({ quantity: tokens, usd: (tokens / 1e4) * PRICES.secretsManager.apiCallsPer10k });
    expect(fixed['Canary: Cognito: machine client']!.usd).toBe(PRICES.cognito.machineClientMonth);
    expect(fixed["Secrets Manager: secrets (the canary's client secret)"]!.usd).toBe(PRICES.secretsManager.secretMonth);
  });

  it('reads the secret once per run when the stack has no machine client (an issuer of the operator)', () => {
    const external = fixedMonthlyCost(coefficients({ canaryRunsPerMonth: 100, secrets: 1 }), PRICES);
    expect(external.find((l) => l.item === 'Secrets Manager: secret reads')!.quantity).toBe(100);
    expect(external.filter((l) => l.item.startsWith('Cognito'))).toEqual([]);
  });

  it('prices no canary, secret or provisioned concurrency a plan does not have (positive control above)', () => {
    expect(fixedMonthlyCost(coefficients(), PRICES).filter((l) => /Canary|Secrets|provisioned/.test(`${l.service} ${l.item}`))).toEqual([]);
  });
});

describe("a plan's fixed resources (fixedResources)", () => {
  it("counts each stage's canary schedule, secret, machine client and provisioned concurrency from its plan", () => {
    const dev = fixedResources(readPlan(stackName('dev')));
    const prod = fixedResources(readPlan(stackName('prod')));
    expect(dev).toMatchObject({ canaryRunsPerMonth: MINUTES_PER_MONTH, secrets: 1, machineClients: 0, machineTokenMinutes: 0, provisionedConcurrency: {} });
    expect(prod).toMatchObject({ canaryRunsPerMonth: MINUTES_PER_MONTH, secrets: 1, machineClients: 1, machineTokenMinutes: 60 });
    expect(prod.provisionedConcurrency).toEqual({
      authorizer: { environments: 10, memoryMb: 256 },
      connect: { environments: 10, memoryMb: 256 },
      send: { environments: 10, memoryMb: 512 },
    });
  });

  it('counts the runs of rate schedules, and refuses an expression it cannot count', () => {
    expect(runsPerMonth('rate(1 minute)')).toBe(MINUTES_PER_MONTH);
    expect(runsPerMonth('rate(5 minutes)')).toBe(MINUTES_PER_MONTH / 5);
    expect(runsPerMonth('rate(2 hours)')).toBe(MINUTES_PER_MONTH / 120);
    expect(() => runsPerMonth('cron(0 12 * * ? *)')).toThrow('cannot count the runs of schedule cron(0 12 * * ? *)');
    expect(() => runsPerMonth('rate(1 fortnight)')).toThrow(/only rate\(N minute/);
  });

  it('refuses a plan whose canary schedule targets an alias the plan does not hold', () => {
    const plan = { resource: { aws_cloudwatch_event_target: { t: { arn: '${aws_lambda_alias.gone.arn}', rule: '${aws_cloudwatch_event_rule.r.name}' } } } };
    expect(() => fixedResources(plan)).toThrow('the plan references no aws_lambda_alias in ${aws_lambda_alias.gone.arn}');
  });
});

describe('npm run cost flags', () => {
  it.each<[string, string[], RegExp]>([
    ['no connections', ['--messages-per-second', '1'], /--connections is required/],
    ['no message rate', ['--connections', '10'], /--messages-per-second is required/],
    ['a word for connections', ['--connections', 'many', '--messages-per-second', '1'], /--connections must be a whole number.*"many"/],
    ['fractional connections', ['--connections', '1.5', '--messages-per-second', '1'], /--connections must be a whole number/],
    ['a negative rate', ['--connections', '10', '--messages-per-second=-1'], /--messages-per-second must be a number of messages per second \(0 or more\)/],
    ['a negative rate read as a flag', ['--connections', '10', '--messages-per-second', '-1'], /Option '--messages-per-second' argument is ambiguous/],
    ['an empty rate', ['--connections', '10', '--messages-per-second', ''], /--messages-per-second must be/],
    ['a room of nobody', ['--connections', '10', '--messages-per-second', '1', '--room-size', '0'], /--room-size must be a whole number of members, at least 1/],
    ['an unknown flag', ['--connections', '10', '--messages-per-second', '1', '--region', 'eu-west-1'], /Unknown option '--region'/],
    ['a missing profile', ['--connections', '10', '--messages-per-second', '1', '--profile', '/nonexistent/profile.json'], /--profile \/nonexistent\/profile\.json: no such file/],
  ])('refuses %s, naming the flag', (_what, argv, message) => {
    expect(() => parseTraffic(argv)).toThrow(UsageError);
    expect(() => parseTraffic(argv)).toThrow(message);
  });

  it('refuses a profile with an unknown or invalid setting, and takes a valid one with --room-size over it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wschat-cost-'));
    const file = (name: string, body: unknown) => {
      writeFileSync(path.join(dir, name), JSON.stringify(body));
      return path.join(dir, name);
    };
    const base = ['--connections', '10', '--messages-per-second', '1'];
    expect(() => parseTraffic([...base, '--profile', file('unknown.json', { chattiness: 3 })])).toThrow(/chattiness: not a profile setting/);
    expect(() => parseTraffic([...base, '--profile', file('bad.json', { sessionMinutes: 0 })])).toThrow(/sessionMinutes: must be a positive number of minutes/);
    const traffic = parseTraffic([...base, '--profile', file('ok.json', { sessionMinutes: 30, roomSize: 5 }), '--room-size', '7']);
    expect(traffic.profile).toEqual({ ...DEFAULT_PROFILE, sessionMinutes: 30, roomSize: 7 });
  });

  it('refuses bad flags with exit code 2 and a usage line, before printing any estimate', async () => {
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile('npx', ['tsx', 'ops/cost/cli.ts', '--connections', 'lots', '--messages-per-second', '1'], { cwd: REPO_ROOT }, (error, stdout, stderr) =>
        resolve({ code: error ? (error as { code?: number }).code ?? null : 0, stdout, stderr }),
      );
    });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^cost: --connections must be a whole number of concurrent connections \(0 or more\), got "lots"\nusage: npm run cost -- /);
  });
});

describe('the report', () => {
  it('has a table per service with its subtotal, and the total of every line as its last line', () => {
    const traffic = { connections: 1000, messagesPerSecond: 10, profile: quiet };
    const lines = monthlyCost(coefficients({ trails: 1, kmsKeys: 1, dashboards: 1 }), PRICES, traffic);
    const report = render(lines, traffic, PRICES, 'abc on 2026-12-03');
    const rows = report.split('\n');
    for (const service of ['API Gateway', 'Lambda', 'DynamoDB', 'CloudWatch', 'X-Ray', 'SQS', 'CloudTrail', 'KMS']) expect(rows).toContain(service);
    const total = lines.reduce((s, l) => s + l.usd, 0);
    expect(rows.at(-1)).toBe(`total ${total.toFixed(2)} USD/month`);
    expect(rows.filter((r) => r.trimStart().startsWith('subtotal'))).toHaveLength(8);
  });

  it('runs on the committed coefficients and prices, whose files say where they come from', () => {
    const committed = readCoefficients();
    expect(committed.measuredAt.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(committed.measuredAt.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(PRICES.read).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const url of Object.values(PRICES.sources)) expect(url).toMatch(/^https:\/\/aws\.amazon\.com\//);
    const traffic = parseTraffic(['--connections', '10000', '--messages-per-second', '50']);
    expect(render(monthlyCost(committed, PRICES, traffic), traffic, PRICES, 'x').split('\n').at(-1)).toMatch(/^total \d+\.\d{2} USD\/month$/);
  });
});
