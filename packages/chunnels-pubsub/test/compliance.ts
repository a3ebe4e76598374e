/**
 * The compliance suite every queue base connection passes, run against each
 * real server (memory.test.ts, sqs.test.ts, redis.test.ts, …). A service
 * supplies a harness that makes a fresh queue per test and opens connections
 * to it; the suite checks what every user relies on, and ordering / fan-out
 * only where the service's `semantics` claim them.
 */
import { MessageTooLargeError } from '@bertha/core';
import { afterEach, describe, expect, it } from 'vitest';
import { fanOut, QueueCapabilityError, serviceOrdering, type QueueConn, type QueueConnOptions, type QueueSemantics } from '../src/index.js';

export interface OpenOptions extends QueueConnOptions {
  /**
   * Receivers with the same name compete for messages; receivers with
   * different names each get every message where the service fans out
   * (subscription, consumer group). Default: one shared name.
   */
  readonly receiver?: string;
}

/** One empty queue (topic, stream) made for one test. */
export interface QueueUnderTest {
  open(opts?: OpenOptions): Promise<QueueConn>;
  /** Writes a body this library cannot decode, as another producer would (services whose bodies are text). */
  writeForeign?(): Promise<void>;
  /** Removes the queue. */
  cleanup?(): Promise<void>;
}

