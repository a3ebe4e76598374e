import { randomUUID } from 'node:crypto';
import { kafka } from '@bertha/chunnels-pubsub/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { QueueNotFoundError, QueueUnavailableError } from '../src/index.js';
import { describeQueueCompliance } from './compliance.js';
import { freePort } from '../../../scripts/servers/redis.js';
import { startKafkaBroker } from './support/kafka-broker/index.js';

// The shared Kafka wire-protocol test broker (test/support/kafka-broker, started by scripts/servers/kafka.ts).
const brokers = [inject('kafkaBrokers')];
const client = new Kafka({ brokers, logLevel: logLevel.NOTHING });
const admin = client.admin();
// Short sessions and heartbeats: a member that left or crashed is noticed quickly.
const consumer = { sessionTimeout: 6_000, heartbeatInterval: 300, rebalanceTimeout: 10_000, maxWaitTimeInMs: 200 };

afterAll(() => admin.disconnect());

describeQueueCompliance(
  'kafka',
  {
    // Kafka has no lease: this is how long the suite waits for redelivery, which follows a rebalance.
    leaseMs: 2_000,
    semantics: { ordering: 'group', fanOut: true },
    foreignBodies: false,
    heldBySession: true,
    fresh: async () => {
      const topic = `t-${randomUUID()}`;
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: false });
      return {
        open: (o = {}) => kafka({ topic, client, groupId: o.receiver ?? 'receivers', consumer, waitMs: 500, ...o }),
      };
    },
  },
  30_000,
);

const enc = new TextEncoder();
const dec = new TextDecoder();

async function freshTopic(partitions = 3): Promise<string> {
  const topic = `t-${randomUUID()}`;
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: false });
  return topic;
}

describe('kafka batching and counters', () => {
  it('100 messages: one Produce, receives of whole kafkajs batches, commits far fewer than messages', { timeout: 30_000 }, async () => {
    const topic = await freshTopic(1);
    const tx = await kafka({ topic, client, consume: false });
    const rx = await kafka({ topic, client, consumer, ackDelayMs: 20 });
    await tx.sendBatch(Array.from({ length: 100 }, (_, i) => enc.encode(`m${i}`)));
    expect(tx.calls.send).toBe(1);
    const got: string[] = [];
    const signal = AbortSignal.timeout(20_000);
    while (got.length < 100) got.push(...(await rx.recvBatch(100, { signal })).map((b) => dec.decode(b)));
    // One partition: kafkajs hands the records over in order.
    expect(got).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`));
    expect(rx.calls.receive).toBeLessThan(20);
    await rx.close();
    expect(rx.calls.ack).toBeGreaterThanOrEqual(1);
    expect(rx.calls.ack).toBeLessThan(20);
    const [committed] = await admin.fetchOffsets({ groupId: `bertha-${topic}`, topics: [topic] });
    expect(committed!.partitions[0]!.offset).toBe('100');
    await tx.close();
  });

  it('the group is the key: messages of one group stay on one partition, in order, with their group', { timeout: 30_000 }, async () => {
    const topic = await freshTopic(4);
    const tx = await kafka({ topic, client, consume: false });
    const rx = await kafka({ topic, client, consumer });
    await tx.sendMessages(Array.from({ length: 20 }, (_, i) => ({ body: enc.encode(String(i)), group: `g${i % 2}` })));
    const got = [];
    const signal = AbortSignal.timeout(20_000);
    while (got.length < 20) got.push(...(await rx.recvMessages(20, { signal })));
    for (const g of ['g0', 'g1']) {
      const mine = got.filter((m) => m.group === g).map((m) => Number(dec.decode(m.body)));
      expect(mine).toEqual(Array.from({ length: 10 }, (_, i) => 2 * i + (g === 'g1' ? 1 : 0)));
      expect(new Set(got.filter((m) => m.group === g).map((m) => m.id.split(':')[0])).size).toBe(1);
    }
    await Promise.all([tx.close(), rx.close()]);
  });
});

describe('kafka faults', () => {
  it('a tombstone (null value) another producer wrote is reported, committed past, and receiving goes on', { timeout: 30_000 }, async () => {
    const topic = await freshTopic(1);
    const producer = client.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'k', value: null }] });
    await producer.disconnect();
    const tx = await kafka({ topic, client, consume: false });
    const reported: string[] = [];
    const rx = await kafka({ topic, client, consumer, onUndecodable: (u) => void reported.push(u.reason) });
    await tx.send(enc.encode('good'));
    expect(dec.decode(await rx.recv({ signal: AbortSignal.timeout(20_000) }))).toBe('good');
    expect(reported).toEqual([expect.stringContaining('tombstone')]);
    await Promise.all([tx.close(), rx.close()]);
    const [committed] = await admin.fetchOffsets({ groupId: `bertha-${topic}`, topics: [topic] });
    expect(committed!.partitions[0]!.offset).toBe('2');
  });

  it('a broker that goes away: sends report QueueUnavailableError, retry with backoff, and arrive once it is back', { timeout: 40_000 }, async () => {
    const own = await startKafkaBroker();
    own.createTopic('kept', 1);
    const errors: string[] = [];
    const ownClient = new Kafka({ brokers: [own.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const tx = await kafka({ topic: 'kept', client: ownClient, consume: false, onError: (e) => errors.push(e.code) });
    await own.stop();
    const sent = tx.send(enc.encode('kept'));
    await expect.poll(() => errors.length, { timeout: 15_000 }).toBeGreaterThan(0);
    expect(errors[0]).toBe('ERR_QUEUE_UNAVAILABLE');
    const back = await startKafkaBroker({ port: own.port });
    back.createTopic('kept', 1);
    await sent;
    expect(tx.queueStats.retries).toBeGreaterThan(0);
    expect(back.highWatermarks('kept')).toEqual([1]);
    await tx.close();
    await back.stop();
  });

  it('a missing topic is a QueueNotFoundError naming it', async () => {
    const topic = `nope-${randomUUID()}`;
    const err = await kafka({ topic, client }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueNotFoundError);
    expect((err as Error).message).toContain(topic);
  });

  it('brokers that do not answer: a QueueUnavailableError in bounded time', async () => {
    const port = await freePort();
    const err = await kafka({ topic: 't', client: { brokers: [`127.0.0.1:${port}`], retry: { retries: 1, initialRetryTime: 50 } }, openTimeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueUnavailableError);
  });
});
