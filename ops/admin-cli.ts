/**
 * `npm run admin -- <command> [flags]` (or `npx tsx ops/admin-cli.ts ...`): operator commands for a stage.
 *
 *   disconnect --user <user> [--stage <stage>] [--connections-endpoint <url>]
 *     closes every open connection of the user (DELETE @connections).
 *   erase-user --user <user> [--stage <stage>] [--connections-endpoint <url>] [--attachments-bucket <name>]
 *     closes the user's connections, then deletes their messages, attached files, memberships, presence, roles,
 *     connection records and slots (a data-subject request: docs/operations.md#erasing-a-user-data-subject-requests).
 *
 * The endpoint is the stage's `connections_endpoint` output (else WSCHAT_CONNECTIONS_ENDPOINT), the bucket its
 * `attachments_bucket` output (else WSCHAT_ATTACHMENTS_BUCKET). It runs with the AWS SDK's usual credentials and
 * Region, which need the stage's operator policy (wschat-<stage>-operator). Against the local stack:
 * AWS_ACCESS_KEY_ID=LOCALOPERATOR, AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_S3 set to the endpoints
 * `npm start` prints, and --connections-endpoint http://127.0.0.1:<port>/<stage>.
 * Flags are checked before anything runs; a mistake exits with 2 and says what is wrong.
 */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { parseArgs } from 'node:util';
import { TABLE_KEYS, type TableKey } from '../functions/catalog/tables.ts';
import { USER_ID_PATTERN } from '../functions/domain/protocol-rules.ts';
import { STAGE_NAMES, STAGES, resourceName } from '../infra/config/stages.ts';
import { disconnectUser } from './disconnect-user.ts';
import { eraseUser } from './erase-user.ts';

const USAGE = [
  'usage: npm run admin -- disconnect --user <user> [--stage <stage>] [--connections-endpoint <url>]',
  '       npm run admin -- erase-user --user <user> [--stage <stage>] [--connections-endpoint <url>] [--attachments-bucket <name>]',
].join('\n');

interface CommonFlags {
  readonly user: string;
  readonly stage: string;
  readonly tables: Readonly<Record<TableKey, string>>;
  readonly connectionsEndpoint: string;
}

type AdminCommand = ({ readonly command: 'disconnect' } & CommonFlags) | ({ readonly command: 'erase-user'; readonly attachmentsBucket: string } & CommonFlags);

/** An S3 bucket name (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html). */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** The command the arguments ask for; throws an Error saying what is wrong with them. */
function parseAdminArgs(args: readonly string[], env: NodeJS.ProcessEnv): AdminCommand {
  const [command, ...rest] = args;
  if (command !== 'disconnect' && command !== 'erase-user') {
    throw new Error(command === undefined ? 'no command given' : `unknown command "${command}"`);
  }
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      user: { type: 'string' },
      stage: { type: 'string', default: 'dev' },
      'connections-endpoint': { type: 'string' },
      ...(command === 'erase-user' ? { 'attachments-bucket': { type: 'string' as const } } : {}),
    },
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
  const config = STAGES[stage as keyof typeof STAGES];
  const tables = Object.fromEntries(TABLE_KEYS.map((key) => [key, resourceName(config, key)])) as Record<TableKey, string>;
  const common = { user, stage, tables, connectionsEndpoint };
  if (command === 'disconnect') return { command, ...common };
  const attachmentsBucket = (values as { 'attachments-bucket'?: string })['attachments-bucket'] ?? env.WSCHAT_ATTACHMENTS_BUCKET;
  if (!attachmentsBucket) throw new Error('--attachments-bucket (or WSCHAT_ATTACHMENTS_BUCKET) is required: terraform output attachments_bucket');
  if (!BUCKET_NAME.test(attachmentsBucket)) throw new Error(`--attachments-bucket must be an S3 bucket name, got "${attachmentsBucket}"`);
  return { command, ...common, attachmentsBucket };
}

let parsed: AdminCommand;
try {
  parsed = parseAdminArgs(process.argv.slice(2), process.env);
} catch (error) {
  console.error(`${(error as Error).message}\n${USAGE}`);
  process.exit(2);
}
const dynamodb = new DynamoDBClient({});
const connections = new ApiGatewayManagementApiClient({ endpoint: parsed.connectionsEndpoint });
// Path-style, as the local stack's S3 needs; AWS serves path-style requests too.
const s3 = new S3Client({ forcePathStyle: true });
try {
  if (parsed.command === 'disconnect') {
    const outcome = await disconnectUser({ dynamodb, connections, slotsTable: parsed.tables.slots, user: parsed.user });
    console.log(`${parsed.stage}: closed ${outcome.closed.length} connection(s) of ${parsed.user}` + (outcome.alreadyGone.length ? `; ${outcome.alreadyGone.length} already gone` : ''));
  } else {
    const erased = await eraseUser({ dynamodb, connections, s3, tables: parsed.tables, attachmentsBucket: parsed.attachmentsBucket, user: parsed.user });
    console.log(
      `${parsed.stage}: erased ${parsed.user}: ${erased.messages} message(s), ${erased.attachments} attachment(s), ` +
        `${erased.memberships} membership(s), ${erased.presence} presence item(s), ${erased.roles} role(s), ` +
        `${erased.connectionRecords} connection record(s), ${erased.slots} slot(s); closed ${erased.connectionsClosed} connection(s)`,
    );
  }
} finally {
  dynamodb.destroy();
  connections.destroy();
  s3.destroy();
}
