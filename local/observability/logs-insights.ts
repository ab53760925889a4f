/**
 * A CloudWatch Logs Insights evaluator for the part of the query language the saved queries
 * (dashboards/queries.ts) use: fields, display, filter (comparisons, like, and/or/not, ispresent), stats
 * (count, sum, avg, min, max, pct) by fields, sort and limit. Anything else throws an error naming it, so a
 * query that outgrows the evaluator fails loudly instead of answering something CloudWatch would not.
 * Syntax as documented in https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax.html (read 2026-12-03).
 */

/** One log event as CloudWatch Logs holds it. */
export interface LogEvent {
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
  readonly message: string;
  /** `account-id:log-group-name`, as Logs Insights shows @log. */
  readonly log: string;
  readonly logStream?: string;
}

export interface QueryResult {
  /** The result's columns, in order. */
  readonly columns: readonly string[];
  /** Each row's values as Logs Insights returns them (strings); a field a row lacks is absent. */
  readonly rows: readonly Readonly<Record<string, string>>[];
  /** Every field of the log events the query reads (aliases it defines itself are not fields of the events). */
  readonly referencedFields: readonly string[];
}

type Value = string | number;
type FieldRecord = Map<string, Value>;

// ---- Tokens -------------------------------------------------------------------------------------------------

type Token =
  | { kind: 'name'; text: string }
  | { kind: 'string'; text: string }
  | { kind: 'number'; value: number; text: string }
  | { kind: 'regex'; source: string; flags: string; text: string }
  | { kind: 'op'; text: string };

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < query.length) {
    const c = query[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      let text = '';
      let j = i + 1;
      while (j < query.length && query[j] !== c) {
        if (query[j] === '\\' && j + 1 < query.length) j++;
        text += query[j];
        j++;
      }
      if (j >= query.length) throw new Error(`Logs Insights: unterminated string starting at ${query.slice(i, i + 20)}`);
      tokens.push({ kind: 'string', text });
      i = j + 1;
      continue;
    }
    if (c === '/') {
      // There is no arithmetic in the supported subset, so a slash always opens a regular expression.
      let j = i + 1;
      let source = '';
      while (j < query.length && query[j] !== '/') {
        if (query[j] === '\\' && j + 1 < query.length) source += query[j++];
        source += query[j++];
      }
      if (j >= query.length) throw new Error(`Logs Insights: unterminated regular expression starting at ${query.slice(i, i + 20)}`);
      // Logs Insights spells case-insensitivity inline, as (?i) at the start.
      const insensitive = source.startsWith('(?i)');
      tokens.push({ kind: 'regex', source: insensitive ? source.slice(4) : source, flags: insensitive ? 'i' : '', text: query.slice(i, j + 1) });
      i = j + 1;
      continue;
    }
    if (c === '`') {
      const end = query.indexOf('`', i + 1);
      if (end < 0) throw new Error('Logs Insights: unterminated `quoted` field name');
      tokens.push({ kind: 'name', text: query.slice(i + 1, end) });
      i = end + 1;
      continue;
    }
    const number = /^-?\d+(\.\d+)?/.exec(query.slice(i));
    if (number) {
      tokens.push({ kind: 'number', value: Number(number[0]), text: number[0] });
      i += number[0].length;
      continue;
    }
    const name = /^@?[A-Za-z_][A-Za-z0-9_.@-]*/.exec(query.slice(i));
    if (name) {
      tokens.push({ kind: 'name', text: name[0] });
      i += name[0].length;
      continue;
    }
    const op = /^(!=|<=|>=|[=<>(),*|[\]])/.exec(query.slice(i));
    if (!op) throw new Error(`Logs Insights: unsupported character "${c}" in: ${query.slice(i, i + 20)}`);
    tokens.push({ kind: 'op', text: op[0] });
    i += op[0].length;
  }
  return tokens;
}

// ---- Parsing ------------------------------------------------------------------------------------------------

type Expr =
  | { kind: 'field'; name: string }
  | { kind: 'literal'; value: Value }
  | { kind: 'regex'; pattern: RegExp }
  | { kind: 'compare'; op: '=' | '!=' | '<' | '<=' | '>' | '>='; left: Expr; right: Expr }
  | { kind: 'like'; negated: boolean; subject: Expr; pattern: Expr }
  | { kind: 'and' | 'or'; left: Expr; right: Expr }
  | { kind: 'not'; operand: Expr }
  | { kind: 'ispresent'; field: string };

