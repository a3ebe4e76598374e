import { describe, expect, it } from 'vitest';
import { atMostOnce, twoSided } from '@bertha/core';
import { bytes, memPair, recvN, settle, wrapBoth } from './pair.js';

/** A frame written by hand from the wire format in at-most-once.ts. */
function frame(sender: number, seq: number, ...payload: number[]): Uint8Array {
  const f = new Uint8Array(10 + payload.length);
  const v = new DataView(f.buffer);
  v.setUint16(0, Math.floor(sender / 2 ** 32));
  v.setUint32(2, sender % 2 ** 32);
  v.setUint32(6, seq);
  f.set(payload, 10);
  return f;
}

describe('atMostOnce()', () => {
  it('declares the at-most-once delivery capability', () => {
    expect(atMostOnce().name).toBe('at-most-once');
    expect(atMostOnce().capabilities()).toEqual([twoSided('delivery', 'at-most-once')]);
  });

  it('delivers each message once over a duplicating, reordering link', async () => {
    const pair = await memPair({ seed: 11, duplicate: 0.5, reorder: 0.3 });
    const [a, b] = await wrapBoth(atMostOnce(), pair.client, pair.server);
    const count = 400;
    await a.sendBatch(Array.from({ length: count }, (_, i) => Uint8Array.from([i % 256, i >> 8])));
    const got = (await recvN(b, count)).map((m) => m[0]! + (m[1]! << 8));
    expect(got.sort((x, y) => x - y)).toEqual(Array.from({ length: count }, (_, i) => i));
    // Once the close reaches b, every duplicate in flight has arrived too.
    await a.close();
    await expect(b.recv()).rejects.toMatchObject({ code: 'ERR_CONN_CLOSED' });
    expect(b.dedupStats.duplicates).toBe(pair.network.stats.duplicated);
    await pair.close();
  });

  it('tells senders apart by their id', async () => {
    const pair = await memPair();
    const b = await atMostOnce().connectWrap(pair.server, { role: 'server' });
    const big = 2 ** 40 + 5;
    await pair.client.sendBatch([frame(1, 0, 1), frame(big, 0, 2), frame(1, 0, 1), frame(big, 0, 2)]);
    expect((await recvN(b, 2)).map((m) => m[0])).toEqual([1, 2]);
    await settle();
    expect(b.dedupStats.duplicates).toBe(2);
    await pair.close();
  });

  it('forgets what is older than the window, so memory stays bounded', async () => {
    let now = 0;
    const pair = await memPair();
    const b = await atMostOnce({ windowMs: 1000, now: () => now }).connectWrap(pair.server, { role: 'server' });
    await pair.client.sendBatch([frame(1, 0, 0), frame(1, 1, 1), frame(2, 0, 7)]);
    await recvN(b, 3);
    expect(b.dedupStats.remembered).toBe(3);
    now = 500;
    await pair.client.send(frame(1, 2, 2));
    await recvN(b, 1);
    expect(b.dedupStats.remembered).toBe(4);
    now = 1200;
    // The three older pairs expire; sender 1 keeps a floor, so its old seq 1 stays a duplicate.
    await pair.client.sendBatch([frame(1, 1, 1), frame(1, 3, 3)]);
    expect((await recvN(b, 1)).map((m) => m[0])).toEqual([3]);
    expect(b.dedupStats.remembered).toBe(2);
    expect(b.dedupStats.duplicates).toBe(1);
    await pair.close();
  });

  it('caps remembered pairs at maxEntries without ever delivering a duplicate', async () => {
    const pair = await memPair();
    const b = await atMostOnce({ maxEntries: 2 }).connectWrap(pair.server, { role: 'server' });
    await pair.client.sendBatch([frame(1, 0, 0), frame(1, 1, 1), frame(1, 2, 2), frame(1, 3, 3)]);
    await recvN(b, 4);
    expect(b.dedupStats.remembered).toBe(2);
    await pair.client.sendBatch([frame(1, 0, 0), frame(1, 3, 3), frame(1, 4, 4)]);
    expect((await recvN(b, 1)).map((m) => m[0])).toEqual([4]);
    expect(b.dedupStats.duplicates).toBe(2);
    await pair.close();
  });

  it('drops and counts frames too short for the header', async () => {
    const pair = await memPair();
    const b = await atMostOnce().connectWrap(pair.server, { role: 'server' });
    await pair.client.sendBatch([bytes(), bytes(1, 2, 3), frame(1, 0).subarray(0, 9), frame(1, 0, 5)]);
    expect([...(await b.recv())]).toEqual([5]);
    expect(b.stats.dropped).toBe(3);
    await pair.close();
  });
});
