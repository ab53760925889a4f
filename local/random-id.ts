/** Random ids for requests, connections and traces, minted many times per message. */
import { randomBytes } from 'node:crypto';

/**
 * Bytes are drawn from a pool refilled 4 KiB at a time, as crypto.randomUUID does: a system call per id cost more
 * than everything else about the id.
 */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let offset = 0;

/** `bytes` random bytes, encoded. */
export function randomId(bytes: number, encoding: 'hex' | 'base64'): string {
  if (offset + bytes > pool.length) {
    pool = randomBytes(POOL_BYTES);
    offset = 0;
  }
  const id = pool.toString(encoding, offset, offset + bytes);
  offset += bytes;
  return id;
}
