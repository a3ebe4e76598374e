import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { makeStack, twoSided, udp, type SocketAddress, type Transport } from '@bertha/core';
import { confirmed, connect, listen, memoryPickCache, negotiated, type ListenOptions, type NegotiatedListener } from '@bertha/negotiate';
import { StrikeRegister } from '../src/strike-register.js';
import { MAGIC, WireCodec } from '../src/wire.js';
import { layer, recvWithin, text } from './helpers.js';

const stack = makeStack(text(), layer('tls', [twoSided('encryption', 'tls')]));
const here = { host: '127.0.0.1', port: 0 };
/** Kind number of `use` on the wire (README, "Wire format"). */
const USE = 4;

/** Every message any connection of the listener received, and how each connection was negotiated. */
function record(server: NegotiatedListener<string, unknown>): { messages: string[]; early: number[] } {
  const seen = { messages: [] as string[], early: [] as number[] };
  void (async () => {
    for await (const conn of server) {
      void (async () => {
        for await (const m of conn) {
          seen.messages.push(m);
          seen.early.push(negotiated(conn)!.earlyData?.messages ?? -1);
          await conn.send(m);
        }
      })().catch(() => undefined);
    }
  })();
  return seen;
}

/** A 0-RTT connection's datagrams, as an eavesdropper on the path captures them. */
async function captureZeroRtt(server: NegotiatedListener<string, SocketAddress>): Promise<Buffer> {
  const t = udp();
  const sent: Buffer[] = [];
  const capturing: Transport<SocketAddress> = {
    ...t,
    connect: async (addr, opts) => {
      const c = await t.connect(addr, opts);
      const sendBatch = c.sendBatch.bind(c);
      c.sendBatch = (msgs, o) => {
        for (const m of msgs) sent.push(Buffer.from(m));
        return sendBatch(msgs, o);
      };
      return c;
    },
  };
  const cache = memoryPickCache();
  await (await connect(stack, t, server.address, { cache })).close();
  const conn = await connect(stack, capturing, server.address, { cache, zeroRtt: true });
  await conn.send('transfer 100 coins');
  expect(await recvWithin(conn)).toBe('transfer 100 coins');
  await conn.close();
  const use = sent.find((m) => m[0] === MAGIC && m[2] === USE);
  expect(use).toBeDefined();
  return use!;
}

/** Sends `datagram` from `n` fresh sockets (so, n new sessions); resolves with the answers' types. */
async function replay(datagram: Buffer, n: number, to: SocketAddress): Promise<string[]> {
  const codec = new WireCodec();
  return Promise.all(
    Array.from({ length: n }, async () => {
      const s = createSocket('udp4');
      await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
      const answer = new Promise<string>((resolve) => {
        s.on('message', (m: Buffer) => {
          if (m[0] !== MAGIC) return resolve('data');
          const msg = codec.decode(m);
          resolve(msg.t === 'reject' ? `reject${msg.oneRtt ? ' (1-RTT)' : ''}` : msg.t);
        });
      });
      s.send(datagram, to.port, to.host);
      const got = await Promise.race([answer, new Promise<string>((resolve) => setTimeout(() => resolve('silence'), 5000))]);
      s.close();
      return got;
    }),
  );
}

async function replayedTwentyTimes(opts: ListenOptions) {
  const server = await listen(stack, udp(), here, opts);
  const seen = record(server);
  const use = await captureZeroRtt(server);
  const answers = await replay(use, 20, server.address);
  return { server, seen, answers };
}

describe('0-RTT replay protection', () => {
  it('a captured 0-RTT datagram replayed 20 times opens one session and delivers its early data once', async () => {
    const { server, seen, answers } = await replayedTwentyTimes({});
    expect(answers).toEqual(Array(20).fill('reject (1-RTT)'));
    expect(server.stats).toMatchObject({ zeroRtt: 1, replayed: 20 });
    expect(seen.messages.filter((m) => m === 'transfer 100 coins')).toHaveLength(1);
    // The server application can tell that this message came as early data.
    expect(seen.early).toEqual([1]);
    await server.close();
  });

  it('without it (replayProtection: false) every replay is a new session with the early data again', async () => {
    const { server, seen, answers } = await replayedTwentyTimes({ replayProtection: false });
    expect(answers.every((a) => a === 'data' || a === 'ack')).toBe(true);
    expect(server.stats.zeroRtt).toBe(21);
    await expect.poll(() => seen.messages.length).toBe(21);
    await server.close();
  });

  it('a real client whose 0-RTT request cannot be shown fresh falls back to 1-RTT; its data arrives once', async () => {
    // A register of one entry: the second 0-RTT client in the window is refused.
    const server = await listen(stack, udp(), here, { replayProtection: { maxEntries: 1 } });
    const seen = record(server);
    const cache = memoryPickCache();
    await (await connect(stack, udp(), server.address, { cache })).close();
    for (const expected of ['0-rtt', '1-rtt'] as const) {
      const conn = await connect(stack, udp(), server.address, { cache, zeroRtt: true });
      await conn.send(`via ${expected}`);
      expect(await recvWithin(conn)).toBe(`via ${expected}`);
      expect((await confirmed(conn)).mode).toBe(expected);
      await conn.close();
    }
    expect(seen.messages).toEqual(['via 0-rtt', 'via 1-rtt']);
    expect(seen.early).toEqual([1, -1]);
    expect(server.stats).toMatchObject({ zeroRtt: 1, oneRtt: 2, replayed: 1 });
    await server.close();
  });
});

describe('StrikeRegister', () => {
  it('admits a unique value once within the window, and nothing from outside it', () => {
    const r = new StrikeRegister({ windowMs: 1000, maxEntries: 3 });
    const now = 1_000_000;
    expect(r.admit(1, 2, now, now)).toBeUndefined();
    expect(r.admit(1, 2, now, now + 10)).toMatch(/seen before/);
    expect(r.admit(1, 3, now, now)).toBeUndefined();
    expect(r.admit(1, 4, now - 1001, now)).toMatch(/outside the 1000 ms replay window/);
    expect(r.admit(1, 4, now + 1001, now)).toMatch(/outside/);
    expect(r.admit(1, 5, now, now)).toBeUndefined();
    expect(r.admit(1, 6, now, now)).toMatch(/too many/);
    // Once the first ones left the window, there is room again; a replay of them is stale anyway.
    expect(r.admit(1, 6, now + 1001, now + 1002)).toBeUndefined();
    expect(r.admit(1, 2, now, now + 1002)).toMatch(/outside/);
  });

  it('forgets values as their time leaves the window, oldest first, however many came and went', () => {
    const r = new StrikeRegister({ windowMs: 1000, maxEntries: 2000 });
    const start = 1_000_000;
    // 5,000 requests, 1 ms apart: at most ~1,000 in the window at a time, so the register never fills.
    for (let i = 0; i < 5000; i++) expect(r.admit(i, 7, start + i, start + i)).toBeUndefined();
    const now = start + 4999;
    // The last ones are still remembered: a replay is refused.
    expect(r.admit(4999, 7, start + 4999, now)).toMatch(/seen before/);
    expect(r.admit(4500, 7, start + 4500, now)).toMatch(/seen before/);
    // Nothing else is held against a fresh request.
    expect(r.admit(5000, 7, now, now)).toBeUndefined();
  });
});