const AGGREGATES = ['count', 'sum', 'avg', 'min', 'max', 'pct'] as const;
type AggregateName = (typeof AGGREGATES)[number];

interface Aggregate {
  readonly fn: AggregateName;
  /** The field aggregated; undefined for count(*). */
  readonly field?: string;
  readonly percentile?: number;
  readonly column: string;
}

type Command =
  | { kind: 'fields' | 'display'; columns: { field: string; column: string }[] }
  | { kind: 'filter'; condition: Expr }
  | { kind: 'stats'; aggregates: Aggregate[]; by: string[] }
  | { kind: 'sort'; keys: { field: string; descending: boolean }[] }
  | { kind: 'limit'; count: number };

const COMMANDS = ['fields', 'display', 'filter', 'stats', 'sort', 'limit'];

class Parser {
  private at = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly command: string,
  ) {}

  get done(): boolean {
    return this.at >= this.tokens.length;
  }

  peek(): Token | undefined {
    return this.tokens[this.at];
  }

  next(): Token {
    const token = this.tokens[this.at++];
    if (!token) throw new Error(`Logs Insights: ${this.command} ends unexpectedly`);
    return token;
  }

  isOp(text: string): boolean {
    const t = this.peek();
    return t?.kind === 'op' && t.text === text;
  }

  isWord(word: string): boolean {
    const t = this.peek();
    return t?.kind === 'name' && t.text.toLowerCase() === word;
  }

  expectOp(text: string): void {
    const t = this.next();
    if (t.kind !== 'op' || t.text !== text) throw new Error(`Logs Insights: ${this.command} expected "${text}", found "${t.text}"`);
  }

  fieldName(): string {
    const t = this.next();
    if (t.kind !== 'name') throw new Error(`Logs Insights: ${this.command} expected a field name, found "${t.text}"`);
    if (this.isOp('(')) throw new Error(`Logs Insights: unsupported function ${t.text}() in ${this.command}`);
    return t.text;
  }

  alias(): string | undefined {
    if (!this.isWord('as')) return undefined;
    this.next();
    return this.fieldName();
  }

  end(): void {
    if (!this.done) throw new Error(`Logs Insights: unexpected "${this.peek()?.text}" in ${this.command}`);
  }

  // Precedence: or < and < not < comparison.
  condition(): Expr {
    let left = this.conjunction();
    while (this.isWord('or')) {
      this.next();
      left = { kind: 'or', left, right: this.conjunction() };
    }
    return left;
  }

  private conjunction(): Expr {
    let left = this.negation();
    while (this.isWord('and')) {
      this.next();
      left = { kind: 'and', left, right: this.negation() };
    }
    return left;
  }

  private negation(): Expr {
    if (this.isWord('not')) {
      this.next();
      return { kind: 'not', operand: this.negation() };
    }
    return this.comparison();
  }

  private comparison(): Expr {
    if (this.isOp('(')) {
      this.next();
      const inner = this.condition();
      this.expectOp(')');
      return inner;
    }
    const left = this.operand();
    if (left.kind === 'ispresent') return left;
    const t = this.peek();
    if (t?.kind === 'op' && ['=', '!=', '<', '<=', '>', '>='].includes(t.text)) {
      this.next();
      return { kind: 'compare', op: t.text as '=', left, right: this.operand() };
    }
    const negated = this.isWord('not');
    if (negated) this.next();
    if (this.isWord('like')) {
      this.next();
      return { kind: 'like', negated, subject: left, pattern: this.operand() };
    }
    throw new Error(`Logs Insights: unsupported condition operator "${this.peek()?.text ?? 'end of filter'}" in ${this.command}`);
  }

  private operand(): Expr {
    const t = this.next();
    if (t.kind === 'string') return { kind: 'literal', value: t.text };
    if (t.kind === 'number') return { kind: 'literal', value: t.value };
    if (t.kind === 'regex') return { kind: 'regex', pattern: new RegExp(t.source, t.flags) };
    if (t.kind === 'name') {
      if (!this.isOp('(')) return { kind: 'field', name: t.text };
      if (t.text.toLowerCase() !== 'ispresent') throw new Error(`Logs Insights: unsupported function ${t.text}() in ${this.command}`);
      this.next();
      const field = this.fieldName();
      this.expectOp(')');
      return { kind: 'ispresent', field };
    }
    throw new Error(`Logs Insights: ${this.command} expected a value, found "${t.text}"`);
  }

  aggregate(): Aggregate {
    const start = this.at;
    const t = this.next();
    const fn = t.text.toLowerCase() as AggregateName;
    if (t.kind !== 'name' || !this.isOp('(')) throw new Error(`Logs Insights: stats expected an aggregation function, found "${t.text}"`);
    if (!AGGREGATES.includes(fn)) throw new Error(`Logs Insights: unsupported function ${t.text}() in stats`);
    this.next();
    let field: string | undefined;
    let percentile: number | undefined;
    if (fn === 'count' && this.isOp('*')) this.next();
    else field = this.fieldName();
    if (fn === 'pct') {
      this.expectOp(',');
      const p = this.next();
      if (p.kind !== 'number') throw new Error(`Logs Insights: pct() needs a percentile number, found "${p.text}"`);
      percentile = p.value;
    }
    if (fn !== 'count' && field === undefined) throw new Error(`Logs Insights: ${fn}(*) is not an aggregation`);
    this.expectOp(')');
    const written = this.tokens
      .slice(start, this.at)
      .map((token) => token.text)
      .join('')
      .replace(/,/g, ', ');
    return { fn, field, percentile, column: this.alias() ?? written };
  }
}

