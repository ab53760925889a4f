/**
 * A gradual deploy, driven from the pipeline after `terraform apply` (docs/operations.md, "Deploy and roll back"):
 * every function whose newest published version is not its `live` alias's version gets `stepPercent` of its
 * invocations through the alias's additional version weight; the stage's page alarms are watched for the bake
 * time; then each alias moves to its new version whole, recording the version it replaced in its description.
 * Any watched alarm in ALARM shifts every function back to its previous version and fails the deploy. The stage's
 * alarms are shared by all functions, so the functions move together: one bake, one verdict.
 */

/** An alias as the rollout reads and writes it (Lambda's GetAlias / UpdateAlias). */
export interface AliasView {
  readonly functionVersion: string;
  readonly additionalVersionWeights: Readonly<Record<string, number>>;
  readonly description: string;
  readonly revisionId: string;
}

export interface AliasChange {
  readonly functionVersion: string;
  /** Empty: every invocation runs functionVersion. */
  readonly additionalVersionWeights: Readonly<Record<string, number>>;
  readonly description?: string;
  /** The revision read: Lambda refuses the change if someone moved the alias since. */
  readonly revisionId?: string;
}

/** The port to Lambda: versions and the `live` alias of a function. */
export interface AliasControl {
  /** Published versions (not $LATEST), any order. */
  listVersions(functionName: string): Promise<string[]>;
  getAlias(functionName: string): Promise<AliasView>;
  updateAlias(functionName: string, change: AliasChange): Promise<void>;
}

/** The port to CloudWatch: which of the named alarms are in ALARM now. */
export interface AlarmWatch {
  firing(alarmNames: readonly string[]): Promise<string[]>;
}

export interface RolloutOptions {
  readonly functions: readonly string[];
  readonly alarms: readonly string[];
  /** 1 to 100: the new version's share of invocations while baking. */
  readonly stepPercent: number;
  readonly bakeMs: number;
  readonly pollMs: number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;
  readonly log: (line: string) => void;
}

export interface Shift {
  readonly functionName: string;
  readonly from: string;
  readonly to: string;
}

export type RolloutResult =
  | { readonly outcome: 'nothing-to-deploy' }
  | { readonly outcome: 'promoted'; readonly shifts: readonly Shift[] }
  | { readonly outcome: 'rolled-back'; readonly shifts: readonly Shift[]; readonly firing: readonly string[] }
  | { readonly outcome: 'refused'; readonly reason: string };

const PREVIOUS = /previous version (\d+)/;

/** What a promoted alias's description says: the version a rollback returns to. */
export function describePrevious(version: string, at: Date): string {
  return `previous version ${version} (promoted ${at.toISOString()})`;
}

/** The version a rollback returns to, from an alias's description; undefined when none is recorded. */
export function previousVersionOf(description: string): string | undefined {
  return PREVIOUS.exec(description)?.[1];
}

function newest(versions: readonly string[]): string | undefined {
  return versions.length === 0 ? undefined : String(Math.max(...versions.map(Number)));
}

