import { atMostOnce, makeStack, wrap, type Conn } from '@bertha/core';
import { describe, expect, it } from 'vitest';
import { appendGroup, memoryBroker, memoryQueue, QueueError, receiverOrdering, serviceOrdering, splitGroup } from '../src/index.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

describe('group trailer', () => {
  it('round-trips a payload with and without a group', () => {
    const payload = enc.encode('hello');
    expect(splitGroup(appendGroup(payload, 'g-1'))).toEqual({ payload, group: 'g-1' });
    expect(splitGroup(appendGroup(payload, undefined))).toEqual({ payload, group: undefined });
    expect(splitGroup(appendGroup(new Uint8Array(0), 'é'))?.group).toBe('é');
  });

  it('finds no trailer in arbitrary bytes, and refuses a group over 255 bytes', () => {
    expect(splitGroup(enc.encode('plain'))).toBeUndefined();
    expect(splitGroup(new Uint8Array([0xb7]))).toBeUndefined();
    expect(splitGroup(new Uint8Array([1, 200, 0xb7]))).toBeUndefined();
    expect(() => appendGroup(new Uint8Array(1), 'x'.repeat(256))).toThrow(/255/);
  });
});

describe('queue Chunnels over memoryQueue', () => {
  it("serviceOrdering tells the service each message's group through a groups: 'trailer' base, and strips the trailer", async () => {
    const broker = memoryBroker();
    const groupOf = (b: Uint8Array) => dec.decode(b).split(':')[0];
    const txBase = memoryQueue({ broker, consume: false, groups: 'trailer' });
    const tx = await wrap(makeStack(serviceOrdering(txBase, { group: groupOf })), txBase);
    const rxBase = memoryQueue({ broker });
    await tx.sendBatch(['a:1', 'b:1', 'a:2'].map((s) => enc.encode(s)));
    // The service saw each message's group.
    const seen = new Map<string, string | undefined>();
    while (seen.size < 3) {
      for (const m of await rxBase.recvMessages(3, { signal: AbortSignal.timeout(5_000) })) seen.set(dec.decode(splitGroup(m.body)?.payload), m.group);
    }
    expect(Object.fromEntries(seen)).toEqual({ 'a:1': 'a', 'b:1': 'b', 'a:2': 'a' });
    // And the Chunnel on the receiving side strips the trailer.
    await tx.send(enc.encode('c:1'));
    const rx = await wrap(makeStack(serviceOrdering(rxBase, { group: groupOf })), rxBase, { role: 'server' });
    expect(dec.decode(await rx.recv({ signal: AbortSignal.timeout(5_000) }))).toBe('c:1');
    await Promise.all([tx.close(), rx.close()]);
  });

  it("a groups: 'trailer' base refuses a frame without a trailer with a clear error", async () => {
    const q = memoryQueue({ broker: memoryBroker(), consume: false, groups: 'trailer' });
    const err = await q.send(enc.encode('no trailer')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueError);
    expect((err as QueueError).code).toBe('ERR_QUEUE_FRAME');
    expect((err as Error).message).toMatch(/serviceOrdering\(\) or receiverOrdering\(\)/);
  });

  it('receiverOrdering delivers each group in order on one receiver, over a groups: trailer base', async () => {
    const broker = memoryBroker();
    const groupOf = (b: Uint8Array) => dec.decode(b).split(':')[0];
    const txBase = memoryQueue({ broker, consume: false, groups: 'trailer' });
    const rxBase = memoryQueue({ broker, groups: 'trailer' });
    const tx = await wrap(makeStack(receiverOrdering({ group: groupOf })), txBase);
    const rx = await wrap(makeStack(receiverOrdering({ group: groupOf })), rxBase, { role: 'server' });
    const sent = Array.from({ length: 30 }, (_, i) => `g${i % 3}:${Math.floor(i / 3)}`);
    for (const s of sent) await tx.send(enc.encode(s));
    const got: string[] = [];
    while (got.length < sent.length) got.push(...(await rx.recvBatch(30, { signal: AbortSignal.timeout(5_000) })).map((b) => dec.decode(b)));
    for (const g of ['g0', 'g1', 'g2']) expect(got.filter((s) => s.startsWith(g))).toEqual(sent.filter((s) => s.startsWith(g)));
    await Promise.all([tx.close(), rx.close()]);
  });
});

describe('at most once over an at-least-once queue', () => {
  it("core's atMostOnce() drops a redelivered copy", async () => {
    const broker = memoryBroker();
    const txBase = memoryQueue({ broker, consume: false });
    // A spy below the Chunnel sends every frame twice, as a redelivery would deliver it twice.
    const twice: Conn<Uint8Array> = {
      send: (m) => txBase.sendBatch([m, m]),
      sendBatch: (msgs) => txBase.sendBatch([...msgs, ...msgs]),
      recv: (o) => txBase.recv(o),
      recvBatch: (n, o) => txBase.recvBatch(n, o),
      close: () => txBase.close(),
      get closed() {
        return txBase.closed;
      },
      [Symbol.asyncIterator]: () => txBase[Symbol.asyncIterator](),
    };
    const tx = await wrap(makeStack(atMostOnce()), twice);
    const rxBase = memoryQueue({ broker });
    const rx = await atMostOnce().connectWrap(rxBase, { role: 'server' });
    await tx.send(enc.encode('once'));
    await tx.send(enc.encode('end'));
    const got: string[] = [];
    while (!got.includes('end')) got.push(...(await rx.recvBatch(10, { signal: AbortSignal.timeout(5_000) })).map((b) => dec.decode(b)));
    expect(got).toEqual(['once', 'end']);
    expect(rx.dedupStats.duplicates).toBeGreaterThanOrEqual(1);
    await Promise.all([tx.close(), rx.close()]);
  });
});

describe('nagling', () => {
  it('sends made within nagleMs share calls; each send resolves once its call is done', async () => {
    const broker = memoryBroker();
    const tx = memoryQueue({ broker, consume: false, nagleMs: 50 });
    const rx = memoryQueue({ broker });
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      sends.push(tx.send(enc.encode(String(i))));
      await new Promise((r) => setTimeout(r, 2));
    }
    await Promise.all(sends);
    expect(tx.calls.send).toBeLessThan(20);
    const got: string[] = [];
    while (got.length < 20) got.push(...(await rx.recvBatch(20, { signal: AbortSignal.timeout(5_000) })).map((b) => dec.decode(b)));
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    await Promise.all([tx.close(), rx.close()]);
  });

  it('a send fails with the service error after giving up, and nothing is lost once the service is back', async () => {
    const broker = memoryBroker();
    const errors: string[] = [];
    const tx = memoryQueue({ broker, consume: false, retry: { initialMs: 5, maxMs: 20, giveUpMs: 100 }, onError: (e) => errors.push(e.code) });
    broker.setDown(true);
    await expect(tx.send(enc.encode('lost?'))).rejects.toMatchObject({ code: 'ERR_QUEUE_UNAVAILABLE' });
    expect(errors.length).toBeGreaterThan(0);
    const retried = memoryQueue({ broker, consume: false, retry: { initialMs: 5, maxMs: 20 } });
    const pending = retried.send(enc.encode('kept'));
    await new Promise((r) => setTimeout(r, 50));
    broker.setDown(false);
    await pending;
    const rx = memoryQueue({ broker });
    expect(dec.decode(await rx.recv({ signal: AbortSignal.timeout(5_000) }))).toBe('kept');
    await Promise.all([tx.close(), retried.close(), rx.close()]);
  });
});
