import { describe, expect, it } from 'vitest';
import { makeStack, select, twoSided, udp, type BaseConn, type SocketAddress, type Transport } from '@bertha/core';
import { NegotiationError, connect, listen, memoryPickCache, type NegotiatedListener } from '@bertha/negotiate';
import { MAGIC } from '../src/wire.js';
import { layer, recvWithin, text } from './helpers.js';

const enc = (label: string) => twoSided('encryption', label);
const stack = makeStack(text(), select(layer('plain', [enc('none')]), layer('tls', [enc('tls')])));
const here = { host: '127.0.0.1', port: 0 };
/** Kind number of `close` on the wire (README, "Wire format"). */
const CLOSE = 10;

/** Echoes on every connection; counts the connections whose reads ended (the peer closed, or went idle). */
function serve(server: NegotiatedListener<string, unknown>): { ended: number } {
  const counts = { ended: 0 };
  void (async () => {
    for await (const conn of server) {
      void (async () => {
        try {
          for await (const m of conn) await conn.send(m);
        } catch {
          // Ended with an error instead: counted the same.
        }
        counts.ended++;
      })();
    }
  })();
  return counts;
}

/** `t`, keeping every base connection it opens. */
function recording(t: Transport<SocketAddress>): { transport: Transport<SocketAddress>; bases: BaseConn<SocketAddress>[] } {
  const bases: BaseConn<SocketAddress>[] = [];
  const transport: Transport<SocketAddress> = {
    ...t,
    connect: async (addr, opts) => {
      const c = await t.connect(addr, opts);
      bases.push(c);
      return c;
    },
  };
  return { transport, bases };
}

/** Runs `f(i)` for i in [0, n), `width` at a time. */
async function inBatches(n: number, width: number, f: (i: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < n; i += width) await Promise.all(Array.from({ length: Math.min(width, n - i) }, (_, k) => f(i + k)));
}

describe('datagram connections end', () => {
  it('1,000 clients connect, exchange and close: the server sees every close, and no connection stays open', async () => {
    const t = udp();
    const server = await listen(stack, t, here, { idleTimeoutMs: Infinity });
    const counts = serve(server);
    const cache = memoryPickCache();
    await inBatches(1000, 50, async (i) => {
      const conn = await connect(stack, t, server.address, { cache, zeroRtt: i % 2 === 1 });
      await conn.send(`hello ${i}`);
      expect(await recvWithin(conn, 10_000)).toBe(`hello ${i}`);
      await conn.close();
    });
    expect(server.stats.oneRtt + server.stats.zeroRtt).toBe(1000);
    await expect.poll(() => server.stats.open, { timeout: 20_000 }).toBe(0);
    await expect.poll(() => counts.ended, { timeout: 20_000 }).toBe(1000);
    expect(server.stats.idle).toBe(0);
    await server.close();
  }, 120_000);

  it('1,000 clients vanish without a word: their connections close after the idle timeout', async () => {
    const { transport, bases } = recording(udp());
    // Long enough that a client slowed down by a loaded machine is not taken for a vanished one mid-exchange.
    const server = await listen(stack, transport, here, { idleTimeoutMs: 2000 });
    const counts = serve(server);
    const cache = memoryPickCache();
    await inBatches(1000, 50, async (i) => {
      const conn = await connect(stack, transport, server.address, { cache, zeroRtt: i % 2 === 1 });
      await conn.send(`hello ${i}`);
      expect(await recvWithin(conn, 10_000)).toBe(`hello ${i}`);
    });
    // The clients' sockets go away under their connections: nothing tells the server.
    await Promise.all(bases.map((b) => b.close()));
    await expect.poll(() => server.stats.open, { timeout: 30_000 }).toBe(0);
    await expect.poll(() => counts.ended, { timeout: 30_000 }).toBe(1000);
    expect(server.stats.idle).toBe(1000);
    await server.close();
  }, 120_000);

  it('re-sends a lost close until the peer answers', async () => {
    const { transport, bases } = recording(udp());
    const server = await listen(stack, transport, here, { idleTimeoutMs: Infinity });
    const counts = serve(server);
    const conn = await connect(stack, transport, server.address, { cache: memoryPickCache(), retransmit: { initialMs: 20 } });
    await conn.send('x');
    await recvWithin(conn);
    // The network loses the first `close`.
    const base = bases[0]!;
    const sendBatch = base.sendBatch.bind(base);
    let closes = 0;
    base.sendBatch = (msgs, opts) => {
      const isClose = msgs.length === 1 && msgs[0]![0] === MAGIC && msgs[0]![2] === CLOSE;
      if (isClose && ++closes === 1) return Promise.resolve();
      return sendBatch(msgs, opts);
    };
    await conn.close();
    expect(closes).toBeGreaterThanOrEqual(2);
    await expect.poll(() => server.stats.open).toBe(0);
    await expect.poll(() => counts.ended).toBe(1);
    await server.close();
  });

  it('a server that closes a connection ends the client\'s reads', async () => {
    const t = udp();
    const server = await listen(stack, t, here);
    const conn = await connect(stack, t, server.address, { cache: memoryPickCache() });
    await conn.send('x');
    const accepted = await server.accept();
    expect(await recvWithin(accepted)).toBe('x');
    await accepted.close();
    const reads: string[] = [];
    for await (const m of conn) reads.push(m);
    expect(reads).toEqual([]);
    expect(conn.closed).toBe(true);
    expect(server.stats.open).toBe(0);
    await server.close();
  });
});

describe('a listener at maxSessions', () => {
  it('refuses the next client with ERR_NEGOTIATION_BUSY, and takes clients again once one closed', async () => {
    for (const zeroRtt of [false, true]) {
      const t = udp();
      const server = await listen(stack, t, here, { maxSessions: 3 });
      serve(server);
      const cache = memoryPickCache();
      // Fill the cache (for 0-RTT), and let that connection close.
      await (await connect(stack, t, server.address, { cache })).close();
      await expect.poll(() => server.stats.open).toBe(0);
      const open = await Promise.all([0, 1, 2].map(() => connect(stack, t, server.address, { cache, zeroRtt })));
      for (const c of open) {
        await c.send('hi');
        await recvWithin(c);
      }
      expect(server.stats.open).toBe(3);
      const err = await (async () => {
        const c = await connect(stack, t, server.address, { cache, zeroRtt });
        await c.send('hi');
        return recvWithin(c);
      })().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NegotiationError);
      expect(err).toMatchObject({ code: 'ERR_NEGOTIATION_BUSY', message: expect.stringMatching(/3 connections open \(maxSessions\)/) });
      expect(server.stats.refused).toBeGreaterThanOrEqual(1);
      await open[0]!.close();
      const again = await connect(stack, t, server.address, { cache, zeroRtt });
      await again.send('back');
      expect(await recvWithin(again)).toBe('back');
      await Promise.all([again, ...open].map((c) => c.close()));
      await server.close();
    }
  });
});
