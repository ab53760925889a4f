/**
 * What function bundles get for `semver` (infra/bundle.ts): `gte`, the one function anything bundled calls (the
 * X-Ray SDK's minimum-version check of an AWS SDK v2, which these functions do not use). semver whole is 29 KB of
 * every traced bundle and compiles dozens of regular expressions at load. Strict parsing as semver's default
 * (`new SemVer(v)` without `loose`); test/infra/semver-shim.test.ts compares it with semver on a table of versions.
 */
const NUMERIC = '0|[1-9]\\d*';
const IDENTIFIER = `(?:\\d*[a-zA-Z-][a-zA-Z0-9-]*|${NUMERIC})`;
const VERSION = new RegExp(
  `^v?(${NUMERIC})\\.(${NUMERIC})\\.(${NUMERIC})(?:-(${IDENTIFIER}(?:\\.${IDENTIFIER})*))?(?:\\+[a-zA-Z0-9-]+(?:\\.[a-zA-Z0-9-]+)*)?$`,
);
/** semver's MAX_LENGTH. */
const MAX_LENGTH = 256;
const DIGITS = /^[0-9]+$/;

interface Parsed {
  readonly main: readonly number[];
  readonly prerelease: readonly (string | number)[];
}

function parse(version: unknown): Parsed {
  if (typeof version !== 'string') throw new TypeError(`Invalid version. Must be a string. Got type "${typeof version}".`);
  if (version.length > MAX_LENGTH) throw new TypeError(`version is longer than ${MAX_LENGTH} characters`);
  const m = VERSION.exec(version.trim());
  if (!m) throw new TypeError(`Invalid Version: ${version}`);
  const main = [m[1], m[2], m[3]].map(Number);
  const part = ['major', 'minor', 'patch'][main.findIndex((n) => n > Number.MAX_SAFE_INTEGER)];
  if (part) throw new TypeError(`Invalid ${part} version`);
  const prerelease = m[4] ? m[4].split('.').map((id) => (DIGITS.test(id) && Number(id) < Number.MAX_SAFE_INTEGER ? Number(id) : id)) : [];
  return { main, prerelease };
}

/** semver's compareIdentifiers: numbers numerically and before strings, strings in code unit order. */
function compareIdentifiers(a: string | number, b: string | number): number {
  const aNumeric = DIGITS.test(String(a));
  const bNumeric = DIGITS.test(String(b));
  const [x, y] = aNumeric && bNumeric ? [Number(a), Number(b)] : [a, b];
  if (x === y) return 0;
  if (aNumeric && !bNumeric) return -1;
  if (bNumeric && !aNumeric) return 1;
  return x < y ? -1 : 1;
}

function compare(a: Parsed, b: Parsed): number {
  for (let i = 0; i < 3; i++) {
    const difference = Math.sign((a.main[i] as number) - (b.main[i] as number));
    if (difference) return difference;
  }
  // A release is above its prereleases; a longer prerelease above its own prefix.
  if (!a.prerelease.length || !b.prerelease.length) return Math.sign(b.prerelease.length - a.prerelease.length);
  for (let i = 0; ; i++) {
    const x = a.prerelease[i];
    const y = b.prerelease[i];
    if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? -1 : 1;
    const order = compareIdentifiers(x, y);
    if (order) return order;
  }
}

export function gte(a: string, b: string): boolean {
  return compare(parse(a), parse(b)) >= 0;
}
