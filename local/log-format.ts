/**
 * Makes function and gateway output readable by a person: Powertools JSON lines become one short line with
 * their correlation keys, EMF blobs a list of metric values. Anything else passes through.
 */
const HIDDEN_KEYS = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'cold_start',
  'function_arn',
  'function_memory_size',
  'function_name',
  'function_request_id',
  'sampling_rate',
  'xray_trace_id',
]);

const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number, text: string) => (useColor ? `\u001b[${code}m${text}\u001b[0m` : text);
const LEVEL_COLOR: Record<string, number> = { ERROR: 31, CRITICAL: 31, WARN: 33, INFO: 32, DEBUG: 90 };

function compact(value: unknown): string {
  if (typeof value === 'string') return /\s/.test(value) ? JSON.stringify(value) : value;
  return JSON.stringify(value);
}

export function formatLogLine(source: string, line: string): string {
  const time = new Date().toISOString().slice(11, 23);
  const prefix = `${paint(90, time)} ${paint(36, source.padEnd(22))}`;
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(line) as Record<string, unknown>;
    if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object');
  } catch {
    return `${prefix} ${line}`;
  }
  const emf = parsed._aws as { CloudWatchMetrics?: { Metrics?: { Name: string }[] }[] } | undefined;
  if (emf) {
    const names = emf.CloudWatchMetrics?.flatMap((m) => m.Metrics?.map((x) => x.Name) ?? []) ?? [];
    return `${prefix} ${paint(35, 'METRICS')} ${names.map((n) => `${n}=${compact(parsed[n])}`).join(' ')}`;
  }
  const level = typeof parsed.level === 'string' ? parsed.level : undefined;
  const message = typeof parsed.message === 'string' ? parsed.message : undefined;
  if (!level && !message) {
    // Access log lines: their fields, without the ones API Gateway leaves as '-'.
    const fields = Object.entries(parsed).filter(([, value]) => value !== '-' && value !== '');
    return `${prefix} ${fields.map(([key, value]) => `${paint(90, `${key}=`)}${compact(value)}`).join(' ')}`;
  }
  const details = Object.entries(parsed)
    .filter(([key]) => !HIDDEN_KEYS.has(key))
    .map(([key, value]) => `${paint(90, `${key}=`)}${compact(value)}`)
    .join(' ');
  return `${prefix} ${paint(LEVEL_COLOR[level ?? ''] ?? 0, (level ?? '').padEnd(5))} ${message ?? ''} ${details}`.trimEnd();
}
