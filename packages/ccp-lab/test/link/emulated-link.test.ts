import { mem, memNetwork } from '@bertha/core';
import { describe, expect, it } from 'vitest';
import { emulatedLink } from '../../src/link/emulated-link.js';
import { Simulator } from '../../src/sim/simulator.js';

async function pair() {
  const t = mem(memNetwork());
  const listener = await t.listen({ name: '' });
  const client = await t.connect(listener.address);
  const server = await listener.accept();
  return { client, server, listener };
}

describe('emulatedLink', () => {
  it('delays and rate-limits sent messages on a virtual clock', async () => {
    const { client, server, listener } = await pair();
    const sim = new Simulator();
    // 1000-byte messages at 8 Mbit/s take 1 ms each; 5 ms of propagation.
    const shaped = emulatedLink(client, { rateBps: 8e6, delayUs: 5_000 }, sim);
    const buf = new Uint8Array(1000);
    buf[0] = 1;
    await shaped.sendBatch([buf, buf, buf]);
    buf[0] = 9; // The link copied the message at send time.
    const arrivals: [number, number][] = [];
    const recv = (async () => {
      for (let i = 0; i < 3; i++) {
        const m = await server.recv();
        arrivals.push([sim.now(), m[0]!]);
      }
    })();
    await sim.runAsync();
    await recv;
    expect(arrivals).toEqual([
      [6_000, 1],
      [7_000, 1],
      [8_000, 1],
    ]);
    expect(shaped.stats.sent).toBe(3);
    await shaped.close();
    await listener.close();
  });

  it('drops what the buffer cannot hold, and passes receives through', async () => {
    const { client, server, listener } = await pair();
    // A virtual clock: on a real one, a loaded machine can spread the batch over the 8 ms a message takes, and a third fits.
    const sim = new Simulator();
    const shaped = emulatedLink(client, { rateBps: 1e6, bufferPackets: 2, delayUs: 2_000 }, sim);
    // 1000 bytes at 1 Mbit/s take 8 ms: the batch arrives at one instant, far faster than the link drains.
    await shaped.sendBatch([1, 2, 3, 4].map((i) => new Uint8Array(1000).fill(i)));
    expect(shaped.stats).toMatchObject({ sent: 2, dropped: 2 });
    await sim.runAsync();
    expect([(await server.recv())[0], (await server.recv())[0]]).toEqual([1, 2]);
    await server.send(Uint8Array.of(42));
    expect((await shaped.recv())[0]).toBe(42);
    expect(shaped.stats.received).toBe(1);
    await shaped.close();
    expect(shaped.closed).toBe(true);
    await expect(shaped.send(Uint8Array.of(5))).rejects.toMatchObject({ code: 'ERR_CONN_CLOSED' });
    await listener.close();
  });
});
