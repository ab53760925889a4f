/**
 * The pipeline's deploy contract (.github/workflows/terraform.yml), read as text (the repository has no YAML
 * parser of its own): after each stage's apply, the gradual rollout runs for that stage; a scheduled job plans
 * every stage with -detailed-exitcode and fails on drift; the scheduled run does nothing else.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../local/paths.ts';

const WORKFLOW = readFileSync(path.join(REPO_ROOT, '.github', 'workflows', 'terraform.yml'), 'utf8');

/** Each job's lines, by job id: the lines indented under `jobs:` up to the next job. */
function jobs(workflow: string): Map<string, string[]> {
  const lines = workflow.split('\n');
  const start = lines.indexOf('jobs:');
  const found = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of lines.slice(start + 1)) {
    const job = /^ {2}([a-z][a-z0-9-]*):\s*$/.exec(line);
    if (job?.[1]) found.set(job[1], (current = []));
    else if (/^\S/.test(line)) break;
    else current?.push(line);
  }
  return found;
}

/** The `run:` commands and `name:`s of a job's steps, in order, one string per step. */
function steps(job: readonly string[]): string[] {
  const at = job.findIndex((line) => /^ {4}steps:\s*$/.test(line));
  const result: string[] = [];
  for (const line of job.slice(at + 1)) {
    if (/^ {6}- /.test(line)) result.push(line.trim());
    else if (result.length > 0) result[result.length - 1] += `\n${line.trim()}`;
  }
  return result;
}

const ALL = jobs(WORKFLOW);

describe('the terraform workflow', () => {
  it('rolls the new versions out gradually after each stage is applied, for that stage, from the applied plan', () => {
    const apply = steps(ALL.get('apply') ?? []);
    const applied = apply.findIndex((step) => /terraform apply .*tfplan/.test(step));
    const rollout = apply.findIndex((step) => step.includes('npm run rollout --'));
    expect(applied).toBeGreaterThanOrEqual(0);
    expect(rollout).toBeGreaterThan(applied);
    const command = apply[rollout] as string;
    expect(command).toContain('--stage ${{ matrix.stage }}');
    expect(command).toContain('--stack-dir cdktf.out/stacks/wschat-${{ matrix.stage }}');
    expect(command).toMatch(/--step-percent \d+/);
    expect(command).toContain('--bake-minutes');
    // The tool runs from a checkout with its packages installed.
    expect(apply.findIndex((step) => step.includes('actions/checkout@'))).toBeLessThan(rollout);
    expect(command).toContain('npm ci');
  });

  it('plans every stage on a schedule with -detailed-exitcode and fails the job on drift (exit 2) or error', () => {
    expect(WORKFLOW).toMatch(/^ {2}schedule:\n(?: {4}#.*\n)* {4}- cron: '[^']+'/m);
    const drift = ALL.get('drift') ?? [];
    expect(drift.join('\n')).toMatch(/if: github\.event_name == 'schedule'/);
    expect(drift.join('\n')).toContain('stage: [dev, prod]');
    const check = steps(drift).find((step) => /terraform plan .*-detailed-exitcode/.test(step));
    expect(check).toBeDefined();
    expect(check).toContain('-lock=false');
    expect(check).toMatch(/exit "\$code"/);
    expect(check).toMatch(/"\$code" -eq 2/);
  });

  it('runs nothing but the drift check on the schedule: the test job (and so plan and apply) skip it', () => {
    expect((ALL.get('test') ?? []).join('\n')).toContain("if: github.event_name != 'schedule'");
    expect((ALL.get('plan') ?? []).join('\n')).toContain('needs: test');
    expect((ALL.get('apply') ?? []).join('\n')).toContain('needs: plan');
  });
});
