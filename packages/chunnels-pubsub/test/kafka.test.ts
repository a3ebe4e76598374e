import { randomUUID } from 'node:crypto';
import { kafka } from '@bertha/chunnels-pubsub/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { QueueNotFoundError, QueueUnavailableError } from '../src/index.js';
import { describeQueueCompliance } from './compliance.js';
import { freePort } from '../../../scripts/servers/redis.js';

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

describe('kafka faults', () => {
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
