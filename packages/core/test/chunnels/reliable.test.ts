import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConnClosedError, reliable, TimeoutError, twoSided } from '@bertha/core';
import { bytes, memPair, recvN, settle, wrapBoth } from './pair.js';

/** Frames written by hand from the wire format in reliable.ts. */
function dataFrame(seq: number, ...payload: number[]): Uint8Array {
  const f = new Uint8Array(5 + payload.length);
  const v = new DataView(f.buffer);
  v.setUint8(0, 1);
  v.setUint32(1, seq);
  f.set(payload, 5);
  return f;
}

function ackFrame(cum: number, ...ranges: number[]): Uint8Array {
  return ackFrameWnd(cum, 4096, ...ranges);
}

function ackFrameWnd(cum: number, wnd: number, ...ranges: number[]): Uint8Array {
  const f = new Uint8Array(10 + ranges.length * 4);
  const v = new DataView(f.buffer);
  v.setUint8(0, 2);
  v.setUint32(1, cum);
  v.setUint32(5, wnd);
  v.setUint8(9, ranges.length / 2);
  ranges.forEach((r, i) => v.setUint32(10 + i * 4, r));
  return f;
}

const fast = { minRtoMs: 5, initialRtoMs: 20, ackDelayMs: 1 };
const n = (m: Uint8Array): number => new DataView(m.buffer, m.byteOffset, m.byteLength).getUint32(0);
const msg = (i: number): Uint8Array => {
  const m = new Uint8Array(4);
  new DataView(m.buffer).setUint32(0, i);
  return m;
};

afterEach(() => {
  vi.useRealTimers();
});