function splitCommands(tokens: Token[]): Token[][] {
  const commands: Token[][] = [[]];
  for (const token of tokens) {
    if (token.kind === 'op' && token.text === '|') commands.push([]);
    else (commands[commands.length - 1] as Token[]).push(token);
  }
  return commands;
}

function list<T>(p: Parser, item: () => T): T[] {
  const items = [item()];
  while (p.isOp(',')) {
    p.next();
    items.push(item());
  }
  return items;
}

function parseCommand(tokens: Token[]): Command {
  const head = tokens[0];
  if (!head) throw new Error('Logs Insights: empty command between pipes');
  const name = head.text.toLowerCase();
  if (head.kind !== 'name' || !COMMANDS.includes(name)) throw new Error(`Logs Insights: unsupported command "${head.text}"`);
  const p = new Parser(tokens.slice(1), name);
  let command: Command;
  switch (name) {
    case 'fields':
    case 'display':
      command = {
        kind: name,
        columns: list(p, () => {
          const field = p.fieldName();
          return { field, column: p.alias() ?? field };
        }),
      };
      break;
    case 'filter':
      command = { kind: 'filter', condition: p.condition() };
      break;
    case 'stats': {
      const aggregates = list(p, () => p.aggregate());
      let by: string[] = [];
      if (p.isWord('by')) {
        p.next();
        by = list(p, () => p.fieldName());
      }
      command = { kind: 'stats', aggregates, by };
      break;
    }
    case 'sort':
      command = {
        kind: 'sort',
        keys: list(p, () => {
          const field = p.fieldName();
          // The documentation names no default order, so a saved query must state it.
          if (!p.isWord('asc') && !p.isWord('desc')) throw new Error(`Logs Insights: sort ${field} needs asc or desc`);
          return { field, descending: p.next().text.toLowerCase() === 'desc' };
        }),
      };
      break;
    default: {
      const count = p.next();
      if (count.kind !== 'number' || !Number.isInteger(count.value) || count.value < 1) {
        throw new Error(`Logs Insights: limit needs a positive whole number, found "${count.text}"`);
      }
      command = { kind: 'limit', count: count.value };
    }
  }
  p.end();
  return command;
}

export function parseQuery(query: string): Command[] {
  return splitCommands(tokenize(query)).map(parseCommand);
}

// ---- Evaluation ---------------------------------------------------------------------------------------------

/** A JSON message's keys as fields, nested keys joined with dots (arrays by index), as Logs Insights discovers them. */
function discover(event: LogEvent): FieldRecord {
  const record: FieldRecord = new Map<string, Value>([
    ['@timestamp', event.timestamp],
    ['@message', event.message],
    ['@log', event.log],
  ]);
  if (event.logStream !== undefined) record.set('@logStream', event.logStream);
  const text = event.message.trim();
  if (!text.startsWith('{')) return record;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return record;
  }
  const walk = (value: unknown, prefix: string) => {
    if (value === null || value === undefined) return;
    if (typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) walk(inner, prefix ? `${prefix}.${key}` : key);
    } else {
      record.set(prefix, typeof value === 'number' ? value : String(value));
    }
  };
  walk(parsed, '');
  return record;
}