export interface QueueHarness {
  /** A fresh queue; `ordered` asks for one that orders per group where the service makes that a queue property (SQS FIFO). */
  fresh(opts?: { ordered?: boolean }): Promise<QueueUnderTest>;
  /** The lease the harness gives connections (visibility timeout / ack deadline) in ms; the redelivery tests wait a few of them. */
  readonly leaseMs: number;
  /** What the service claims (as its connections' `semantics` say); the suite checks each claim, and that a Chunnel asking for more is refused. */
  readonly semantics: QueueSemantics;
  /** True where bodies are text another producer can write undecodably (SQS, Azure); false where every body is bytes. */
  readonly foreignBodies: boolean;
  /** True where the consumer's session holds received messages instead of a lease (Kafka: driver `leaseMs` Infinity, no extend calls). */
  readonly heldBySession?: boolean;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (s: string): Uint8Array => enc.encode(s);
const text = (b: Uint8Array): string => dec.decode(b);

/** Receives until `n` messages came, failing after `ms`. */
async function receiveN(conn: QueueConn, n: number, ms: number): Promise<string[]> {
  const out: string[] = [];
  const signal = AbortSignal.timeout(ms);
  while (out.length < n) out.push(...(await conn.recvBatch(n - out.length, { signal })).map(text));
  return out;
}

/** Resolves with what arrives within `ms` (nothing expected). */
async function receiveFor(conn: QueueConn, ms: number): Promise<string[]> {
  const out: string[] = [];
  const signal = AbortSignal.timeout(ms);
  try {
    for (;;) out.push(...(await conn.recvBatch(10, { signal })).map(text));
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_ABORTED') throw err;
  }
  return out;
}

export function describeQueueCompliance(name: string, harness: QueueHarness, timeoutMs = 30_000): void {
  describe(`queue compliance: ${name}`, () => {
    const opened: QueueConn[] = [];
    const queues: QueueUnderTest[] = [];
    const fresh = async (opts?: { ordered?: boolean }) => {
      const q = await harness.fresh(opts);
      queues.push(q);
      return {
        open: async (o?: OpenOptions) => {
          const c = await q.open(o);
          opened.push(c);
          return c;
        },
        q,
      };
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((c) => c.close()));
      await Promise.all(queues.splice(0).map(async (q) => q.cleanup?.()));
    });
    const lease = harness.leaseMs;

    it('delivers a message from a sender to a receiver, byte for byte', { timeout: timeoutMs }, async () => {
      const { open } = await fresh();
      const tx = await open({ consume: false });
      const rx = await open();
      const body = new Uint8Array([0, 1, 2, 255, 254, 0, 10, 13]);
      await tx.send(body);
      expect(await rx.recv({ signal: AbortSignal.timeout(timeoutMs / 2) })).toEqual(body);
      expect(tx.calls.send).toBeGreaterThanOrEqual(1);
      expect(rx.calls.receive).toBeGreaterThanOrEqual(1);
    });

    it('sends a batch larger than the service allows per call in several calls, each message once', { timeout: timeoutMs }, async () => {
      const { open } = await fresh();
      const tx = await open({ consume: false });
      const rx = await open();
      const n = 25;
      await tx.sendBatch(Array.from({ length: n }, (_, i) => bytes(`m${i}`)));
      expect(tx.calls.send).toBeGreaterThanOrEqual(Math.ceil(n / tx.limits.maxBatchMessages));
      if (tx.limits.maxBatchMessages > 1) expect(tx.calls.send).toBeLessThan(n);
      const got = await receiveN(rx, n, timeoutMs / 2);
      expect(got.sort()).toEqual(Array.from({ length: n }, (_, i) => `m${i}`).sort());
    });

    it('unbatched (batch: false) makes one call per message', { timeout: timeoutMs }, async () => {
      const { open } = await fresh();
      const tx = await open({ consume: false, batch: false });
      await tx.sendBatch([bytes('a'), bytes('b'), bytes('c')]);
      expect(tx.calls.send).toBe(3);
    });

    it('refuses a message over the size limit before any call', { timeout: timeoutMs }, async () => {
      const { open } = await fresh();
      const tx = await open({ consume: false });
      const big = new Uint8Array(tx.limits.maxMessageBytes + 1);
      await expect(tx.sendBatch([bytes('ok'), big])).rejects.toBeInstanceOf(MessageTooLargeError);
      expect(tx.calls.send).toBe(0);
    });

    it('acknowledges what the application took: a later receiver does not get it again', { timeout: timeoutMs + 3 * lease }, async () => {
      const { open } = await fresh();
      const tx = await open({ consume: false });
      const rx1 = await open({ prefetch: 1 });
      await tx.sendBatch([bytes('a'), bytes('b')]);
      const first = await receiveN(rx1, 2, timeoutMs / 2);
      expect(first.sort()).toEqual(['a', 'b']);
      await rx1.close();
      expect(rx1.calls.ack).toBeGreaterThanOrEqual(1);
      const rx2 = await open();
      // Past the lease: an unacknowledged message would be back by now.
      await tx.send(bytes('marker'));
      const later = await receiveFor(rx2, 2 * lease);
      expect(later).toEqual(['marker']);
    });

    it('hands back held messages on close, so another receiver gets them at once', { timeout: timeoutMs }, async () => {
      const { open } = await fresh();
      const tx = await open({ consume: false });
      await tx.sendBatch(['a', 'b', 'c', 'd'].map(bytes));
      const rx1 = await open({ prefetch: 10 });
      const [one] = await receiveN(rx1, 1, timeoutMs / 2);
      await rx1.close();
      const rx2 = await open();
      const rest = await receiveN(rx2, 3, timeoutMs / 2);
      expect([one, ...rest].sort()).toEqual(['a', 'b', 'c', 'd']);
    });

    it('redelivers what a crashed receiver held but had not handed over', { timeout: timeoutMs + 4 * lease }, async () => {
      const { open } = await fresh();
      const tx = await open({ consume: false });
      await tx.sendBatch(['a', 'b', 'c'].map(bytes));
      const rx1 = await open({ prefetch: 10 });
      const [one] = await receiveN(rx1, 1, timeoutMs / 2);
      await new Promise((r) => setTimeout(r, 200)); // let its acknowledgement go out
      await rx1.destroy();
      const rx2 = await open();
      const rest = await receiveN(rx2, 2, timeoutMs / 2 + 3 * lease);
      expect([one, ...rest].sort()).toEqual(['a', 'b', 'c']);
    });

    it('extends the lease of held messages: no other receiver gets them meanwhile', { timeout: timeoutMs + 4 * lease }, async () => {
      const { open } = await fresh();
      const tx = await open({ consume: false });
      await tx.sendBatch(['a', 'b'].map(bytes));
      const rx1 = await open({ prefetch: 10 });
      const firsts = await receiveN(rx1, 1, timeoutMs / 2);
      // Give the service time to hand rx1 the second one too, then outlast the lease.
      const rx2 = await open();
      const stolen = await receiveFor(rx2, 2.5 * lease);
      const mine = stolen.length === 0 ? await receiveN(rx1, 1, timeoutMs / 2) : [];
      expect([...firsts, ...mine, ...stolen].sort()).toEqual(['a', 'b']);
      if (harness.heldBySession !== true) expect(rx1.calls.extend + stolen.length).toBeGreaterThanOrEqual(1);
      expect(rx2.queueStats.redelivered).toBe(0);
    });

    it('competing receivers of one name share the messages, each message once', { timeout: timeoutMs }, async () => {
      const { open } = await fresh();
      const tx = await open({ consume: false });
      const a = await open({ prefetch: 1 });
      const b = await open({ prefetch: 1 });
      const n = 30;
      await tx.sendBatch(Array.from({ length: n }, (_, i) => bytes(`m${i}`)));
      const got: string[] = [];
      const done = new AbortController();
      const signal = AbortSignal.any([done.signal, AbortSignal.timeout(timeoutMs / 2)]);
      const drain = async (c: QueueConn) => {
        while (got.length < n && !signal.aborted) got.push(...(await c.recvBatch(1, { signal }).catch(() => [])).map(text));
        done.abort();
      };
      await Promise.all([drain(a), drain(b)]);
      expect(got.sort()).toEqual(Array.from({ length: n }, (_, i) => `m${i}`).sort());
    });

    it('advertises the semantics it claims', async () => {
      const { open } = await fresh();
      const tx = await open({ consume: false });
      expect(tx.semantics).toEqual(harness.semantics);
    });

    if (harness.semantics.ordering !== 'group') {
      it('refuses serviceOrdering(): the service does not order', async () => {
        const { open } = await fresh();
        const tx = await open({ consume: false });
        await expect(serviceOrdering(tx).connectWrap(tx, { role: 'client' })).rejects.toBeInstanceOf(QueueCapabilityError);
      });
    } else {
      it('orders each group, also across competing receivers', { timeout: timeoutMs }, async () => {
        const { open } = await fresh({ ordered: true });
        const tx = await open({ consume: false });
        const groups = ['g0', 'g1', 'g2'];
        const per = 8;
        const msgs = Array.from({ length: per }, (_, i) => groups.map((g) => ({ body: bytes(`${g}:${i}`), group: g }))).flat();
        await tx.sendMessages(msgs);
        const a = await open({ prefetch: 1 });
        const b = await open({ prefetch: 1 });
        const seen: string[] = [];
        const done = new AbortController();
        const signal = AbortSignal.any([done.signal, AbortSignal.timeout(timeoutMs / 2)]);
        const drain = async (c: QueueConn) => {
          while (seen.length < msgs.length && !signal.aborted) {
            const got = await c.recvMessages(1, { signal }).catch(() => []);
            for (const m of got) {
              expect(m.group).toBe(text(m.body).split(':')[0]);
              seen.push(text(m.body));
            }
          }
          done.abort();
        };
        await Promise.all([drain(a), drain(b)]);
        for (const g of groups) {
          const order = seen.filter((s) => s.startsWith(`${g}:`)).map((s) => Number(s.split(':')[1]));
          expect(order).toEqual(Array.from({ length: per }, (_, i) => i));
        }
      });
    }

    if (!harness.semantics.fanOut) {
      it('refuses fanOut(): receivers compete', async () => {
        const { open } = await fresh();
        const tx = await open({ consume: false });
        await expect(fanOut(tx).connectWrap(tx, { role: 'client' })).rejects.toBeInstanceOf(QueueCapabilityError);
      });
    } else {
      it('gives every receiver of its own name every message', { timeout: timeoutMs }, async () => {
        const { open } = await fresh();
        const tx = await open({ consume: false });
        const a = await open({ receiver: 'fan-a' });
        const b = await open({ receiver: 'fan-b' });
        // Receivers subscribe when they open: start polling before sending.
        const pa = receiveN(a, 5, timeoutMs / 2);
        const pb = receiveN(b, 5, timeoutMs / 2);
        await new Promise((r) => setTimeout(r, 300));
        await tx.sendBatch(['1', '2', '3', '4', '5'].map(bytes));
        expect((await pa).sort()).toEqual(['1', '2', '3', '4', '5']);
        expect((await pb).sort()).toEqual(['1', '2', '3', '4', '5']);
      });
    }

    if (harness.foreignBodies) {
      it('reports a body another producer wrote, sets it aside, and keeps receiving', { timeout: timeoutMs }, async () => {
        const { open, q } = await fresh();
        await q.writeForeign?.();
        const tx = await open({ consume: false });
        const reported: string[] = [];
        const rx = await open({ onUndecodable: (u) => void reported.push(u.reason) });
        await tx.send(bytes('good'));
        expect(await receiveN(rx, 1, timeoutMs / 2)).toEqual(['good']);
        expect(rx.queueStats.undecodable).toBe(1);
        expect(reported).toHaveLength(1);
        await rx.close();
        const rx2 = await open();
        expect(await receiveFor(rx2, Math.max(1_000, 2 * lease))).toEqual([]);
      });
    }
  });
}
