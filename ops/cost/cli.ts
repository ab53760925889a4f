/**
 * `npm run cost -- --connections N --messages-per-second M [--room-size S] [--profile FILE]`: the monthly cost of
 * a traffic on the prod stage's configuration, one table per service, from the measured work per action
 * (ops/cost/coefficients.json) and us-east-1 prices (ops/cost/prices-us-east-1.json). The last line is exactly
 * `total <amount> USD/month`. Bad flags are refused with exit code 2 before anything is read or computed.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { readCoefficients } from './coefficients.ts';
import { DEFAULT_PROFILE, monthlyCost, TrafficProfileSchema, type CostLine, type Prices, type Traffic } from './model.ts';

export const PRICES_FILE = new URL('./prices-us-east-1.json', import.meta.url);

export class UsageError extends Error {}

const USAGE = 'usage: npm run cost -- --connections N --messages-per-second M [--room-size S] [--profile FILE]';

function number(flag: string, raw: string | undefined, check: (n: number) => boolean, what: string): number {
  if (raw === undefined) throw new UsageError(`--${flag} is required (${what})`);
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || !check(n)) throw new UsageError(`--${flag} must be ${what}, got "${raw}"`);
  return n;
}

/** The traffic the flags describe; throws UsageError naming the flag at fault. */
export function parseTraffic(argv: readonly string[]): Traffic {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        connections: { type: 'string' },
        'messages-per-second': { type: 'string' },
        'room-size': { type: 'string' },
        profile: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }) as { values: Record<string, string | undefined> });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const connections = number('connections', values.connections, (n) => Number.isInteger(n) && n >= 0, 'a whole number of concurrent connections (0 or more)');
  const messagesPerSecond = number('messages-per-second', values['messages-per-second'], (n) => n >= 0, 'a number of messages per second (0 or more)');
  let profile = DEFAULT_PROFILE;
  if (values.profile !== undefined) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(values.profile, 'utf8'));
    } catch (error) {
      throw new UsageError(`--profile ${values.profile}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
    }
    const parsed = TrafficProfileSchema.partial().safeParse(raw);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => (i.code === 'unrecognized_keys' ? `${i.keys.join(', ')}: not a profile setting` : `${i.path.join('.')}: ${i.message}`));
      throw new UsageError(`--profile ${values.profile}: ${problems.join('; ')} (settings: ${Object.keys(DEFAULT_PROFILE).join(', ')})`);
    }
    profile = { ...DEFAULT_PROFILE, ...parsed.data };
  }
  if (values['room-size'] !== undefined) {
    profile = { ...profile, roomSize: number('room-size', values['room-size'], (n) => Number.isInteger(n) && n >= 1, 'a whole number of members, at least 1') };
  }
  return { connections, messagesPerSecond, profile };
}

const usd = (n: number) => n.toFixed(2);
const quantity = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : Number(n.toPrecision(3)).toString());

/** The report: a table per service, its subtotal, and `total <amount> USD/month` last. */
export function render(lines: readonly CostLine[], traffic: Traffic, prices: Prices, measuredAt: string): string {
  const out: string[] = [
    `${traffic.connections.toLocaleString('en-US')} connections, ${traffic.messagesPerSecond} messages/s, rooms of ${traffic.profile.roomSize}` +
      ` (prices: ${prices.region}, read ${prices.read}; work measured at ${measuredAt})`,
  ];
  const width = Math.max(...lines.map((l) => l.item.length));
  for (const service of [...new Set(lines.map((l) => l.service))]) {
    const own = lines.filter((l) => l.service === service);
    out.push('', service);
    for (const l of own) out.push(`  ${l.item.padEnd(width)}  ${`${quantity(l.quantity)} ${l.unit}`.padStart(28)}  ${usd(l.usd).padStart(12)}`);
    out.push(`  ${'subtotal'.padEnd(width)}  ${''.padStart(28)}  ${usd(own.reduce((s, l) => s + l.usd, 0)).padStart(12)}`);
  }
  out.push('', `total ${usd(lines.reduce((s, l) => s + l.usd, 0))} USD/month`);
  return out.join('\n');
}

export function main(argv: readonly string[]): number {
  let traffic: Traffic;
  try {
    traffic = parseTraffic(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`cost: ${error.message}\n${USAGE}`);
    return 2;
  }
  const coefficients = readCoefficients();
  const prices = JSON.parse(readFileSync(PRICES_FILE, 'utf8')) as Prices;
  console.log(render(monthlyCost(coefficients, prices, traffic), traffic, prices, `${coefficients.measuredAt.commit.slice(0, 12)} on ${coefficients.measuredAt.date}`));
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main(process.argv.slice(2));
