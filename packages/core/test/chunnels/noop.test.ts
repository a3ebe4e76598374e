import { describe, expect, it } from 'vitest';
import { noop, type Conn } from '@bertha/core';
import { memPair, recvN } from './pair.js';

async function stackNoops(conn: Conn<Uint8Array>, n: number): Promise<Conn<Uint8Array>> {
  let c = conn;
  for (let i = 0; i < n; i++) c = await noop().connectWrap(c, { role: 'client' });
  return c;
}

describe('noop()', () => {
  it('has no capabilities', () => {
    expect(noop().name).toBe('noop');
    expect(noop().capabilities()).toEqual([]);
  });

  it('forwards sends, receives, iteration and close through five layers', async () => {
    const pair = await memPair();
    const a = await stackNoops(pair.client, 5);
    const b = await stackNoops(pair.server, 5);
    await a.send(Uint8Array.from([1]));
    await a.sendBatch([Uint8Array.from([2]), Uint8Array.from([3])]);
    expect((await recvN(b, 3)).map((m) => m[0])).toEqual([1, 2, 3]);

    await a.send(Uint8Array.from([4]));
    await a.close();
    expect(a.closed).toBe(true);
    expect(pair.client.closed).toBe(true);
    const rest: number[] = [];
    for await (const m of b) rest.push(m[0]!);
    expect(rest).toEqual([4]);
    await pair.close();
  });
});
