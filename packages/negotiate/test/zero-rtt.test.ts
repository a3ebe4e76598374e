import { describe, expect, it } from 'vitest';
import { ConnClosedError, makeStack, mem, memNetwork, select, twoSided } from '@bertha/core';
import { confirmed, connect, listen, memoryPickCache, negotiated } from '@bertha/negotiate';
import { echo, layer, recvWithin, text } from './helpers.js';

const enc = (label: string) => twoSided('encryption', label);
const stack = makeStack(text(), select(layer('plain', [enc('none')]), layer('tls', [enc('tls')])));

describe('0-RTT on a datagram transport', () => {
  it('costs no extra datagram: "use this pick" rides with the first data, the echo stands for the ack', async () => {
    const net = memNetwork();
    const t = mem(net);
    const server = await listen(stack, t, { name: 'lean' });
    void echo(server);
    const cache = memoryPickCache();
    await (await connect(stack, t, server.address, { cache })).close();
    const before = net.stats.delivered;
    const conn = await connect(stack, t, server.address, { cache, zeroRtt: true });
    await conn.send('ping');
    expect(await recvWithin(conn)).toBe('ping');
    await confirmed(conn);
    expect(net.stats.delivered - before).toBe(2);
    await conn.close();
    await server.close();
  });

  it('is confirmed by the echo before the application receives it: closing right away keeps it confirmed', async () => {
    const t = mem(memNetwork());
    const server = await listen(stack, t, { name: 'prompt' });
    void echo(server);
    const cache = memoryPickCache();
    await (await connect(stack, t, server.address, { cache })).close();
    for (let i = 0; i < 5; i++) {
      const conn = await connect(stack, t, server.address, { cache, zeroRtt: true });
      await conn.send(`ping ${i}`);
      expect(await recvWithin(conn)).toBe(`ping ${i}`);
      await conn.close();
      expect((await confirmed(conn)).mode).toBe('0-rtt');
    }
    await server.close();
  });

  it('sends "use this pick" alone, and gets an ack, when the application sends nothing', async () => {
    const t = mem(memNetwork());
    const server = await listen(stack, t, { name: 'quiet' });
    const cache = memoryPickCache();
    await (await connect(stack, t, server.address, { cache })).close();
    await server.accept();
    const conn = await connect(stack, t, server.address, { cache, zeroRtt: true });
    expect((await confirmed(conn)).mode).toBe('0-rtt');
    const accepted = await server.accept();
    expect(negotiated(accepted)!.mode).toBe('0-rtt');
    await accepted.send('hello');
    expect(await recvWithin(conn)).toBe('hello');
    await conn.close();
    await server.close();
  });

  it('sends "use this pick" alone when the first data comes after an event-loop turn; a reply after a turn comes with an ack', async () => {
    const net = memNetwork();
    const t = mem(net);
    const server = await listen(stack, t, { name: 'slow' });
    const cache = memoryPickCache();
    await (await connect(stack, t, server.address, { cache })).close();
    await server.accept();
    const before = net.stats.delivered;
    const conn = await connect(stack, t, server.address, { cache, zeroRtt: true });
    await new Promise((r) => setImmediate(r));
    await conn.send('late');
    const accepted = await server.accept();
    expect(await recvWithin(accepted)).toBe('late');
    await new Promise((r) => setImmediate(r));
    await accepted.send('later');
    expect(await recvWithin(conn)).toBe('later');
    expect((await confirmed(conn)).mode).toBe('0-rtt');
    // `use` alone, the data, the ack alone, the reply: nothing rode with anything.
    expect(net.stats.delivered - before).toBe(4);
    await conn.close();
    await server.close();
  });

  it('negotiates over a base listener that cannot divert its connections (accepted one by one)', async () => {
    const t = mem(memNetwork());
    // The same transport, its listeners without `divert`.
    const plain: typeof t = {
      ...t,
      listen: async (addr, opts) => {
        const l = await t.listen(addr, opts);
        return { address: l.address, stats: l.stats, accept: (o) => l.accept(o), close: () => l.close(), [Symbol.asyncIterator]: () => l[Symbol.asyncIterator]() };
      },
    };
    const server = await listen(stack, plain, { name: 'one-by-one' });
    void echo(server);
    const cache = memoryPickCache();
    await (await connect(stack, t, server.address, { cache })).close();
    for (let i = 0; i < 3; i++) {
      const conn = await connect(stack, t, server.address, { cache, zeroRtt: true });
      await conn.send(`ping ${i}`);
      expect(await recvWithin(conn)).toBe(`ping ${i}`);
      expect((await confirmed(conn)).mode).toBe('0-rtt');
      await conn.close();
    }
    expect(server.stats).toMatchObject({ oneRtt: 1, zeroRtt: 3 });
    await server.close();
  });

  it('closed before the server confirmed: waiting and later calls reject with ConnClosedError', async () => {
    const t = mem(memNetwork());
    const server = await listen(stack, t, { name: 'hasty' });
    const cache = memoryPickCache();
    await (await connect(stack, t, server.address, { cache })).close();
    const conn = await connect(stack, t, server.address, { cache, zeroRtt: true });
    // No turn of the event loop yet: "use this pick" has not gone out.
    const waiting = conn.recv();
    await conn.close();
    await expect(waiting).rejects.toBeInstanceOf(ConnClosedError);
    await expect(conn.recv()).rejects.toBeInstanceOf(ConnClosedError);
    await expect(conn.recvBatch(4)).rejects.toBeInstanceOf(ConnClosedError);
    await expect(conn.send('late')).rejects.toBeInstanceOf(ConnClosedError);
    await expect(confirmed(conn)).rejects.toThrow('connection closed before the server confirmed its stack');
    await server.close();
  });

  it('holds sends beyond maxUnconfirmed until the server confirms, and replays the rest after a rejection', async () => {
    const net = memNetwork();
    const t = mem(net);
    const cache = memoryPickCache();
    const before = await listen(stack, t, { name: 'moving' });
    await (await connect(stack, t, before.address, { cache })).close();
    await before.close();
    // The new server only runs tls and answers late, so the client sends into the unknown for a while.
    net.setFaults({ delayMs: 100 });
    const after = await listen(makeStack(text(), layer('tls', [enc('tls')])), t, { name: 'moving' });
    const conn = await connect(stack, t, after.address, { cache, zeroRtt: true, maxUnconfirmed: 2 });
    const sends = ['a', 'b', 'c', 'd'].map((m) => conn.send(m));
    let settled = 0;
    for (const s of sends) void s.then(() => settled++);
    await Promise.all(sends.slice(0, 2));
    await new Promise((r) => setImmediate(r));
    // No verdict can be back before 200 ms: the third send waits for it.
    expect(settled).toBe(2);
    await Promise.all(sends);
    const accepted = await after.accept();
    const got: string[] = [];
    for (let i = 0; i < 4; i++) got.push(await recvWithin(accepted));
    expect(got).toEqual(['a', 'b', 'c', 'd']);
    expect(negotiated(conn)).toMatchObject({ stack: ['text', 'tls'], rejections: 1 });
    await conn.close();
    await after.close();
  });
});
