/**
 * `npm run token -- <user> [--ttl <seconds>]`: prints a development JWT for <user> as the last line of stdout.
 * The running local stack (any port) accepts it: both use the key under .local/.
 */
import { parseArgs } from 'node:util';
import { USER_ID_PATTERN } from '../functions/domain/protocol.ts';
import { loadDevIdp } from './idp.ts';
import { STATE_DIR } from './paths.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { ttl: { type: 'string', default: '3600' } },
});

const user = positionals[0];
const ttlSeconds = Number(values.ttl);
if (!user) {
  console.error('usage: npm run token -- <user> [--ttl <seconds>]');
  process.exit(2);
}
if (!USER_ID_PATTERN.test(user)) {
  console.error(`error: user "${user}" must match ${USER_ID_PATTERN.source}`);
  process.exit(2);
}
if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
  console.error(`error: --ttl must be a positive whole number of seconds, got "${values.ttl}"`);
  process.exit(2);
}
const idp = await loadDevIdp(STATE_DIR);
console.log(await idp.mint(user, { ttlSeconds }));
