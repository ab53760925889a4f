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

export function evaluateExpression(expression: string, values: Readonly<Record<string, number | undefined>>): number | undefined {
  const tokens = tokenize(expression);
  let at = 0;
  const peek = () => tokens[at];
  const expect = (op: string) => {
    const t = tokens[at++];
    if (t?.kind !== 'op' || t.op !== op) throw new Error(`"${expression}": expected ${op}`);
  };
  // Recursive descent: sum := product (('+'|'-') product)*, product := unary (('*'|'/') unary)*.
  const unary = (): number | undefined => {
    const t = tokens[at++];
    if (!t) throw new Error(`"${expression}": unexpected end`);
    if (t.kind === 'num') return t.value;
    if (t.kind === 'id' && t.name === 'FILL') {
      expect('(');
      const filled = comparison();
      expect(',');
      const fallback = comparison();
      expect(')');
      return filled ?? fallback;
    }
    if (t.kind === 'id' && t.name === 'IF') {
      expect('(');
      const condition = comparison();
      expect(',');
      const then = comparison();
      expect(',');
      const otherwise = comparison();
      expect(')');
      return condition === undefined ? undefined : condition !== 0 ? then : otherwise;
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
      const present = items.filter((v): v is number => v !== undefined);
      return present.length ? Math.max(...present) : undefined;
    }
    if (t.kind === 'id') {
      if (!(t.name in values)) throw new Error(`"${expression}": unknown metric id ${t.name}`);
      return values[t.name];
    }
    if (t.op === '-') {
      const v = unary();
      return v === undefined ? undefined : -v;
    }
    if (t.op === '(') {
      const v = comparison();
      expect(')');
      return v;
    }
    throw new Error(`"${expression}": unexpected ${t.op}`);
  };
  const product = (): number | undefined => {
    let left = unary();
    for (let t = peek(); t?.kind === 'op' && (t.op === '*' || t.op === '/'); t = peek()) {
      at++;
      const right = unary();
      if (left === undefined || right === undefined) left = undefined;
      else if (t.op === '*') left = left * right;
      else left = right === 0 ? undefined : left / right;
    }
    return left;
  };
  const sum = (): number | undefined => {
    let left = product();
    for (let t = peek(); t?.kind === 'op' && (t.op === '+' || t.op === '-'); t = peek()) {
      at++;
      const right = product();
      left = left === undefined || right === undefined ? undefined : t.op === '+' ? left + right : left - right;
    }
    return left;
  };
  const COMPARE: Record<string, (a: number, b: number) => boolean> = {
    '==': (a, b) => a === b,
    '!=': (a, b) => a !== b,
    '<': (a, b) => a < b,
    '<=': (a, b) => a <= b,
    '>': (a, b) => a > b,
    '>=': (a, b) => a >= b,
  };
  // comparison := sum (op sum)?, binding looser than arithmetic as in CloudWatch.
  function comparison(): number | undefined {
    const left = sum();
    const t = peek();
    if (t?.kind !== 'op' || !(t.op in COMPARE)) return left;
    at++;
    const right = sum();
    return left === undefined || right === undefined ? undefined : COMPARE[t.op]!(left, right) ? 1 : 0;
  }
  const result = comparison();
  if (at !== tokens.length) throw new Error(`"${expression}": unexpected trailing input`);
  return result;
}
