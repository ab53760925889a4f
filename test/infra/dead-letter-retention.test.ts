import { describe, expect, it } from 'vitest';
import { ALARMS } from '../../dashboards/alarms.ts';
import { STAGES } from '../../infra/config/stages.ts';
import { deadLetterRetentionSeconds, REDRIVE_MARGIN_SECONDS, TICKET_RESPONSE_SECONDS } from '../../infra/constructs/fanout.ts';

const HOUR = 3600;

describe('fan-out dead-letter retention', () => {
  it("is the age alarm's budget, a weekend's ticket response and a day's margin: 4 days and an hour", () => {
    const ageAlarm = ALARMS.find((alarm) => alarm.id === 'fanout-dead-letter-age');
    expect(ageAlarm?.rule).toMatchObject({ kind: 'threshold', threshold: HOUR });
    expect(deadLetterRetentionSeconds(STAGES.dev)).toBe(HOUR + 72 * HOUR + 24 * HOUR);
    expect(TICKET_RESPONSE_SECONDS + REDRIVE_MARGIN_SECONDS).toBe(96 * HOUR);
  });

  it("follows a stage's own age budget", () => {
    const observability = { ...STAGES.prod.observability, alarmThresholds: { 'fanout-dead-letter-age': 6 * HOUR } };
    expect(deadLetterRetentionSeconds({ ...STAGES.prod, observability })).toBe(6 * HOUR + 96 * HOUR);
  });

  it("stays within SQS's retention range (60 s to 14 days) in every stage", () => {
    for (const stage of Object.values(STAGES)) {
      expect(deadLetterRetentionSeconds(stage)).toBeGreaterThanOrEqual(60);
      expect(deadLetterRetentionSeconds(stage)).toBeLessThanOrEqual(14 * 24 * HOUR);
    }
  });
});
