/**
 * The gateway's per-frame 32 KB check reads frame headers from raw socket chunks with numbers only (no header
 * buffer per connection): every length form, masks, headers and payloads split anywhere across chunks.
 * test/fidelity/gateway-limits.test.ts checks the same limit end to end through real sockets.
 */
import { describe, expect, it } from 'vitest';
import { FrameSizeGuard } from '../../local/gateway/limits.ts';

const LIMIT = 32 * 1024;

/** A client frame (masked, as clients must send) with a zero payload of `length` bytes, or only its header. */
function frame(length: number, { payload = true, masked = true } = {}): Buffer {
  const lengthBytes = length < 126 ? [length] : length <= 0xffff ? [126, length >> 8, length & 0xff] : [127, ...bigEndian64(length)];
  const header = Buffer.from([0x82, ((masked ? 0x80 : 0) | (lengthBytes[0] as number)), ...lengthBytes.slice(1), ...(masked ? [1, 2, 3, 4] : [])]);
  return payload ? Buffer.concat([header, Buffer.alloc(length)]) : header;
}

function bigEndian64(n: number): number[] {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return [...b];
}

/** Feeds the bytes in chunks of `size`; the index of the chunk that tripped the guard, or -1. */
function feed(guard: FrameSizeGuard, bytes: Buffer, size: number): number {
  for (let i = 0, chunk = 0; i < bytes.length; i += size, chunk++) if (guard.push(bytes.subarray(i, i + size))) return chunk;
  return -1;
}

describe('FrameSizeGuard', () => {
  for (const size of [1, 3, 7, 1000, 1 << 20]) {
    it(`passes frames up to the limit in every length form, read ${size} byte(s) at a time`, () => {
      const guard = new FrameSizeGuard(LIMIT);
      const frames = Buffer.concat([frame(0), frame(125), frame(126), frame(LIMIT), frame(5, { masked: false }), frame(0)]);
      expect(feed(guard, frames, size)).toBe(-1);
      expect(guard.exceeded).toBe(false);
    });

    it(`trips on the first frame over the limit, 16- or 64-bit length, after good ones, read ${size} byte(s) at a time`, () => {
      for (const over of [frame(LIMIT + 1, { payload: false }), frame(2 ** 40, { payload: false })]) {
        const guard = new FrameSizeGuard(LIMIT);
        const good = Buffer.concat([frame(10), frame(LIMIT)]);
        const tripped = feed(guard, Buffer.concat([good, over]), size);
        // The chunk holding the too-big header's last byte.
        expect(tripped).toBe(Math.floor((good.length + over.length - 1) / size));
        expect(guard.exceeded).toBe(true);
        // Once tripped, it reports nothing more.
        expect(guard.push(frame(LIMIT + 1, { payload: false }))).toBe(false);
      }
    });
  }

  it('reads a 64-bit length whose high bytes are set as over the limit', () => {
    const guard = new FrameSizeGuard(LIMIT);
    expect(guard.push(Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]))).toBe(true);
  });
});
