import { describe, expect, it } from 'vitest';
import { reliable, udp, type ReliableConn } from '@bertha/core';
import { lossy } from './lossy.js';
import { settle, wrapBoth, memPair } from './pair.js';

/** Two reliable() ends over loopback UDP with the kernel's default buffers, each dropping `loss` of what it sends. */
async function udpPair(loss: number): Promise<{ a: ReliableConn; b: ReliableConn; close(): Promise<void> }> {
  const t = udp();
  const listener = await t.listen({ host: '127.0.0.1', port: 0 });
  const clientBase = await t.connect(listener.address);
  await clientBase.send(new Uint8Array([0])); // the listener accepts a peer on its first datagram
  const serverBase = await listener.accept();
  await serverBase.recv();
  const a = await reliable().connectWrap(lossy(clientBase, loss, 1), { role: 'client' });
  const b = await reliable().connectWrap(lossy(serverBase, loss, 2), { role: 'server' });
  return {
    a,
    b,
    close: async () => {
      await Promise.all([a.close(), b.close()]);
      await listener.close();
    },
  };
}

/** Sends `count` messages of `size` bytes, each starting with its index, and checks each arrives once. */
async function transfer(a: ReliableConn, b: ReliableConn, count: number, size: number): Promise<void> {
  const seen = new Uint8Array(count);
  const receiving = (async () => {
    let got = 0;
    while (got < count) {
      for (const m of await b.recvBatch(count - got)) {
        const i = new DataView(m.buffer, m.byteOffset).getUint32(0);
        expect(m.byteLength).toBe(size);
        expect(seen[i]).toBe(0);
        seen[i] = 1;
        got++;
      }
    }
  })();
  for (let i = 0; i < count; i += 64) {
    const batch = [];
    for (let j = i; j < Math.min(i + 64, count); j++) {
      const m = new Uint8Array(size);
      new DataView(m.buffer).setUint32(0, j);
      batch.push(m);
    }
    await a.sendBatch(batch);
  }
  await receiving;
}

describe('reliable() over real UDP (kernel default buffers)', () => {
  // The default window (256 × 4 KB) used to burst past a 212 KB receive buffer and resend the whole burst on every timeout.
  it('moves 3,000 × 4,000 B without loss at little retransmission cost', { timeout: 60_000 }, async () => {
    const pair = await udpPair(0);
    const { a, b } = pair;
    await transfer(a, b, 3000, 4000);
    // Overflowing the receive buffer is a loss the window answers; it must not cost a resend per message.
    expect(a.reliableStats.retransmits).toBeLessThan(1000);
    await pair.close();
  });

  it('moves 3,000 × 4,000 B through 1 % loss', { timeout: 60_000 }, async () => {
    const pair = await udpPair(0.01);
    const { a, b } = pair;
    await transfer(a, b, 3000, 4000);
    expect(a.reliableStats.retransmits).toBeGreaterThan(0);
    expect(a.reliableStats.retransmits).toBeLessThan(600);
    await pair.close();
  });

  it('moves 2,000 × 4,000 B through 10 % loss both ways', { timeout: 120_000 }, async () => {
    const pair = await udpPair(0.1);
    const { a, b } = pair;
    await transfer(a, b, 2000, 4000);
    // About one resend in ten is the loss itself; a collapse resends many times more.
    expect(a.reliableStats.retransmits).toBeLessThan(1200);
    await pair.close();
  });
});

describe('reliable() flow control', () => {
  it('sends no more than the reader takes: a reader that does not read holds at most recvWindow messages unread', async () => {
    const pair = await memPair();
    const [a, b] = await wrapBoth(reliable({ window: 16, recvWindow: 16, ackDelayMs: 1 }), pair.client, pair.server);
    const msgs = Array.from({ length: 100 }, (_, i) => new Uint8Array([i]));
    let done = false;
    const sending = a.sendBatch(msgs).then(() => {
      done = true;
    });
    for (let i = 0; i < 20; i++) await settle();
    expect(done).toBe(false);
    expect(b.stats.received).toBeLessThanOrEqual(16);
    const got: number[] = [];
    while (got.length < 100) for (const m of await b.recvBatch(100)) got.push(m[0] as number);
    await sending;
    expect(got.sort((x, y) => x - y)).toEqual(msgs.map((_, i) => i));
    await Promise.all([a.close(), b.close()]);
    await pair.close();
  });
});
