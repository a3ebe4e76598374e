import { describe, expect, it } from 'vitest';
import { makeStack, mem, memNetwork, select, twoSided } from '@bertha/core';
import { confirmed, connect, listen, memoryPickCache, negotiated } from '@bertha/negotiate';
import { echo, layer, recvWithin, text } from './helpers.js';

const enc = (label: string) => twoSided('encryption', label);
const stack = makeStack(text(), select(layer('plain', [enc('none')]), layer('tls', [enc('tls')]), { prefer: 'second' }));
const fast = { retransmit: { initialMs: 10, maxMs: 80 }, timeoutMs: 10_000 };

describe('negotiation on a faulty network', () => {
  it('completes 1-RTT and 0-RTT through 10% loss, duplication and reordering (seeded)', async () => {
    const net = memNetwork({ seed: 42, loss: 0.1, duplicate: 0.1, reorder: 0.1 });
    const t = mem(net);
    const server = await listen(stack, t, { name: 'lossy' }, fast);
    const cache = memoryPickCache();
    const conns = await Promise.all(Array.from({ length: 100 }, () => connect(stack, t, server.address, { ...fast, cache })));
    const zero = await Promise.all(Array.from({ length: 100 }, () => connect(stack, t, server.address, { ...fast, cache, zeroRtt: true })));
    await Promise.all(zero.map((c) => confirmed(c)));
    expect(net.stats.lost).toBeGreaterThan(0);
    expect(net.stats.duplicated).toBeGreaterThan(0);
    expect(net.stats.reordered).toBeGreaterThan(0);
    for (const c of conns) expect(negotiated(c)!.stack).toEqual(['text', 'tls']);
    for (const c of zero) expect(negotiated(c)).toMatchObject({ mode: '0-rtt', stack: ['text', 'tls'] });
    // Every client got exactly one server connection, whatever the duplicates.
    await expect.poll(() => server.stats.oneRtt + server.stats.zeroRtt).toBe(200);
    expect(server.stats).toMatchObject({ oneRtt: 100, zeroRtt: 100, malformed: 0 });

    net.setFaults({});
    void echo(server);
    const all = [...conns, ...zero];
    await Promise.all(all.map(async (c, i) => {
      await c.send(`m${i}`);
      expect(await recvWithin(c)).toBe(`m${i}`);
    }));
    await Promise.all(all.map((c) => c.close()));
    await server.close();
  });

  it('keeps server data that overtakes the pick', async () => {
    // Every message is held back until the next one passes it: the server's data overtakes its reply.
    const net = memNetwork({ seed: 7, reorder: 1 });
    const t = mem(net);
    const server = await listen(stack, t, { name: 'eager-server' });
    const accepting = server.accept().then(async (conn) => {
      await conn.send('first');
      await conn.send('second');
      return conn;
    });
    const conn = await connect(stack, t, server.address, { cache: memoryPickCache() });
    const got = [await recvWithin(conn), await recvWithin(conn)];
    expect(got.sort()).toEqual(['first', 'second']);
    expect(net.stats.reordered).toBeGreaterThan(0);
    await (await accepting).close();
    await conn.close();
    await server.close();
  });

  it('keeps 0-RTT data that overtakes "use this pick", and data that overtakes the ack', async () => {
    const net = memNetwork({ seed: 3 });
    const t = mem(net);
    const server = await listen(stack, t, { name: 'early-data' });
    const cache = memoryPickCache();
    await (await connect(stack, t, server.address, { cache })).close();
    await server.accept();
    net.setFaults({ reorder: 1 });
    const conn = await connect(stack, t, server.address, { cache, zeroRtt: true });
    await conn.send('early');
    const accepted = await server.accept();
    expect(await recvWithin(accepted)).toBe('early');
    await accepted.send('reply');
    expect(await recvWithin(conn)).toBe('reply');
    await confirmed(conn);
    expect(net.stats.reordered).toBeGreaterThan(0);
    await conn.close();
    await server.close();
  });
});
