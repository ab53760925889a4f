/** Synthesis runs only when what the plan is made from changed: the test run's own output is the positive control. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, inject } from 'vitest';
import { synthesizeIfChanged, synthInputsDigest, synthIsCurrent } from '../../local/synth.ts';

const withoutState = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('WSCHAT_STATE_')));

describe('synthesis cache', () => {
  it("finds the suite's own synthesis current, and does not synthesize again", () => {
    const digest = synthInputsDigest(withoutState);
    expect(synthIsCurrent(inject('synthDir'), digest)).toBe(true);
    expect(synthesizeIfChanged({ outdir: inject('synthDir'), env: withoutState, beforeSynthesis: () => expect.fail('synthesized again') })).toBe(
      'current',
    );
  });

  it('is not current for another digest, a missing stamp or a missing directory', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wschat-synth-cache-'));
    expect(synthIsCurrent(dir, synthInputsDigest(withoutState))).toBe(false);
    writeFileSync(path.join(dir, '.synth-inputs.sha256'), 'an older digest');
    expect(synthIsCurrent(dir, synthInputsDigest(withoutState))).toBe(false);
    expect(synthIsCurrent(path.join(dir, 'absent'), synthInputsDigest(withoutState))).toBe(false);
  });

  it('changes with the state backend settings the app reads from the environment', () => {
    const plain = synthInputsDigest(withoutState);
    expect(synthInputsDigest({ ...withoutState, WSCHAT_STATE_BUCKET: 'acme' })).not.toBe(plain);
    expect(synthInputsDigest({ ...withoutState, UNRELATED: 'x' })).toBe(plain);
  });
});
