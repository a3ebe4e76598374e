import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { udp } from '@bertha/core';
import { ccpTransport } from '@bertha/ccp';
import type { EpochEstimate } from '../../src/bundler/epoch-meter.js';
import { decodeFrame, encodeData, encodeFeedback, encodePeriod, encodeReverse, invariantHeader } from '../../src/bundler/relay/frame.js';
import { startReceiveboxRelay, type ReceiveboxRelay } from '../../src/bundler/relay/receivebox-relay.js';
import { startSendboxRelay, type SendboxRelay } from '../../src/bundler/relay/sendbox-relay.js';

const LOOPBACK = '127.0.0.1';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function socket(): Promise<Socket> {
  const s = createSocket('udp4');
  s.bind(0, LOOPBACK);
  await once(s, 'listening');
  cleanups.push(() => new Promise<void>((r) => s.close(() => r())));
  return s;
}

/** A receivebox relay in front of `targetPort` and a sendbox relay in front of it, on loopback. */
async function relayPair(targetPort: number, scheduler: 'sfq' | 'fifo', onEstimate?: (e: EpochEstimate) => void): Promise<{ rx: ReceiveboxRelay; tx: SendboxRelay }> {
  const rx = await startReceiveboxRelay({ listen: { host: LOOPBACK, port: 0 }, target: { host: LOOPBACK, port: targetPort } });
  cleanups.push(() => rx.close());
  const tx = await startSendboxRelay({ listen: { host: LOOPBACK, port: 0 }, receivebox: rx.address, scheduler, bufferBytes: 4 << 20, onEstimate });
  cleanups.push(() => tx.close());
  return { rx, tx };
}

