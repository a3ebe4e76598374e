import { describe, expect, it } from 'vitest';
import { decodeKey, keyFirstLayout, rawKey, shardOf, type KeyLayout } from '@bertha/chunnels-shard';
import { keyFirstEncoder, randomRequests, type Req } from './random-requests.js';

const encoder = keyFirstEncoder;

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('keyFirst layout', () => {
  it('puts the key at the derived offset in every message the real encoder writes', async () => {
    const layout = keyFirstLayout('key');
    const encode = await encoder('key');
    // msgpackr's map16 header (3 bytes), fixstr 'key' (4 bytes), the key's fixstr header: the key starts at byte 8.
    expect(layout.offset).toBe(8);
    for (const r of randomRequests(5000, 1)) {
      const bytes = encode(r);
      const key = utf8(r.key);
      expect(bytes[layout.offset - 1]).toBe(0xa0 | key.length);
      expect([...bytes.subarray(layout.offset, layout.offset + key.length)]).toEqual([...key]);
    }
  });

  it('writes the key first even when the application built the object in another order', async () => {
    const encode = await encoder('key');
    const shuffled = { id: 1, op: 'get', key: 'abcd' } as unknown as Req;
    const reader = rawKey(keyFirstLayout('key'));
    expect(reader.shard(encode(shuffled), 6)).toBe(shardOf('abcd', 6));
  });

  it('refuses keys that would not sit at the fixed offset', async () => {
    const encode = await encoder('key');
    expect(() => encode({ key: 'x'.repeat(32), op: 'get', id: 1 })).toThrow(/at most 31/);
  });

  it('derives a different layout for another key field', () => {
    const a = keyFirstLayout('key');
    const b = keyFirstLayout('k');
    expect(b.offset).toBe(6);
    expect(a.id).not.toBe(b.id);
  });
});

describe('raw key reader', () => {
  it('chooses the same shard as the deserializing reader on 100,000 random requests', async () => {
    const encode = await encoder('key');
    const raw = rawKey(keyFirstLayout('key'));
    const decoding = decodeKey('key');
    let differ = 0;
    for (const r of randomRequests(100_000, 2)) {
      const bytes = encode(r);
      const expected = shardOf(r.key, 6);
      if (raw.shard(bytes, 6) !== expected || decoding.shard(bytes, 6) !== expected) differ++;
    }
    expect(differ).toBe(0);
  });

  it('would catch an offset off by one in either direction', async () => {
    const encode = await encoder('key');
    const right = keyFirstLayout('key');
    const shifted = (d: number): KeyLayout => ({ ...right, offset: right.offset + d, prefix: d > 0 ? Uint8Array.of(...right.prefix, 0) : right.prefix.subarray(0, -1) });
    for (const d of [-1, 1]) {
      const wrong = rawKey(shifted(d));
      let differ = 0;
      for (const r of randomRequests(2000, 3)) if (wrong.shard(encode(r), 6) !== shardOf(r.key, 6)) differ++;
      expect(differ).toBeGreaterThan(1000);
    }
  });

  it('refuses messages of another layout instead of misrouting them', async () => {
    const raw = rawKey(keyFirstLayout('key'));
    const other = await encoder('k');
    expect(raw.shard(other({ k: 'abcd', op: 'get', id: 1 } as unknown as Req), 6)).toBe(-1);
    for (const garbage of [new Uint8Array(0), Uint8Array.of(0x80), Uint8Array.of(0xc1, 1, 2, 3, 4, 5, 6, 7), Uint8Array.of(0xde, 0, 1, 0xa3, 107, 101, 121, 0xbf, 1)]) {
      expect(raw.shard(garbage, 6)).toBe(-1);
    }
  });

  it('the deserializing reader finds string and byte keys and refuses the rest', () => {
    const d = decodeKey('key');
    expect(d.shard(Uint8Array.of(0xc1), 6)).toBe(-1);
    expect(d.shard(Uint8Array.of(0x2a), 6)).toBe(-1);
  });
});