describe('reliable()', () => {
  it('declares the acked reliability capability', () => {
    expect(reliable().name).toBe('reliable');
    expect(reliable().capabilities()).toEqual([twoSided('reliability', 'acked')]);
  });

  it('delivers every message exactly once both ways over loss, duplication and reordering', async () => {
    const pair = await memPair({ seed: 7, loss: 0.2, duplicate: 0.2, reorder: 0.2 });
    const [a, b] = await wrapBoth(reliable({ ...fast, window: 32 }), pair.client, pair.server);
    const count = 300;
    const sending = Promise.all([
      a.sendBatch(Array.from({ length: count }, (_, i) => msg(i))),
      b.sendBatch(Array.from({ length: count }, (_, i) => msg(i + 1000))),
    ]);
    const [atB, atA] = await Promise.all([recvN(b, count), recvN(a, count)]);
    await sending;
    expect(atB.map(n).sort((x, y) => x - y)).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(atA.map(n).sort((x, y) => x - y)).toEqual(Array.from({ length: count }, (_, i) => i + 1000));
    expect(a.reliableStats.retransmits).toBeGreaterThan(0);
    expect(b.reliableStats.duplicates).toBeGreaterThan(0);
    expect(a.reliableStats.srttMs).toBeDefined();
    // Nothing more arrives: duplicates were suppressed.
    expect(b.stats.received).toBe(count);
    await Promise.all([a.close(), b.close()]);
    await pair.close();
  });

  it('makes sends wait while the window is full, until acks open it', async () => {
    const pair = await memPair();
    const a = await reliable({ window: 4 }).connectWrap(pair.client, { role: 'client' });
    await a.sendBatch([msg(0), msg(1), msg(2), msg(3)]);
    let fifthSent = false;
    const fifth = a.send(msg(4)).then(() => {
      fifthSent = true;
    });
    await settle();
    expect(fifthSent).toBe(false);
    // Selective ack of 1..3 leaves seq 0 in flight, so the window still spans 0..4.
    await pair.server.send(ackFrame(0, 1, 4));
    await settle();
    expect(fifthSent).toBe(false);
    await pair.server.send(ackFrame(4));
    await fifth;
    expect((await recvN(pair.server, 5)).map((f) => f[0])).toEqual([1, 1, 1, 1, 1]);
    await pair.server.send(ackFrame(5));
    await a.close();
    await pair.close();
  });

  it('acknowledges cumulatively and selectively, suppressing duplicates', async () => {
    const pair = await memPair();
    const b = await reliable({ ackEvery: 1 }).connectWrap(pair.server, { role: 'server' });
    await pair.client.sendBatch([dataFrame(0, 10), dataFrame(2, 12), dataFrame(3, 13), dataFrame(2, 12)]);
    expect((await recvN(b, 3)).map((m) => m[0])).toEqual([10, 12, 13]);
    await settle();
    const acks = pair.client.recvBatch(10);
    const last = (await acks).at(-1)!;
    // cum 1 (seq 0 received), one SACK range [2, 4); the window less what waited unread when it was sent.
    const wnd = new DataView(last.buffer, last.byteOffset).getUint32(5);
    expect(wnd).toBeGreaterThanOrEqual(4093);
    expect([...last]).toEqual([...ackFrameWnd(1, wnd, 2, 4)]);
    expect(b.reliableStats.duplicates).toBe(1);
    await b.close();
    await pair.close();
  });

  it('drops and counts malformed frames and acks for data never sent', async () => {
    const pair = await memPair();
    const b = await reliable().connectWrap(pair.server, { role: 'server' });
    await pair.client.sendBatch([bytes(), bytes(0), bytes(4), bytes(1, 0, 0), bytes(2, 0, 0, 0, 0, 5), bytes(2, 0, 0, 0, 0, 0, 9), ackFrame(9)]);
    await pair.client.send(dataFrame(0, 42));
    expect([...(await b.recv())]).toEqual([42]);
    expect(b.stats.dropped).toBe(7);
    await b.close();
    await pair.close();
  });

  it('gives up with TimeoutError after maxRetransmits, rejecting waiting sends and closing', async () => {
    const pair = await memPair();
    const a = await reliable({ window: 1, minRtoMs: 1, initialRtoMs: 1, maxRetransmits: 2 }).connectWrap(pair.client, { role: 'client' });
    await a.send(msg(0));
    const waiting = a.send(msg(1));
    await expect(waiting).rejects.toBeInstanceOf(TimeoutError);
    await expect(a.recv()).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
    expect(a.closed).toBe(true);
    expect(pair.client.closed).toBe(true);
    await expect(a.send(msg(2))).rejects.toBeInstanceOf(TimeoutError);
    // The peer saw the first transmission, two tail-loss probes and a resend at each of the two timeouts.
    expect((await pair.server.recvBatch(10)).length).toBe(5);
    await pair.close();
  });

  it('ends when the connection below closes', async () => {
    const pair = await memPair();
    const b = await reliable().connectWrap(pair.server, { role: 'server' });
    await pair.client.close();
    await expect(b.recv()).rejects.toBeInstanceOf(ConnClosedError);
    await pair.close();
  });

  it('close() waits for in-flight messages to be acked, then stops every timer', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const pair = await memPair();
    const [a, b] = await wrapBoth(reliable(), pair.client, pair.server);
    await a.sendBatch([msg(1), msg(2), msg(3)]);
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    const closing = a.close();
    await vi.advanceTimersByTimeAsync(50);
    await closing;
    expect(a.reliableStats.retransmits).toBe(0);
    expect((await recvN(b, 3)).map(n)).toEqual([1, 2, 3]);
    await b.close();
    expect(vi.getTimerCount()).toBe(0);
    await pair.close();
  });

  it('close() with a silent peer lingers at most lingerMs and leaves no timer', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const pair = await memPair();
    const a = await reliable({ lingerMs: 100 }).connectWrap(pair.client, { role: 'client' });
    await a.send(msg(1));
    const closing = a.close();
    await vi.advanceTimersByTimeAsync(100);
    await closing;
    expect(vi.getTimerCount()).toBe(0);
    await pair.close();
  });

  it('rejects a message that cannot fit the connection below', async () => {
    const pair = await memPair({ maxMessageSize: 100 });
    const a = await reliable().connectWrap(pair.client, { role: 'client' });
    expect(a.maxMessageSize).toBe(95);
    await expect(a.send(new Uint8Array(96))).rejects.toMatchObject({ code: 'ERR_MESSAGE_TOO_LARGE' });
    await a.close();
    await pair.close();
  });
});
