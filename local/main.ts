/**
 * `npm start`: synthesizes the stacks, then runs the chosen stage's plan on this machine.
 *   --stage <name>             stage to run (default dev)
 *   --port <n>                 gateway port (default $PORT or 8080)
 *   --no-synth                 run the existing cdktf.out as it is (without it, synthesis runs only when its inputs changed)
 *   --dynamodb-endpoint <url>  use this DynamoDB endpoint instead of embedded dynalite
 *   --time-scale <n>           compress alarm periods and connection limits n times (drills, demos)
 *   --data-dir <dir>           keep DynamoDB data in <dir> across restarts (default: in memory)
 *   --cdktf-out <dir>          read the synthesized stacks from <dir> (default cdktf.out)
 *   --state-dir <dir>          extracted bundles and the development signing key (default .local)
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SERVICE, STAGES, type StageName } from '../infra/config/stages.ts';
import { OPERATOR_ACCESS_KEY_ID } from './iam.ts';
import { LOCAL_SECRET_ACCESS_KEY } from './lambda/service-environment.ts';
import { formatLogLine } from './log-format.ts';
import { REPO_ROOT, STATE_DIR, synthesizedStackDir } from './paths.ts';
import { startLocalStack } from './stack.ts';
import { synthesizeIfChanged } from './synth.ts';

const { values } = parseArgs({
  options: {
    stage: { type: 'string', default: 'dev' },
    port: { type: 'string', default: process.env.PORT ?? '8080' },
    'no-synth': { type: 'boolean', default: false },
    'dynamodb-endpoint': { type: 'string' },
    'time-scale': { type: 'string', default: '1' },
    'data-dir': { type: 'string' },
    'cdktf-out': { type: 'string' },
    'state-dir': { type: 'string', default: STATE_DIR },
  },
});

function fail(message: string): never {
  console.error(`error: ${message}`);
  process.exit(2);
}

const stage = values.stage as StageName;
if (!(stage in STAGES)) fail(`unknown stage "${values.stage}"; stages: ${Object.keys(STAGES).join(', ')}`);
// The local runtime is the identity provider of stages that trust an external issuer; a Cognito stage's tokens
// come from a user pool that does not exist here.
if (STAGES[stage].identityProvider !== 'external') {
  fail(`stage "${stage}" trusts ${STAGES[stage].identityProvider} tokens, which the local stack cannot issue; run a stage with an external issuer (dev)`);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be a port number, got "${values.port}"`);
const timeScale = Number(values['time-scale']);
if (!(timeScale >= 1)) fail(`--time-scale must be a number >= 1, got "${values['time-scale']}"`);

if (!values['no-synth']) {
  const outcome = synthesizeIfChanged({
    outdir: values['cdktf-out'],
    beforeSynthesis: () => console.log('synthesizing the stacks (cdktf) ...'),
  });
  if (outcome === 'current') console.log('the synthesized plan is current: nothing it is made from changed since the last synthesis');
}

const stackDir = synthesizedStackDir(stage, values['cdktf-out']);
const stack = await startLocalStack({
  stackDir,
  port,
  stateDir: values['state-dir'],
  dataDir: values['data-dir'],
  dynamoEndpoint: values['dynamodb-endpoint'],
  timeScale,
  // The canary runs every minute (compressed by the time scale), as on a deployed stage.
  runSchedules: true,
  log: (source, line) => console.log(formatLogLine(source, line)),
  onAlarm: (alarm) => {
    // The first evaluation moves every alarm out of INSUFFICIENT_DATA; only real transitions are news.
    if (alarm.history.length > 1 || alarm.state === 'ALARM') console.log(formatLogLine('alarms', `${alarm.state.padEnd(5)} ${alarm.name}: ${alarm.reason}`));
  },
}).catch((error: NodeJS.ErrnoException) => {
  if (error.code === 'EADDRINUSE') fail(`port ${port} is in use; pass --port <n> or set PORT`);
  fail(error.message);
});

/** The workers must run the plan's Node major, or local behaviour (and the SDK's support) differs from Lambda's. */
function runtimeMismatch(runtime: { plan: readonly string[]; local: string }): string {
  const localMajor = runtime.local.replace(/^v/, '').split('.')[0];
  const foreign = runtime.plan.filter((name) => name !== `nodejs${localMajor}.x`);
  return foreign.length === 0 ? '' : `\n  WARNING    the plan runs ${foreign.join(', ')} but this is Node ${runtime.local}: run through npm (npm start), which uses the Node of the "node" dev dependency`;
}

/** erase-user's bucket flag: the plan's attachment bucket, found by its name's prefix. */
function attachmentsBucketFlag(buckets: readonly { readonly name: string }[]): string {
  const bucket = buckets.find((b) => b.name.startsWith(`${SERVICE}-${stack.stage}-attachments-`));
  return bucket ? ` [--attachments-bucket ${bucket.name}]` : '';
}

console.log(`
running the synthesized plan ${path.relative(REPO_ROOT, stackDir)}
  functions  ${stack.functions.length} (plan runtime ${stack.nodeRuntime.plan.join(', ')}; local workers on Node ${stack.nodeRuntime.local})${runtimeMismatch(stack.nodeRuntime)}
  tables     ${stack.tables.length} on ${values['dynamodb-endpoint'] ? '' : 'embedded dynalite '}${stack.dynamoEndpoint}
  chat page  http://127.0.0.1:${stack.port}/ (pick a user; tokens from GET /_local/token?user=<user>, local only)
  dashboard  http://127.0.0.1:${stack.port}/_dashboard (alarms, metrics, logs, traces; periods compressed ${timeScale}x)
  faults     curl -X POST http://127.0.0.1:${stack.port}/_local/faults -H 'content-type: application/json' -d '{"kind":"function-crash","functionName":"wschat-dev-ping"}'
  tokens     npm run token -- <user>
  connect    wscat -c "${stack.url}?token=$(npm run -s token -- alice)"
  admin      AWS_ACCESS_KEY_ID=${OPERATOR_ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY=${LOCAL_SECRET_ACCESS_KEY} AWS_REGION=${stack.region} AWS_ENDPOINT_URL_DYNAMODB=${stack.functionsDynamoEndpoint} AWS_ENDPOINT_URL_S3=${stack.s3Endpoint} npm run admin -- <command> --user <user> --connections-endpoint http://127.0.0.1:${stack.port}/${stack.stage}${attachmentsBucketFlag(stack.buckets)}
  rollout    AWS_ACCESS_KEY_ID=${OPERATOR_ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY=${LOCAL_SECRET_ACCESS_KEY} AWS_REGION=${stack.region} AWS_ENDPOINT_URL_LAMBDA=${stack.lambdaEndpoint} AWS_ENDPOINT_URL_CLOUDWATCH=${stack.cloudWatchEndpoint} npm run rollout -- --stage ${stack.stage} --bake-minutes 1 --poll-seconds 1 (or npm run rollback -- --stage ${stack.stage})
${stack.url}`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: closing connections and stopping ...`);
    stack.close().then(
      () => process.exit(0),
      (error: Error) => {
        console.error(`shutdown failed: ${error.message}`);
        process.exit(1);
      },
    );
  });
}