export async function rollout(lambda: AliasControl, watch: AlarmWatch, options: RolloutOptions): Promise<RolloutResult> {
  const { stepPercent, log } = options;
  if (!(Number.isInteger(stepPercent) && stepPercent >= 1 && stepPercent <= 100)) {
    return { outcome: 'refused', reason: `the step must be a whole percentage from 1 to 100, got ${stepPercent}` };
  }
  if (options.alarms.length === 0) return { outcome: 'refused', reason: 'no alarms to watch: the plan has no page alarms' };
  const shifts: Shift[] = [];
  const revisions = new Map<string, string>();
  for (const functionName of options.functions) {
    const alias = await lambda.getAlias(functionName);
    if (Object.keys(alias.additionalVersionWeights).length > 0) {
      return {
        outcome: 'refused',
        reason: `${functionName}: its alias already routes ${JSON.stringify(alias.additionalVersionWeights)} to another version (an interrupted rollout?); run npm run rollback first`,
      };
    }
    const latest = newest(await lambda.listVersions(functionName));
    if (latest === undefined || latest === alias.functionVersion) continue;
    shifts.push({ functionName, from: alias.functionVersion, to: latest });
    revisions.set(functionName, alias.revisionId);
  }
  if (shifts.length === 0) return { outcome: 'nothing-to-deploy' };
  // A canary judged during an incident proves nothing: start only from a quiet stage.
  const alreadyFiring = await watch.firing(options.alarms);
  if (alreadyFiring.length > 0) {
    return { outcome: 'refused', reason: `page alarms already in ALARM before the rollout: ${alreadyFiring.join(', ')}` };
  }

  const weight = stepPercent / 100;
  for (const { functionName, from, to } of shifts) {
    await lambda.updateAlias(functionName, { functionVersion: from, additionalVersionWeights: { [to]: weight }, revisionId: revisions.get(functionName) });
    log(`${functionName}: ${stepPercent}% to version ${to}, the rest on ${from}`);
  }
  const firing = await bake(watch, options);
  if (firing.length > 0) {
    for (const { functionName, from, to } of shifts) {
      await lambda.updateAlias(functionName, { functionVersion: from, additionalVersionWeights: {} });
      log(`${functionName}: rolled back to version ${from} (version ${to} took ${stepPercent}% while ${firing.join(', ')} fired)`);
    }
    return { outcome: 'rolled-back', shifts, firing };
  }
  const promotedAt = new Date(options.now());
  for (const { functionName, from, to } of shifts) {
    await lambda.updateAlias(functionName, { functionVersion: to, additionalVersionWeights: {}, description: describePrevious(from, promotedAt) });
    log(`${functionName}: version ${to} takes 100% (previous version ${from})`);
  }
  return { outcome: 'promoted', shifts };
}

/**
 * Polls the alarms until the bake time is over; returns those found in ALARM (empty: it baked clean). Alarms
 * that cannot be read fail the bake too: a canary nobody watches must not be promoted.
 */
async function bake(watch: AlarmWatch, options: RolloutOptions): Promise<string[]> {
  const until = options.now() + options.bakeMs;
  for (;;) {
    let firing: string[];
    try {
      firing = await watch.firing(options.alarms);
    } catch (error) {
      return [`the alarms could not be read (${(error as Error).message})`];
    }
    if (firing.length > 0) return firing;
    const left = until - options.now();
    if (left <= 0) return [];
    await options.sleep(Math.min(options.pollMs, left));
  }
}

export type RollbackStep =
  | { readonly functionName: string; readonly action: 'weight-removed'; readonly version: string; readonly removed: string }
  | { readonly functionName: string; readonly action: 'returned'; readonly from: string; readonly to: string }
  | { readonly functionName: string; readonly action: 'unchanged'; readonly reason: string };

/**
 * `npm run rollback`: every alias back to its previous version. An alias still routing weight to a new version
 * (a rollout under way or interrupted) loses the weight; a promoted one returns to the version its description
 * records, and then records none, so a second rollback does not undo the first.
 */
export async function rollback(lambda: AliasControl, functions: readonly string[], log: (line: string) => void): Promise<RollbackStep[]> {
  const steps: RollbackStep[] = [];
  for (const functionName of functions) {
    const alias = await lambda.getAlias(functionName);
    const weighted = Object.keys(alias.additionalVersionWeights);
    if (weighted.length > 0) {
      await lambda.updateAlias(functionName, { functionVersion: alias.functionVersion, additionalVersionWeights: {}, revisionId: alias.revisionId });
      steps.push({ functionName, action: 'weight-removed', version: alias.functionVersion, removed: weighted.join(', ') });
      log(`${functionName}: every invocation back on version ${alias.functionVersion} (weight to ${weighted.join(', ')} removed)`);
      continue;
    }
    const previous = previousVersionOf(alias.description);
    if (previous === undefined || previous === alias.functionVersion) {
      steps.push({ functionName, action: 'unchanged', reason: `no previous version recorded; stays on ${alias.functionVersion}` });
      log(`${functionName}: no previous version recorded; stays on ${alias.functionVersion}`);
      continue;
    }
    await lambda.updateAlias(functionName, {
      functionVersion: previous,
      additionalVersionWeights: {},
      description: `rolled back from version ${alias.functionVersion}`,
      revisionId: alias.revisionId,
    });
    steps.push({ functionName, action: 'returned', from: alias.functionVersion, to: previous });
    log(`${functionName}: back on version ${previous} (from ${alias.functionVersion})`);
  }
  return steps;
}
