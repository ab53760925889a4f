/**
 * The bundles' stand-in for semver (infra/bundle-shims/semver-gte.ts) answers `gte` as semver does, throws where
 * it throws, with its messages, on a table of versions crossed with itself. test/infra/bundles.test.ts checks
 * that `gte` is all the bundled code calls of semver.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { gte } from '../../infra/bundle-shims/semver-gte.ts';

// semver itself, as the X-Ray SDK gets it outside the bundles (a dependency of the SDK's; untyped here).
const semver = createRequire(import.meta.url)('semver') as { gte(a: unknown, b: unknown): boolean };

const VALID = [
  '2.7.15', '2.7.14', '2.7.16', '2.8.0', '2.10.0', '3.0.0', '10.0.0', '1.999.999', '0.0.0',
  '2.7.15-0', '2.7.15-1', '2.7.15-1.a', '2.7.15-a.1', '2.7.15-alpha', '2.7.15-beta', '2.7.15-beta.1',
  '2.7.15-beta.2', '2.7.15-beta.11', '2.7.15-beta.1.1', '2.7.15-Beta', '2.7.15-x-y', '2.7.15-0a', '2.7.15--',
  '2.7.15-9007199254740993', '2.7.15-9007199254740992', '2.7.15+build.5', '2.7.15-rc.1+sha.abc', 'v2.7.15', ' 2.7.15 ',
  '9007199254740991.0.0',
];
const INVALID: unknown[] = [
  '2.7', '2.7.15.1', '02.7.15', '2.07.15', '=2.7.15', 'v 2.7.15', 'V2.7.15', '2.7.15-', '2.7.15-01', '2.7.15-a..b',
  '2.7.15+', '2.7.15+a+b', 'latest', '', '99999999999999999999.0.0', '1.99999999999999999999.0', '1.0.99999999999999999999',
  `1.0.0-${'a'.repeat(300)}`, undefined, null, 2.7,
];

function outcome(compare: (a: unknown, b: unknown) => boolean, a: unknown, b: unknown): string {
  try {
    return String(compare(a, b));
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
}

describe('the semver gte shim', () => {
  it.each([...VALID, ...INVALID].map((a) => [a]))('answers gte(%j, v) as semver does for every v in the table', (a) => {
    const versions = [...VALID, ...INVALID];
    const shim = versions.map((b) => outcome(gte as (a: unknown, b: unknown) => boolean, a, b));
    const real = versions.map((b) => outcome(semver.gte, a, b));
    expect(shim).toEqual(real);
  });

  it('agrees with semver on both answers and on refusals (the table is not one-sided)', () => {
    const answers = VALID.flatMap((a) => VALID.map((b) => gte(a, b)));
    expect(answers).toContain(true);
    expect(answers).toContain(false);
    expect(() => gte('2.7', '2.7.15')).toThrow(TypeError);
  });
});
