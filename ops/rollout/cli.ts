/**
 * `npm run rollout -- --stage <stage> [--step-percent 10] [--bake-minutes 10] [--poll-seconds 15]`: moves every
 * function whose newest version is not yet live to it gradually, watching the stage's page alarms (rollout.ts);
 * exits 1 when it rolled back or refused.
 * `npm run rollback -- --stage <stage>`: every `live` alias back to its previous version.
 * Both read the stage's synthesized plan (cdktf.out/stacks/wschat-<stage>, or --stack-dir) and use the AWS SDK's
 * usual credentials; against the local stack, set AWS_ENDPOINT_URL_LAMBDA and AWS_ENDPOINT_URL_CLOUDWATCH to the
 * endpoints `npm start` prints.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { STAGE_NAMES, type StageName } from '../../infra/config/stages.ts';
import { synthesizedStackDir } from '../../local/paths.ts';
import { CloudWatchAlarms } from './cloudwatch-alarms.ts';
import { LambdaAliases } from './lambda-aliases.ts';
import { rollback, rollout } from './rollout.ts';
import { readRolloutTargets } from './stage-plan.ts';

const USAGE = `usage: npm run rollout -- --stage <${STAGE_NAMES.join('|')}> [--step-percent 10] [--bake-minutes 10] [--poll-seconds 15]
       npm run rollback -- --stage <${STAGE_NAMES.join('|')}>
  (either: [--stack-dir <synthesized stack directory>])`;

const [command, ...args] = process.argv.slice(2);
const { values } = parseArgs({
  args,
  options: {
    stage: { type: 'string' },
    'stack-dir': { type: 'string' },
    'step-percent': { type: 'string', default: '10' },
    'bake-minutes': { type: 'string', default: '10' },
    'poll-seconds': { type: 'string', default: '15' },
  },
});
const stage = values.stage as StageName | undefined;
const stepPercent = Number(values['step-percent']);
const bakeMinutes = Number(values['bake-minutes']);
const pollSeconds = Number(values['poll-seconds']);
if (
  (command !== 'rollout' && command !== 'rollback') ||
  !stage ||
  !STAGE_NAMES.includes(stage) ||
  !(bakeMinutes > 0) ||
  !(pollSeconds > 0)
) {
  console.error(USAGE);
  process.exit(2);
}
const targets = readRolloutTargets(values['stack-dir'] ?? synthesizedStackDir(stage));
const region = process.env.AWS_REGION ?? targets.region;
const aliases = new LambdaAliases(new LambdaClient({ region }));
const log = (line: string) => console.log(line);

if (command === 'rollback') {
  const steps = await rollback(aliases, targets.functions, log);
  const moved = steps.filter((s) => s.action !== 'unchanged').length;
  console.log(`rollback: ${moved} of ${steps.length} aliases moved`);
} else {
  const result = await rollout(aliases, new CloudWatchAlarms(region), {
    functions: targets.functions,
    alarms: targets.alarms,
    stepPercent,
    bakeMs: bakeMinutes * 60_000,
    pollMs: pollSeconds * 1000,
    sleep: (ms) => sleep(ms),
    now: Date.now,
    log,
  });
  switch (result.outcome) {
    case 'nothing-to-deploy':
      console.log('rollout: every alias already runs its newest version');
      break;
    case 'promoted':
      console.log(`rollout: promoted ${result.shifts.length} functions`);
      break;
    case 'rolled-back':
      console.error(`rollout: ROLLED BACK ${result.shifts.length} functions because of: ${result.firing.join(', ')}`);
      process.exitCode = 1;
      break;
    case 'refused':
      console.error(`rollout: refused: ${result.reason}`);
      process.exitCode = 1;
      break;
  }
}
