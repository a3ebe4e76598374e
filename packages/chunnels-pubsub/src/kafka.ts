/**
 * `@bertha/chunnels-pubsub/kafka`: a base connection to a Kafka topic (needs
 * the optional peer dependency kafkajs).
 */
import { Kafka, logLevel, type ConsumerConfig, type KafkaConfig } from 'kafkajs';
import { AbortError } from '@bertha/core';
import { QueueConn, type QueueConnOptions } from './queue-conn.js';
import { classifyKafkaError, KafkaDriver } from './services/kafka.js';

export { KAFKA_LIMITS } from './services/kafka.js';

export interface KafkaOptions extends QueueConnOptions {
  /** The topic (it must exist: create it with the partitions you want). */
  readonly topic: string;
  /** A kafkajs client of yours, or the configuration for one made here (`brokers`, `ssl`, `sasl`, …; logging off unless you set `logLevel`). */
  readonly client: Kafka | KafkaConfig;
  /**
   * The consumer group: receivers of one group compete for the messages,
   * each group gets every message. Default `bertha-<topic>`.
   */
  readonly groupId?: string;
  /**
   * Consumer settings (session timeout, heartbeat interval, rebalance
   * timeout…). A group without committed offsets starts at the beginning of
   * the topic.
   */
  readonly consumer?: Omit<ConsumerConfig, 'groupId'>;
  /** Bounds opening (metadata check and, for a receiver, joining the group). Default 30,000 ms. */
  readonly openTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * Opens a connection to an existing topic: one metadata call checks that it
 * exists (`QueueNotFoundError`) and that the brokers answer
 * (`QueueUnavailableError`); a receiving connection then joins its consumer
 * group and resolves once the group has given it its partitions.
 */
export async function kafka(opts: KafkaOptions): Promise<QueueConn> {
  const client = opts.client instanceof Kafka ? opts.client : new Kafka({ logLevel: logLevel.NOTHING, ...opts.client });
  const signal = AbortSignal.any([AbortSignal.timeout(opts.openTimeoutMs ?? 30_000), ...(opts.signal ? [opts.signal] : [])]);
  const admin = client.admin();
  // The connection retries sends itself (QueueConn), so that `calls` counts every Produce.
  const producer = client.producer({ retry: { retries: 0 }, allowAutoTopicCreation: false });
  const consume = opts.consume ?? true;
  // A fetch waits no longer than a receive call would (it also bounds how long close() waits for one).
  const consumerConfig = { heartbeatInterval: 1_000, maxWaitTimeInMs: opts.waitMs ?? 1_000, ...opts.consumer };
  const consumer = consume ? client.consumer({ ...consumerConfig, groupId: opts.groupId ?? `bertha-${opts.topic}`, allowAutoTopicCreation: false }) : undefined;
  const disconnect = async () => {
    await Promise.allSettled([admin.disconnect(), producer.disconnect(), consumer?.disconnect()]);
  };
  try {
    await abortable(
      (async () => {
        await admin.connect();
        const topics = await admin.listTopics();
        if (!topics.includes(opts.topic)) throw Object.assign(new Error(`no topic '${opts.topic}'`), { type: 'UNKNOWN_TOPIC_OR_PARTITION' });
        await admin.disconnect();
        await producer.connect();
      })(),
      signal,
    );
    const driver = new KafkaDriver({ topic: opts.topic, producer, consumer, disconnect, consumerConfig });
    if (consumer !== undefined) {
      const joined = new Promise<void>((resolve) =>
        consumer.on(consumer.events.GROUP_JOIN, (e) => {
          driver.assigned(e.payload.memberAssignment[opts.topic] ?? []);
          resolve();
        }),
      );
      await abortable(
        (async () => {
          await consumer.connect();
          await consumer.subscribe({ topic: opts.topic, fromBeginning: true });
          await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (payload) => driver.handOver(payload) });
          await joined;
        })(),
        signal,
      );
    }
    return new QueueConn(driver, opts);
  } catch (err) {
    await disconnect();
    if (err instanceof AbortError && opts.signal?.aborted !== true) {
      throw classifyKafkaError(Object.assign(new Error(`no answer within ${opts.openTimeoutMs ?? 30_000} ms`), { name: 'KafkaJSConnectionError' }), opts.topic);
    }
    throw err instanceof AbortError ? err : classifyKafkaError(err, opts.topic);
  }
}

/** `p`, or an AbortError when `signal` aborts first. */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AbortError(signal.reason));
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
