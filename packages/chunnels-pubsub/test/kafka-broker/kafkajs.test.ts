// Fidelity of the Kafka test broker with kafkajs 2.x: the API versions kafkajs
// negotiates, producing to and consuming from several partitions, and a consumer group
// rebalancing between two members.
import { Kafka, logLevel, type Consumer, type EachMessagePayload } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafkaBroker, type KafkaBroker } from '../support/kafka-broker/index.js';

let broker: KafkaBroker;
let kafka: Kafka;

beforeAll(async () => {
  broker = await startKafkaBroker({ defaultPartitions: 3 });
  kafka = new Kafka({ clientId: 'fidelity', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
});
afterAll(() => broker.stop());

const topicName = () => `t-${randomUUID()}`;

/** Resolves once `predicate` holds, polling; fails after `ms`. */
async function until(predicate: () => boolean, ms = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('kafkajs against the test broker', () => {
  it('creates topics with the admin client and lists their partitions', async () => {
    const admin = kafka.admin();
    await admin.connect();
    const topic = topicName();
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] })).toBe(true);
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] })).toBe(false);
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(meta.topics[0]!.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2, 3]);
    expect(await admin.listTopics()).toContain(topic);
    await admin.disconnect();
  });

  it('stores produced batches with consecutive offsets per partition and returns them in order', async () => {
    const topic = topicName();
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
    const producer = kafka.producer();
    await producer.connect();
    const sent: Array<{ partition: number; value: string }> = [];
    for (let i = 0; i < 30; i++) sent.push({ partition: i % 3, value: `m${i}` });
    // One batch of 3 messages per call plus single sends: offsets are counted per record, not per batch.
    const first = await producer.send({ topic, messages: sent.slice(0, 3).map((m) => ({ ...m, key: 'k' })) });
    expect(first.map((r) => r.baseOffset).sort()).toEqual(['0', '0', '0']);
    for (const m of sent.slice(3)) await producer.send({ topic, messages: [{ partition: m.partition, value: m.value }] });
    expect(broker.highWatermarks(topic)).toEqual([10, 10, 10]);
    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets.map((o) => Number(o.high))).toEqual([10, 10, 10]);
    expect(offsets.map((o) => Number(o.low))).toEqual([0, 0, 0]);

    const consumer = kafka.consumer({ groupId: `g-${randomUUID()}`, maxWaitTimeInMs: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const got = new Map<number, Array<{ offset: number; value: string }>>();
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        got.set(partition, [...(got.get(partition) ?? []), { offset: Number(message.offset), value: message.value!.toString() }]);
      },
    });
    await until(() => [...got.values()].reduce((n, l) => n + l.length, 0) === 30, 20_000, '30 messages');
    for (let p = 0; p < 3; p++) {
      expect(got.get(p)!.map((m) => m.offset)).toEqual([...Array(10).keys()]);
      expect(got.get(p)!.map((m) => m.value)).toEqual(sent.filter((m) => m.partition === p).map((m) => m.value));
    }
    await consumer.disconnect();
    await producer.disconnect();
    await admin.disconnect();
  });

  it('long-polls: a consumer waiting on an empty topic gets a message produced later', async () => {
    const topic = topicName();
    const consumer = kafka.consumer({ groupId: `g-${randomUUID()}`, maxWaitTimeInMs: 2_000 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const got: string[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void got.push(message.value!.toString()) });
    const producer = kafka.producer();
    await producer.connect();
    await new Promise((r) => setTimeout(r, 300));
    await producer.send({ topic, messages: [{ value: 'late' }] });
    await until(() => got.length === 1, 20_000, 'the late message');
    expect(got).toEqual(['late']);
    await consumer.disconnect();
    await producer.disconnect();
  });

  it('resumes a group from its committed offsets (gzip batches pass through untouched)', async () => {
    const topic = topicName();
    const groupId = `g-${randomUUID()}`;
    const producer = kafka.producer();
    await producer.connect();
    const { CompressionTypes } = await import('kafkajs');
    await producer.send({ topic, compression: CompressionTypes.GZIP, messages: [1, 2, 3, 4].map((i) => ({ partition: 0, value: `a${i}` })) });
    const consume = async (n: number): Promise<string[]> => {
      const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 500 });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const got: string[] = [];
      await consumer.run({ autoCommitThreshold: 1, eachMessage: async ({ message }) => void got.push(message.value!.toString()) });
      await until(() => got.length >= n, 20_000, `${n} messages`);
      await consumer.disconnect();
      return got;
    };
    expect(await consume(4)).toEqual(['a1', 'a2', 'a3', 'a4']);
    await producer.send({ topic, messages: [{ partition: 0, value: 'b1' }] });
    expect(await consume(1)).toEqual(['b1']);
    const admin = kafka.admin();
    await admin.connect();
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(committed[0]!.partitions.find((p) => p.partition === 0)!.offset).toBe('5');
    await admin.disconnect();
    await producer.disconnect();
  });

  it('rebalances a group between two consumers and back, each partition owned by one member, nothing lost', async () => {
    const topic = topicName();
    const groupId = `g-${randomUUID()}`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();

    const received = new Map<string, string>(); // value → consumer
    const assignments = new Map<string, number[]>();
    const start = async (name: string): Promise<Consumer> => {
      const c = kafka.consumer({ groupId, sessionTimeout: 6_000, heartbeatInterval: 200, rebalanceTimeout: 10_000, maxWaitTimeInMs: 500 });
      c.on(c.events.GROUP_JOIN, (e) => assignments.set(name, e.payload.memberAssignment[topic] ?? []));
      await c.connect();
      await c.subscribe({ topic, fromBeginning: true });
      await c.run({
        eachMessage: async ({ message }: EachMessagePayload) => void received.set(message.value!.toString(), name),
      });
      return c;
    };
    const send = async (from: number, to: number) => {
      for (let i = from; i < to; i++) await producer.send({ topic, messages: [{ partition: i % 4, value: `v${i}` }] });
    };

    const a = await start('a');
    await until(() => assignments.get('a')?.length === 4, 20_000, 'a to own all 4 partitions');
    await send(0, 20);
    await until(() => received.size === 20, 20_000, 'first 20');

    const b = await start('b');
    await until(() => assignments.get('a')?.length === 2 && assignments.get('b')?.length === 2, 30_000, 'a 2 + b 2 partitions');
    expect([...assignments.get('a')!, ...assignments.get('b')!].sort()).toEqual([0, 1, 2, 3]);
    const group = broker.describeGroup(groupId)!;
    expect(group.state).toBe('Stable');
    expect(group.memberIds).toHaveLength(2);
    expect(group.generationId).toBeGreaterThanOrEqual(2);
    await send(20, 60);
    await until(() => received.size === 60, 20_000, 'next 40');
    const byB = [...received].filter(([v, c]) => c === 'b' && Number(v.slice(1)) >= 20).map(([v]) => Number(v.slice(1)) % 4);
    expect(new Set(byB)).toEqual(new Set(assignments.get('b')));

    await b.disconnect(); // LeaveGroup: a takes every partition back
    await until(() => assignments.get('a')?.length === 4, 30_000, 'a to own all partitions again');
    await send(60, 80);
    await until(() => received.size === 80, 20_000, 'last 20');
    expect(broker.describeGroup(groupId)!.memberIds).toHaveLength(1);
    await a.disconnect();
    await producer.disconnect();
  });
});
