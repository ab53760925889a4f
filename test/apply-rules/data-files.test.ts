/** Every rule is only as good as its data: each data file says where it was read and when. */
import { describe, expect, it } from 'vitest';
import { dataFiles, ruleData } from './support.ts';

describe('apply-rule data files', () => {
  it.each(dataFiles())('%s names an https source and the date it was read', (file) => {
    const data = ruleData<Record<string, unknown>>(file);
    expect(data.source).toMatch(/^https:\/\/docs\.aws\.amazon\.com\//);
    expect(data.read).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});
