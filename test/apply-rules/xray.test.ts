/**
 * X-Ray accepts a group whose filter it then cannot apply (the group stops collecting) and annotations that no
 * segment carries (the group stays empty): the filter's keywords come from X-Ray's filter expression guide, the
 * annotation keys from the tracer calls in functions/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { named, readPlan, ruleData, synthesizedStacks } from './support.ts';

const DOC = ruleData<{
  booleanKeywords: string[];
  numberKeywords: string[];
  stringKeywords: string[];
  complexKeywords: string[];
  maxGroupNameLength: number;
}>('xray-filter-expressions.json');

/** Annotation keys some function sets (tracer.putAnnotation('key', …) in functions/). */
function annotationKeysSet(): Set<string> {
  const root = path.join(import.meta.dirname, '..', '..', 'functions');
  const files = readdirSync(root, { recursive: true, withFileTypes: true }).filter((f) => f.isFile() && f.name.endsWith('.ts'));
  const keys = files.flatMap((f) => [...readFileSync(path.join(f.parentPath, f.name), 'utf8').matchAll(/putAnnotation\('([^']+)'/g)].map((m) => m[1] as string));
  return new Set(keys);
}

/** What makes a group's filter one X-Ray cannot apply, or one that matches nothing the functions trace. */
export function groupFilterViolations(filter: string, annotations: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  const withoutStrings = filter.replace(/"[^"]*"/g, '""');
  const words = withoutStrings.match(/[A-Za-z_][A-Za-z0-9_.]*/g) ?? [];
  const keywords = new Set([...DOC.booleanKeywords, ...DOC.numberKeywords, ...DOC.stringKeywords].filter((k) => !k.endsWith('.*')));
  const operators = new Set(['AND', 'OR', 'NOT', 'CONTAINS', 'BEGINSWITH', 'ENDSWITH', 'true', 'false']);
  let complex = false;
  let annotated = false;
  for (const word of words) {
    if (word.startsWith('annotation.')) {
      annotated = true;
      const key = word.slice('annotation.'.length);
      if (!annotations.has(key)) problems.push(`annotation.${key}: no function sets this annotation`);
    } else if (DOC.complexKeywords.includes(word) && new RegExp(`\\b${word}\\s*\\(`).test(withoutStrings)) {
      complex = true;
    } else if (!keywords.has(word) && !operators.has(word)) {
      problems.push(`${word}: not a filter expression keyword`);
    }
  }
  if (complex && annotated) problems.push('a group filter may not combine a complex keyword (service(), edge(), …) with annotation.*');
  return problems;
}

describe('X-Ray group filters', () => {
  const annotations = new Set(['stage', 'outcome']);
  it('catches service() with annotations, an annotation nobody sets and an unknown keyword', () => {
    expect(groupFilterViolations('service("wschat-dev-*") AND (annotation.outcome != "ok" OR responsetime > 3)', annotations)).toEqual([
      'a group filter may not combine a complex keyword (service(), edge(), …) with annotation.*',
    ]);
    expect(groupFilterViolations('annotation.userId = "alice"', annotations)).toEqual(['annotation.userId: no function sets this annotation']);
    expect(groupFilterViolations('latency > 3', annotations)).toEqual(['latency: not a filter expression keyword']);
    expect(groupFilterViolations('annotation.stage = "dev" AND (fault OR responsetime > 3)', annotations)).toEqual([]);
  });

  describe.each(synthesizedStacks())('%s', (stack) => {
    const plan = readPlan(stack);

    it('has groups X-Ray can apply, on annotations the functions set, with valid names', () => {
      const groups = named(plan, 'aws_xray_group');
      expect(groups.length).toBeGreaterThan(0);
      const set = annotationKeysSet();
      expect(set.has('stage')).toBe(true);
      for (const [, group] of groups) {
        expect(groupFilterViolations(String(group.filter_expression), set)).toEqual([]);
        expect(String(group.group_name).length).toBeLessThanOrEqual(DOC.maxGroupNameLength);
      }
    });

    it('declares no sampling rule: Lambda applies its own sampling and ignores them', () => {
      expect(named(plan, 'aws_xray_sampling_rule')).toEqual([]);
    });
  });
});
