/**
 * `npm run admin -- <command> [flags]` (or `npx tsx ops/admin-cli.ts ...`): operator commands for a stage.
 *
 *   disconnect --user <user> [--stage <stage>] [--connections-endpoint <url>]
 *     closes every open connection of the user (DELETE @connections). The endpoint is the stage's
 *     `connections_endpoint` output; without the flag it is read from WSCHAT_CONNECTIONS_ENDPOINT.
 *
 * It runs with the AWS SDK's usual credentials and Region, which need the stage's operator policy
 * (wschat-<stage>-operator). Against the local stack: AWS_ACCESS_KEY_ID=LOCALOPERATOR, AWS_ENDPOINT_URL_DYNAMODB
 * set to the functions' DynamoDB endpoint `npm start` prints, and --connections-endpoint http://127.0.0.1:<port>/<stage>.
 * Flags are checked before anything runs; a mistake exits with 2 and says what is wrong.
 */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { parseArgs } from 'node:util';
import { USER_ID_PATTERN } from '../functions/domain/protocol-rules.ts';
import { STAGE_NAMES, STAGES, resourceName } from '../infra/config/stages.ts';
import { disconnectUser } from './disconnect-user.ts';

const USAGE = 'usage: npm run admin -- disconnect --user <user> [--stage <stage>] [--connections-endpoint <url>]';

interface DisconnectCommand {
  readonly command: 'disconnect';
  readonly user: string;
  readonly stage: string;
  readonly slotsTable: string;
  readonly connectionsEndpoint: string;
}

/** The command the arguments ask for; throws an Error saying what is wrong with them. */
function parseAdminArgs(args: readonly string[], env: NodeJS.ProcessEnv): DisconnectCommand {
  const [command, ...rest] = args;
  if (command !== 'disconnect') throw new Error(command === undefined ? 'no command given' : `unknown command "${command}"`);
  const { values, positionals } = parseArgs({
    args: rest,
    options: { user: { type: 'string' }, stage: { type: 'string', default: 'dev' }, 'connections-endpoint': { type: 'string' } },
    allowPositionals: true,
  });
  if (positionals.length > 0) throw new Error(`unexpected argument "${positionals[0]}"`);
  const { user, stage } = values;
  if (user === undefined) throw new Error('--user is required');
  if (!USER_ID_PATTERN.test(user)) throw new Error(`--user must match ${USER_ID_PATTERN.source}`);
  if (!(STAGE_NAMES as readonly string[]).includes(stage)) throw new Error(`--stage must be one of: ${STAGE_NAMES.join(', ')}`);
  const connectionsEndpoint = values['connections-endpoint'] ?? env.WSCHAT_CONNECTIONS_ENDPOINT;
  if (!connectionsEndpoint) throw new Error('--connections-endpoint (or WSCHAT_CONNECTIONS_ENDPOINT) is required: terraform output connections_endpoint');
  if (!URL.canParse(connectionsEndpoint) || !/^https?:$/.test(new URL(connectionsEndpoint).protocol)) {
    throw new Error(`--connections-endpoint must be an http(s) URL, got "${connectionsEndpoint}"`);
  }
  const slotsTable = resourceName(STAGES[stage as keyof typeof STAGES], 'slots');
  return { command, user, stage, slotsTable, connectionsEndpoint };
}

let parsed: DisconnectCommand;
try {
  parsed = parseAdminArgs(process.argv.slice(2), process.env);
} catch (error) {
  console.error(`${(error as Error).message}\n${USAGE}`);
  process.exit(2);
}
const dynamodb = new DynamoDBClient({});
const connections = new ApiGatewayManagementApiClient({ endpoint: parsed.connectionsEndpoint });
try {
  const outcome = await disconnectUser({ dynamodb, connections, slotsTable: parsed.slotsTable, user: parsed.user });
  console.log(`${parsed.stage}: closed ${outcome.closed.length} connection(s) of ${parsed.user}` + (outcome.alreadyGone.length ? `; ${outcome.alreadyGone.length} already gone` : ''));
} finally {
  dynamodb.destroy();
  connections.destroy();
}