/** The fields Logs Insights discovers in an event (the @ fields and a JSON message's keys). */
export function discoveredFields(event: LogEvent): string[] {
  return [...discover(event).keys()];
}

function numeric(value: Value | undefined): number | undefined {
  if (typeof value === 'number') return value;
  if (value === undefined || value.trim() === '' || Number.isNaN(Number(value))) return undefined;
  return Number(value);
}

function valueOf(expr: Expr, record: FieldRecord): Value | RegExp | undefined {
  if (expr.kind === 'field') return record.get(expr.name);
  if (expr.kind === 'literal') return expr.value;
  if (expr.kind === 'regex') return expr.pattern;
  throw new Error(`Logs Insights: a condition cannot be used as a value`);
}

function holds(expr: Expr, record: FieldRecord): boolean {
  switch (expr.kind) {
    case 'and':
      return holds(expr.left, record) && holds(expr.right, record);
    case 'or':
      return holds(expr.left, record) || holds(expr.right, record);
    case 'not':
      return !holds(expr.operand, record);
    case 'ispresent':
      return record.has(expr.field);
    case 'like': {
      const subject = valueOf(expr.subject, record);
      const pattern = valueOf(expr.pattern, record);
      if (subject === undefined || subject instanceof RegExp || pattern === undefined) return false;
      const text = String(subject);
      const matches = pattern instanceof RegExp ? pattern.test(text) : text.includes(String(pattern));
      return matches !== expr.negated;
    }
    case 'compare': {
      const left = valueOf(expr.left, record);
      const right = valueOf(expr.right, record);
      if (left === undefined || right === undefined) return false;
      if (left instanceof RegExp || right instanceof RegExp) throw new Error(`Logs Insights: a regular expression needs like, not ${expr.op}`);
      const [a, b] = numeric(left) !== undefined && numeric(right) !== undefined ? [numeric(left) as number, numeric(right) as number] : [String(left), String(right)];
      switch (expr.op) {
        case '=':
          return a === b;
        case '!=':
          return a !== b;
        case '<':
          return a < b;
        case '<=':
          return a <= b;
        case '>':
          return a > b;
        default:
          return a >= b;
      }
    }
    default:
      throw new Error(`Logs Insights: ${expr.kind} is a value, not a condition`);
  }
}

/** Nearest-rank percentile, as the local metric statistics compute it. */
function percentileOf(values: number[], p: number): number | undefined {
  if (!values.length) return undefined;
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

function aggregate(agg: Aggregate, records: FieldRecord[]): Value | undefined {
  if (agg.fn === 'count') return agg.field === undefined ? records.length : records.filter((r) => r.has(agg.field as string)).length;
  const values = records.map((r) => numeric(r.get(agg.field as string))).filter((v): v is number => v !== undefined);
  if (!values.length) return undefined;
  switch (agg.fn) {
    case 'sum':
      return values.reduce((s, v) => s + v, 0);
    case 'avg':
      return values.reduce((s, v) => s + v, 0) / values.length;
    case 'min':
      return Math.min(...values);
    case 'max':
      return Math.max(...values);
    default:
      return percentileOf(values, agg.percentile as number);
  }
}

function stats(command: Extract<Command, { kind: 'stats' }>, records: FieldRecord[]): FieldRecord[] {
  const groups = new Map<string, FieldRecord[]>();
  for (const record of records) {
    const key = JSON.stringify(command.by.map((field) => record.get(field) ?? null));
    const members = groups.get(key);
    if (members) members.push(record);
    else groups.set(key, [record]);
  }
  return [...groups.values()].map((members) => {
    const row: FieldRecord = new Map();
    const first = members[0] as FieldRecord;
    for (const field of command.by) {
      const value = first.get(field);
      if (value !== undefined) row.set(field, value);
    }
    for (const agg of command.aggregates) {
      const value = aggregate(agg, members);
      if (value !== undefined) row.set(agg.column, value);
    }
    return row;
  });
}

/**
 * The documented order: number values after every other value, numbers by value, other values by Unicode with
 * runs of digits compared by length, then value. Missing values come last either way.
 */
function compareValues(a: Value | undefined, b: Value | undefined): number {
  const [na, nb] = [numeric(a), numeric(b)];
  if (na !== undefined && nb !== undefined) return na - nb;
  if (na !== undefined) return 1;
  if (nb !== undefined) return -1;
  const chunks = (v: Value) => String(v).match(/\d+|\D+/g) ?? [];
  const [ca, cb] = [chunks(a as Value), chunks(b as Value)];
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const [x, y] = [ca[i] as string, cb[i] as string];
    if (x === y) continue;
    if (/^\d/.test(x) && /^\d/.test(y)) return x.length - y.length || (x < y ? -1 : 1);
    return x < y ? -1 : 1;
  }
  return ca.length - cb.length;
}

