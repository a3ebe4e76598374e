import { describe, expect, it } from 'vitest';
import { ordered, reliable, serialize, type Conn } from '@bertha/core';
import { memPair, recvN } from './pair.js';

interface Msg {
  from: string;
  i: number;
}

/** app -> serialize -> ordered -> reliable -> base, wrapped bottom-up. */
async function stack(base: Conn<Uint8Array>, role: 'client' | 'server'): Promise<Conn<Msg>> {
  const r = await reliable({ minRtoMs: 5, initialRtoMs: 20, ackDelayMs: 1 }).connectWrap(base, { role });
  const o = await ordered().connectWrap(r, { role });
  return serialize<Msg>().connectWrap(o, { role });
}

describe('ordered() over reliable() over a faulty in-memory network', () => {
  it('delivers 2,000 messages each way exactly once and in order at 10% loss, 10% duplication and reordering', async () => {
    const pair = await memPair({ seed: 2024, loss: 0.1, duplicate: 0.1, reorder: 0.1, jitterMs: 1 });
    const [a, b] = await Promise.all([stack(pair.client, 'client'), stack(pair.server, 'server')]);
    const count = 2000;
    const batch = (from: string, start: number): Msg[] => Array.from({ length: 100 }, (_, j) => ({ from, i: start + j }));
    const send = async (conn: Conn<Msg>, from: string): Promise<void> => {
      for (let i = 0; i < count; i += 100) await conn.sendBatch(batch(from, i));
    };
    const [, , atB, atA] = await Promise.all([send(a, 'a'), send(b, 'b'), recvN(b, count), recvN(a, count)]);
    expect(atB).toEqual(Array.from({ length: count }, (_, i) => ({ from: 'a', i })));
    expect(atA).toEqual(Array.from({ length: count }, (_, i) => ({ from: 'b', i })));
    const { lost, duplicated, reordered } = pair.network.stats;
    expect(lost).toBeGreaterThan(100);
    expect(duplicated).toBeGreaterThan(100);
    expect(reordered).toBeGreaterThan(100);
    await Promise.all([a.close(), b.close()]);
    await pair.close();
  });
});
