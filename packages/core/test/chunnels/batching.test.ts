import { afterEach, describe, expect, it, vi } from 'vitest';
import { AbortError, batching, ConnClosedError } from '@bertha/core';
import { RecordingConn } from './pair.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('batching()', () => {
  it('is named batching and not negotiated', () => {
    expect(batching().name).toBe('batching');
    expect(batching().capabilities()).toEqual([]);
  });

  it('coalesces sends into calls of at most maxBatch, in order', async () => {
    const inner = new RecordingConn<number>();
    const c = batching<number>({ maxBatch: 10, maxDelayMs: 5 });
    const conn = await c.connectWrap(inner, { role: 'client' });
    await Promise.all(Array.from({ length: 25 }, (_, i) => conn.send(i)));
    expect(inner.calls.map((b) => b.length)).toEqual([10, 10, 5]);
    expect(inner.calls.flat()).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(conn.batchStats).toEqual({ calls: 3, messages: 25 });
    expect(c.stats).toEqual({ calls: 3, messages: 25 });
    await conn.close();
  });

  it('sends a lone message when maxDelayMs passes', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const inner = new RecordingConn<string>();
    const conn = await batching<string>({ maxDelayMs: 20 }).connectWrap(inner, { role: 'client' });
    let sent = false;
    const p = conn.send('x').then(() => {
      sent = true;
    });
    await vi.advanceTimersByTimeAsync(19);
    expect(sent).toBe(false);
    expect(inner.calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await p;
    expect(inner.calls).toEqual([['x']]);
    await conn.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('passes sendBatch through, split by maxBatch, after the single sends waiting before it', async () => {
    const inner = new RecordingConn<number>();
    const conn = await batching<number>({ maxBatch: 4, maxDelayMs: 1000 }).connectWrap(inner, { role: 'client' });
    const single = conn.send(-1);
    await conn.sendBatch(Array.from({ length: 9 }, (_, i) => i));
    await single;
    expect(inner.calls).toEqual([[-1], [0, 1, 2, 3], [4, 5, 6, 7], [8]]);
    expect(conn.batchStats.calls).toBe(4);
    await conn.close();
  });

  it('rejects every send of a batch whose call failed', async () => {
    const inner = new RecordingConn<number>();
    const conn = await batching<number>({ maxBatch: 3 }).connectWrap(inner, { role: 'client' });
    inner.failWith = new Error('queue unavailable');
    const results = await Promise.allSettled([conn.send(1), conn.send(2), conn.send(3)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : ''))).toEqual(Array(3).fill('queue unavailable'));
    await conn.close();
  });

  it('leaves an aborted send out of its batch', async () => {
    const inner = new RecordingConn<number>();
    const conn = await batching<number>({ maxDelayMs: 5 }).connectWrap(inner, { role: 'client' });
    const ac = new AbortController();
    const aborted = conn.send(1, { signal: ac.signal });
    const kept = conn.send(2);
    ac.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortError);
    await kept;
    expect(inner.calls).toEqual([[2]]);
    await conn.close();
  });

  it('close() flushes waiting sends first, then refuses new ones', async () => {
    const inner = new RecordingConn<number>();
    const conn = await batching<number>({ maxDelayMs: 60_000 }).connectWrap(inner, { role: 'client' });
    const pending = conn.send(7);
    await conn.close();
    await pending;
    expect(inner.calls).toEqual([[7]]);
    expect(inner.closed).toBe(true);
    await expect(conn.send(8)).rejects.toBeInstanceOf(ConnClosedError);
  });

  it('passes received messages through', async () => {
    const inner = new RecordingConn<number>();
    const conn = await batching<number>().connectWrap(inner, { role: 'client' });
    inner.arrive(1, 2, 3);
    expect(await conn.recv()).toBe(1);
    expect(await conn.recvBatch(5)).toEqual([2, 3]);
    expect(conn.stats.received).toBe(3);
    await conn.close();
  });
});