/** Resolves when `cond` holds, checking every 20 ms (no deadline: vitest's timeout is the bound). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 20));
}

describe('relay frames', () => {
  it('round-trip, and anything else decodes to undefined', () => {
    const header = invariantHeader({ ip: 0x0a000001, port: 5000 }, 70_000);
    const payload = new Uint8Array([1, 2, 3]);
    expect(decodeFrame(encodeData(header, payload))).toEqual({ kind: 'data', header, payload: Buffer.from(payload) });
    expect(header.ipId).toBe(70_000 & 0xffff);
    expect(decodeFrame(encodeReverse({ ip: 0xc0a80001, port: 1 }, payload))).toEqual({ kind: 'reverse', flow: { ip: 0xc0a80001, port: 1 }, payload: Buffer.from(payload) });
    const feedback = { hash: 0xdeadbeef, period: 64, recvBytes: 123_456_789 };
    expect(decodeFrame(encodeFeedback(feedback))).toEqual({ kind: 'feedback', feedback });
    expect(decodeFrame(encodePeriod(256))).toEqual({ kind: 'period', period: 256 });
    for (const bad of [Buffer.alloc(0), Buffer.from([9, 1, 2]), Buffer.from([1, 0, 0]), encodeFeedback(feedback).subarray(0, 10), Buffer.concat([encodePeriod(4), Buffer.from([0])])]) {
      expect(decodeFrame(bad)).toBeUndefined();
    }
  });
});

describe('sendbox and receivebox relays over loopback UDP', () => {
  it('forward every datagram of several senders both ways, and the sendbox measures RTT and rates from congestion ACKs', async () => {
    const target = await socket();
    const atTarget = new Set<string>();
    target.on('message', (m, rinfo) => {
      atTarget.add(m.toString());
      target.send(Buffer.concat([Buffer.from('echo:'), m]), rinfo.port, rinfo.address);
    });
    const estimates: EpochEstimate[] = [];
    const { rx, tx } = await relayPair(target.address().port, 'sfq', (e) => estimates.push(e));

    const senders = await Promise.all([0, 1, 2].map(() => socket()));
    const echoes = new Set<string>();
    for (const s of senders) s.on('message', (m) => echoes.add(m.toString()));
    const perSender = 200;
    for (let i = 0; i < perSender; i++) {
      senders.forEach((s, k) => s.send(`${k}-${i}-${'x'.repeat(900)}`, tx.address.port, LOOPBACK));
      // A few at a time: the test is about forwarding, not about the loopback's socket buffers.
      if (i % 10 === 9) await new Promise((r) => setTimeout(r, 5));
    }
    const total = senders.length * perSender;
    await until(() => echoes.size === total && estimates.some((e) => e.sendRate > 0 && e.recvRate > 0));

    expect(atTarget.size).toBe(total);
    expect([...echoes].every((e) => e.startsWith('echo:'))).toBe(true);
    expect(tx.stats).toMatchObject({ received: total, forwarded: total, reversed: total, discarded: 0 });
    expect(rx.stats).toMatchObject({ forwarded: total, reversed: total, discarded: 0 });
    // The target saw one peer per sender, as without the relays.
    expect(rx.stats.flows).toBe(senders.length);
    expect(tx.stats.flows).toBe(senders.length);
    // Period 1 at first: every packet is a boundary, and both boxes count the same bytes.
    expect(tx.sendbox.meter.stats.matched).toBeGreaterThan(0);
    expect(rx.receivebox.stats.bytes).toBe(tx.sendbox.meter.sentBytes);
    const e = estimates.at(-1)!;
    expect(e.rttUs).toBeGreaterThan(0);
    expect(e.minRttUs).toBeLessThanOrEqual(e.rttUs);
    expect(estimates.some((x) => x.sendRate > 0 && x.recvRate > 0)).toBe(true);
  });

  it('carry a CCP transport transfer through the FIFO sendbox unchanged', async () => {
    const listener = await udp().listen({ host: LOOPBACK, port: 0 });
    cleanups.push(() => listener.close());
    const server = ccpTransport({ cc: { kind: 'native', algorithm: 'reno' } });
    const bytes = 400 * 1400;
    const received = (async () => {
      for await (const base of listener) {
        const conn = await server.connectWrap(base, { role: 'server' });
        let got = 0;
        let sum = 0;
        while (got < bytes) {
          for (const m of await conn.recvBatch(256)) {
            got += m.byteLength;
            for (const b of m) sum += b;
          }
        }
        return { got, sum };
      }
      throw new Error('listener ended');
    })();
    const { rx, tx } = await relayPair(listener.address.port, 'fifo');

    const base = await udp().connect({ host: LOOPBACK, port: tx.address.port });
    const client = await ccpTransport({ cc: { kind: 'native', algorithm: 'cubic' }, mss: 1400 }).connectWrap(base, { role: 'client' });
    const chunks = Array.from({ length: 400 }, (_, i) => new Uint8Array(1400).fill(i & 0xff));
    await client.sendBatch(chunks);
    // Lingers until every byte is acknowledged: the ACKs came back through both relays.
    await client.close();
    const expectedSum = chunks.reduce((a, c) => a + c[0]! * c.length, 0);
    expect(await received).toEqual({ got: bytes, sum: expectedSum });
    expect(tx.stats.forwarded).toBeGreaterThanOrEqual(400);
    expect(rx.stats.reversed).toBeGreaterThan(0);
    expect(tx.sendbox.meter.stats.matched).toBeGreaterThan(0);
  });

  it('discard datagrams that are no frame or carry a period out of range, and keep forwarding', async () => {
    const target = await socket();
    let atTarget = 0;
    target.on('message', () => atTarget++);
    const { rx, tx } = await relayPair(target.address().port, 'sfq');
    const stranger = await socket();
    stranger.send(Buffer.from([7, 7, 7]), rx.address.port, LOOPBACK);
    stranger.send(encodePeriod(3), rx.address.port, LOOPBACK);
    await until(() => rx.stats.discarded === 2);
    const sender = await socket();
    sender.send('hello', tx.address.port, LOOPBACK);
    await until(() => atTarget === 1);
    expect(rx.stats.forwarded).toBe(1);
  });
});