function sort(command: Extract<Command, { kind: 'sort' }>, records: FieldRecord[]): FieldRecord[] {
  return [...records].sort((r1, r2) => {
    for (const { field, descending } of command.keys) {
      const [a, b] = [r1.get(field), r2.get(field)];
      if (a === undefined || b === undefined) {
        if (a !== b) return a === undefined ? 1 : -1;
        continue;
      }
      const order = compareValues(a, b);
      if (order) return descending ? -order : order;
    }
    return 0;
  });
}

/** @timestamp as the console shows it: `2026-12-03 10:05:02.123`. */
function render(field: string, value: Value): string {
  if (field === '@timestamp' && typeof value === 'number') return new Date(value).toISOString().replace('T', ' ').replace('Z', '');
  return String(value);
}

/** Runs `query` on `events` and returns its table. Throws, naming it, on anything outside the supported subset. */
export function runQuery(query: string, events: readonly LogEvent[]): QueryResult {
  const commands = parseQuery(query);
  let records = events.map(discover);
  let columns: string[] = [];
  let displayed: string[] | undefined;
  const referenced = new Set<string>();
  // Names a command defined (stats columns, aliases): later commands reading them read no event field.
  const defined = new Set<string>();
  const read = (field: string) => {
    if (!defined.has(field)) referenced.add(field);
  };
  const readCondition = (expr: Expr): void => {
    if (expr.kind === 'field') read(expr.name);
    else if (expr.kind === 'ispresent') read(expr.field);
    else if (expr.kind === 'compare' || expr.kind === 'and' || expr.kind === 'or') [expr.left, expr.right].forEach(readCondition);
    else if (expr.kind === 'like') [expr.subject, expr.pattern].forEach(readCondition);
    else if (expr.kind === 'not') readCondition(expr.operand);
  };
  for (const command of commands) {
    switch (command.kind) {
      case 'fields':
      case 'display':
        for (const { field, column } of command.columns) {
          read(field);
          if (column !== field) defined.add(column);
        }
        records = records.map((record) => {
          const copy = new Map(record);
          for (const { field, column } of command.columns) {
            const value = record.get(field);
            if (value !== undefined) copy.set(column, value);
          }
          return copy;
        });
        if (command.kind === 'fields') columns = [...new Set([...columns, ...command.columns.map((c) => c.column)])];
        else displayed = command.columns.map((c) => c.column);
        break;
      case 'filter':
        readCondition(command.condition);
        records = records.filter((record) => holds(command.condition, record));
        break;
      case 'stats':
        command.by.forEach(read);
        command.aggregates.forEach((agg) => agg.field !== undefined && read(agg.field));
        records = stats(command, records);
        columns = [...command.by, ...command.aggregates.map((agg) => agg.column)];
        command.aggregates.forEach((agg) => defined.add(agg.column));
        displayed = undefined;
        break;
      case 'sort':
        command.keys.forEach(({ field }) => read(field));
        records = sort(command, records);
        break;
      case 'limit':
        records = records.slice(0, command.count);
        break;
    }
  }
  const shown = displayed ?? (columns.length ? columns : ['@timestamp', '@message']);
  const rows = records.map((record) =>
    Object.fromEntries(shown.flatMap((column) => {
      const value = record.get(column);
      return value === undefined ? [] : [[column, render(column, value)]];
    })),
  );
  return { columns: shown, rows, referencedFields: [...referenced] };
}
