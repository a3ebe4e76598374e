import { afterEach, describe, expect, it, vi } from 'vitest';
import { ordered, twoSided } from '@bertha/core';
import { bytes, memPair, recvN, settle, wrapBoth } from './pair.js';

/** A frame written by hand from the wire format in ordered.ts. */
function frame(sender: number, seq: number, group: string | undefined, ...payload: number[]): Uint8Array {
  const g = group === undefined ? undefined : new TextEncoder().encode(group);
  const off = 9 + (g === undefined ? 0 : 2 + g.length);
  const f = new Uint8Array(off + payload.length);
  const v = new DataView(f.buffer);
  v.setUint8(0, g === undefined ? 0 : 1);
  v.setUint32(1, sender);
  v.setUint32(5, seq);
  if (g !== undefined) {
    v.setUint16(9, g.length);
    f.set(g, 11);
  }
  f.set(payload, off);
  return f;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('ordered()', () => {
  it('declares the ordering capability', () => {
    expect(ordered().name).toBe('ordered');
    expect(ordered().capabilities()).toEqual([twoSided('ordering', 'ordered')]);
  });

  it('delivers in send order over a reordering, duplicating link', async () => {
    const pair = await memPair({ seed: 3, reorder: 0.3, duplicate: 0.1, jitterMs: 2 });
    const [a, b] = await wrapBoth(ordered(), pair.client, pair.server);
    const count = 500;
    for (let i = 0; i < count; i += 50) await a.sendBatch(Array.from({ length: 50 }, (_, j) => Uint8Array.from([(i + j) % 256, (i + j) >> 8])));
    const got = await recvN(b, count);
    expect(got.map((m) => m[0]! + (m[1]! << 8))).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(pair.network.stats.reordered).toBeGreaterThan(0);
    // Once the close reaches b, every duplicate in flight has arrived too.
    await a.close();
    await expect(b.recv()).rejects.toMatchObject({ code: 'ERR_CONN_CLOSED' });
    expect(b.orderStats.late).toBe(pair.network.stats.duplicated);
    await pair.close();
  });

  it('orders each group on its own, so a gap in one group does not hold back another', async () => {
    const pair = await memPair();
    const b = await ordered().connectWrap(pair.server, { role: 'server' });
    await pair.client.sendBatch([frame(1, 1, 'a', 11), frame(1, 0, 'b', 20), frame(1, 1, 'b', 21)]);
    expect((await recvN(b, 2)).map((m) => m[0])).toEqual([20, 21]);
    await pair.client.send(frame(1, 0, 'a', 10));
    expect((await recvN(b, 2)).map((m) => m[0])).toEqual([10, 11]);
    await pair.close();
  });

  it('keeps senders apart: each sender has its own sequence', async () => {
    const pair = await memPair();
    const b = await ordered().connectWrap(pair.server, { role: 'server' });
    await pair.client.sendBatch([frame(1, 0, undefined, 1), frame(2, 0, undefined, 2), frame(2, 1, undefined, 3)]);
    expect((await recvN(b, 3)).map((m) => m[0])).toEqual([1, 2, 3]);
    await pair.close();
  });

  it('tags groups chosen by the group function on the sending side', async () => {
    const pair = await memPair();
    const a = await ordered({ group: (m) => (m[0]! < 100 ? 'low' : undefined) }).connectWrap(pair.client, { role: 'client' });
    await a.sendBatch([bytes(1), bytes(200), bytes(2)]);
    const frames = await recvN(pair.server, 3);
    const view = (f: Uint8Array): DataView => new DataView(f.buffer, f.byteOffset, f.byteLength);
    expect(frames.map((f) => [f[0], view(f).getUint32(5)])).toEqual([
      [1, 0],
      [0, 0],
      [1, 1],
    ]);
    expect(new TextDecoder().decode(frames[0]!.subarray(11, 14))).toBe('low');
    await pair.close();
  });

  it('skips a gap once more than maxBuffered messages wait, and drops the late one', async () => {
    const pair = await memPair();
    const b = await ordered({ gapThreshold: { maxBuffered: 2 } }).connectWrap(pair.server, { role: 'server' });
    await pair.client.sendBatch([frame(5, 1, undefined, 1), frame(5, 2, undefined, 2)]);
    await settle();
    expect(b.orderStats.buffered).toBe(2);
    await pair.client.sendBatch([frame(5, 3, undefined, 3), frame(5, 0, undefined, 0), frame(5, 4, undefined, 4)]);
    expect((await recvN(b, 4)).map((m) => m[0])).toEqual([1, 2, 3, 4]);
    expect(b.orderStats).toEqual({ skipped: 1, late: 1, buffered: 0 });
    await pair.close();
  });

  it('skips a gap after maxWaitMs', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const pair = await memPair();
    const b = await ordered({ gapThreshold: { maxWaitMs: 50 } }).connectWrap(pair.server, { role: 'server' });
    await pair.client.sendBatch([frame(5, 2, undefined, 2), frame(5, 4, undefined, 4)]);
    const first = b.recvBatch(10);
    await vi.advanceTimersByTimeAsync(50);
    expect((await first).map((m) => m[0])).toEqual([2]);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(50);
    expect((await b.recvBatch(10)).map((m) => m[0])).toEqual([4]);
    expect(b.orderStats.skipped).toBe(3);
    expect(vi.getTimerCount()).toBe(0);
    await pair.close();
  });

  it('close() clears gap timers', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const pair = await memPair();
    const b = await ordered({ gapThreshold: { maxWaitMs: 1000 } }).connectWrap(pair.server, { role: 'server' });
    await pair.client.send(frame(5, 3, undefined, 3));
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(1);
    await b.close();
    expect(vi.getTimerCount()).toBe(0);
    await pair.close();
  });

  it('drops and counts malformed frames', async () => {
    const pair = await memPair();
    const b = await ordered().connectWrap(pair.server, { role: 'server' });
    const truncatedGroup = frame(1, 0, 'abc', 9).subarray(0, 12);
    const badUtf8 = frame(1, 0, 'a', 9);
    badUtf8[11] = 0xff;
    const badFlags = frame(1, 0, undefined, 9);
    badFlags[0] = 4;
    await pair.client.sendBatch([bytes(), bytes(0, 0, 0), truncatedGroup, badUtf8, badFlags, frame(1, 0, undefined, 9)]);
    expect([...(await b.recv())]).toEqual([9]);
    expect(b.stats.dropped).toBe(5);
    await pair.close();
  });
});
