/**
 * CloudWatch metric math, the subset alarms here use: numbers, metric ids, + - * / with parentheses,
 * comparisons (== != < <= > >=, yielding 1 or 0), FILL(id, value), IF(condition, then, else) and MAX([a, b, …]).
 * A missing operand yields a missing result, as CloudWatch leaves a gap where inputs have none; FILL supplies a
 * value for such gaps. Division by zero is a gap too. IF with a missing condition is a gap; MAX skips gaps.
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html, read 2026-12-03)
 */
type Token = { kind: 'num'; value: number } | { kind: 'id'; name: string } | { kind: 'op'; op: string };

function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(==|!=|<=|>=|[-+*/(),<>[\]]))/y;
  let match: RegExpExecArray | null;
  pattern.lastIndex = 0;
  while (pattern.lastIndex < expression.length && (match = pattern.exec(expression))) {
    if (match[1] !== undefined) tokens.push({ kind: 'num', value: Number(match[1]) });
    else if (match[2] !== undefined) tokens.push({ kind: 'id', name: match[2] });
    else tokens.push({ kind: 'op', op: match[3] as string });
  }
  if (expression.slice(pattern.lastIndex).trim()) throw new Error(`cannot evaluate metric math "${expression}" locally`);
  return tokens;
}

type Values = Readonly<Record<string, number | undefined>>;
/** A parsed expression: evaluating it is a walk of closures, with no tokenizing or parsing. */
type Compiled = (values: Values) => number | undefined;

const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  '==': (a, b) => a === b,
  '!=': (a, b) => a !== b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

/** Parses `expression` once; unknown metric ids are reported when it is evaluated, against the values given. */
function compile(expression: string): Compiled {
  const tokens = tokenize(expression);
  let at = 0;
  const peek = () => tokens[at];
  const expect = (op: string) => {
    const t = tokens[at++];
    if (t?.kind !== 'op' || t.op !== op) throw new Error(`"${expression}": expected ${op}`);
  };
  // Recursive descent: sum := product (('+'|'-') product)*, product := unary (('*'|'/') unary)*.
  const unary = (): Compiled => {
    const t = tokens[at++];
    if (!t) throw new Error(`"${expression}": unexpected end`);
    if (t.kind === 'num') {
      const value = t.value;
      return () => value;
    }
    if (t.kind === 'id' && t.name === 'FILL') {
      expect('(');
      const filled = comparison();
      expect(',');
      const fallback = comparison();
      expect(')');
      return (values) => {
        const f = filled(values);
        const b = fallback(values);
        return f ?? b;
      };
    }
    if (t.kind === 'id' && t.name === 'IF') {
      expect('(');
      const condition = comparison();
      expect(',');
      const then = comparison();
      expect(',');
      const otherwise = comparison();
      expect(')');
      return (values) => {
        const c = condition(values);
        const [yes, no] = [then(values), otherwise(values)];
        return c === undefined ? undefined : c !== 0 ? yes : no;
      };
    }
    if (t.kind === 'id' && t.name === 'MAX') {
      expect('(');
      expect('[');
      const items = [comparison()];
      for (let next = peek(); next?.kind === 'op' && next.op === ','; next = peek()) {
        at++;
        items.push(comparison());
      }
      expect(']');
      expect(')');
      return (values) => {
        const present = items.map((item) => item(values)).filter((v): v is number => v !== undefined);
        return present.length ? Math.max(...present) : undefined;
      };
    }
    if (t.kind === 'id') {
      const name = t.name;
      return (values) => {
        if (!(name in values)) throw new Error(`"${expression}": unknown metric id ${name}`);
        return values[name];
      };
    }
    if (t.op === '-') {
      const operand = unary();
      return (values) => {
        const v = operand(values);
        return v === undefined ? undefined : -v;
      };
    }
    if (t.op === '(') {
      const inner = comparison();
      expect(')');
      return inner;
    }
    throw new Error(`"${expression}": unexpected ${t.op}`);
  };
  const product = (): Compiled => {
    let left = unary();
    for (let t = peek(); t?.kind === 'op' && (t.op === '*' || t.op === '/'); t = peek()) {
      at++;
      const [l, r, op] = [left, unary(), t.op];
      left = (values) => {
        const a = l(values);
        const b = r(values);
        if (a === undefined || b === undefined) return undefined;
        if (op === '*') return a * b;
        return b === 0 ? undefined : a / b;
      };
    }
    return left;
  };
  const sum = (): Compiled => {
    let left = product();
    for (let t = peek(); t?.kind === 'op' && (t.op === '+' || t.op === '-'); t = peek()) {
      at++;
      const [l, r, op] = [left, product(), t.op];
      left = (values) => {
        const a = l(values);
        const b = r(values);
        return a === undefined || b === undefined ? undefined : op === '+' ? a + b : a - b;
      };
    }
    return left;
  };
  // comparison := sum (op sum)?, binding looser than arithmetic as in CloudWatch.
  function comparison(): Compiled {
    const left = sum();
    const t = peek();
    if (t?.kind !== 'op' || !(t.op in COMPARE)) return left;
    at++;
    const [right, compare] = [sum(), COMPARE[t.op]!];
    return (values) => {
      const a = left(values);
      const b = right(values);
      return a === undefined || b === undefined ? undefined : compare(a, b) ? 1 : 0;
    };
  }
  const root = comparison();
  if (at !== tokens.length) throw new Error(`"${expression}": unexpected trailing input`);
  return root;
}

/**
 * Each expression is parsed once: the alarm evaluator evaluates every alarm's expression for each of its periods
 * several times a compressed minute, and parsing it every time was about a fifth of a drill stack's main-thread CPU.
 */
const compiled = new Map<string, Compiled>();

export function evaluateExpression(expression: string, values: Values): number | undefined {
  let evaluate = compiled.get(expression);
  if (!evaluate) compiled.set(expression, (evaluate = compile(expression)));
  return evaluate(values);
}
