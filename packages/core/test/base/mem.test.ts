import { describe, expect, it } from 'vitest';
import { ConnClosedError, InvalidArgumentError, mem, memNetwork, type BaseConn, type MemAddress } from '@bertha/core';

async function pair(net = memNetwork()): Promise<{ client: BaseConn<MemAddress>; server: BaseConn<MemAddress>; close: () => Promise<void> }> {
  const t = mem(net);
  const listener = await t.listen({ name: 'srv' });
  const client = await t.connect({ name: 'srv' });
  const server = await listener.accept();
  return { client, server, close: () => listener.close() };
}

function msg(i: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, i);
  return b;
}

function num(m: Uint8Array): number {
  return new DataView(m.buffer, m.byteOffset, m.byteLength).getUint32(0);
}

async function drain(conn: BaseConn<MemAddress>): Promise<number[]> {
  const out: number[] = [];
  // A short wait lets delayed and held-back messages arrive; the network only uses timers when faults say so.
  await new Promise((r) => setTimeout(r, 30));
  for (;;) {
    const ready = await Promise.race([conn.recvBatch(1024), new Promise<null>((r) => setTimeout(() => r(null), 20))]);
    if (ready === null) return out;
    out.push(...ready.map(num));
  }
}

describe('mem network faults', () => {
  it('loses messages at the configured rate, deterministically for a seed', async () => {
    const run = async (): Promise<number[]> => {
      const net = memNetwork({ seed: 42, loss: 0.2 });
      const { client, server, close } = await pair(net);
      await client.sendBatch(Array.from({ length: 5000 }, (_, i) => msg(i)));
      const got = server.recvBatch(10_000);
      expect(net.stats.lost + net.stats.delivered).toBe(5000);
      const received = (await got).map(num);
      await close();
      return received;
    };
    const a = await run();
    const b = await run();
    expect(a).toEqual(b);
    const lossRate = 1 - a.length / 5000;
    expect(lossRate).toBeGreaterThan(0.17);
    expect(lossRate).toBeLessThan(0.23);
  });

  it('different seeds lose different messages', async () => {
    const lostSet = async (seed: number): Promise<string> => {
      const net = memNetwork({ seed, loss: 0.5 });
      const { client, server, close } = await pair(net);
      await client.sendBatch(Array.from({ length: 64 }, (_, i) => msg(i)));
      const got = (await server.recvBatch(100)).map(num).join(',');
      await close();
      return got;
    };
    expect(await lostSet(1)).not.toBe(await lostSet(2));
  });

  it('duplicates messages at the configured rate', async () => {
    const net = memNetwork({ seed: 7, duplicate: 0.1 });
    const { client, server, close } = await pair(net);
    await client.sendBatch(Array.from({ length: 2000 }, (_, i) => msg(i)));
    const got = (await server.recvBatch(10_000)).map(num);
    expect(got.length).toBe(2000 + net.stats.duplicated);
    expect(net.stats.duplicated).toBeGreaterThan(150);
    expect(net.stats.duplicated).toBeLessThan(250);
    expect(new Set(got).size).toBe(2000);
    await close();
  });

  it('reorders messages without losing any', async () => {
    const net = memNetwork({ seed: 3, reorder: 0.1 });
    const { client, server, close } = await pair(net);
    await client.sendBatch(Array.from({ length: 1000 }, (_, i) => msg(i)));
    const got = await drain(server);
    expect(got.length).toBe(1000);
    expect([...got].sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(got).not.toEqual([...got].sort((x, y) => x - y));
    const inversions = got.filter((v, i) => i > 0 && v < got[i - 1]!).length;
    expect(inversions).toBe(net.stats.reordered);
    await close();
  });

  it('delays messages when asked, and delivers them all', async () => {
    const net = memNetwork({ seed: 5, delayMs: 5, jitterMs: 5 });
    const { client, server, close } = await pair(net);
    await client.sendBatch([msg(1), msg(2), msg(3)]);
    expect(net.stats.delivered).toBe(0);
    const got: number[] = [];
    while (got.length < 3) got.push(...(await server.recvBatch(10)).map(num));
    expect(got.sort()).toEqual([1, 2, 3]);
    await close();
  });

  it('setFaults changes the faults of later messages', async () => {
    const net = memNetwork({ seed: 9, loss: 1 });
    const { client, server, close } = await pair(net);
    await client.send(msg(1));
    net.setFaults({});
    await client.send(msg(2));
    expect((await server.recv()).length).toBe(4);
    expect(net.stats).toEqual({ delivered: 1, lost: 1, duplicated: 0, reordered: 0 });
    await close();
  });

  it('tells the peer about a close only after the messages in flight arrived', async () => {
    const net = memNetwork({ delayMs: 5 });
    const { client, server, close } = await pair(net);
    await client.send(msg(9));
    await client.close();
    expect(num(await server.recv())).toBe(9);
    await expect(server.recv()).rejects.toBeInstanceOf(ConnClosedError);
    await close();
  });

  it('rejects faults out of range', () => {
    expect(() => memNetwork({ loss: 1.5 })).toThrow(InvalidArgumentError);
    expect(() => memNetwork().setFaults({ delayMs: -1 })).toThrow(InvalidArgumentError);
  });

  it('names the missing listener and the taken name in its errors', async () => {
    const t = mem(memNetwork());
    await expect(t.connect({ name: 'nobody' })).rejects.toThrow(/no listener at mem:nobody/);
    const l = await t.listen({ name: 'svc' });
    await expect(t.listen({ name: 'svc' })).rejects.toMatchObject({ code: 'ERR_ADDRESS', message: expect.stringContaining('mem:svc') });
    await l.close();
  });

  it('names a listener when asked with an empty name', async () => {
    const t = mem(memNetwork());
    const a = await t.listen({ name: '' });
    const b = await t.listen({ name: '' });
    expect(a.address.name).not.toBe(b.address.name);
    expect(t.format(a.address)).toBe(`mem:${a.address.name}`);
    await Promise.all([a.close(), b.close()]);
  });
});
