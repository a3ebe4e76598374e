/**
 * Send-to-receive latency on Kafka through the `kafka()` base connection vs
 * kafkajs called directly (a producer and a consumer-group consumer with the
 * same settings), both against the Kafka wire-protocol test broker in this
 * process: `count` messages `gapMs` apart per repetition, subject and baseline
 * interleaved (ABAB…), each on a fresh topic of one partition. It lives in
 * the package (run by bench/kafka.ts) because kafkajs is this package's
 * dependency only.
 */
import { randomUUID } from 'node:crypto';
import { kafka } from '@bertha/chunnels-pubsub/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { startKafkaBroker } from '../test/support/kafka-broker/index.js';
import { percentile, result, type Result } from '../../../bench/lib/results.js';

export interface KafkaLatencyOptions {
  readonly count: number;
  readonly gapMs: number;
  readonly repetitions: number;
}

const consumerConfig = { sessionTimeout: 10_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 1_000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stamp = () => Buffer.from(String(performance.now()));
const since = (b: Uint8Array) => performance.now() - Number(Buffer.from(b).toString());

export async function kafkaLatency(opts: KafkaLatencyOptions): Promise<Result[]> {
  const broker = await startKafkaBroker();
  const client = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const topic = () => {
    const t = `bench-${randomUUID()}`;
    broker.createTopic(t, 1);
    return t;
  };

  /** Through kafka(): QueueConn send and recv. */
  async function chunnel(): Promise<number[]> {
    const t = topic();
    const tx = await kafka({ topic: t, client, consume: false });
    const rx = await kafka({ topic: t, client, consumer: consumerConfig });
    const lat: number[] = [];
    const receiving = (async () => {
      while (lat.length < opts.count) lat.push(since(await rx.recv({ signal: AbortSignal.timeout(30_000) })));
    })();
    for (let i = 0; i < opts.count; i++) {
      await tx.send(stamp());
      await sleep(opts.gapMs);
    }
    await receiving;
    await Promise.all([tx.close(), rx.close()]);
    return lat;
  }

  /** kafkajs directly: producer.send per message, eachMessage with a commit per message (what kafka() does per ack). */
  async function sdk(): Promise<number[]> {
    const t = topic();
    const producer = client.producer();
    const consumer = client.consumer({ groupId: `g-${t}`, ...consumerConfig });
    await Promise.all([producer.connect(), consumer.connect()]);
    await consumer.subscribe({ topic: t, fromBeginning: true });
    const lat: number[] = [];
    let joined!: () => void;
    const ready = new Promise<void>((r) => (joined = r));
    consumer.on(consumer.events.GROUP_JOIN, () => joined());
    await consumer.run({ eachMessage: async ({ message }) => void lat.push(since(message.value!)) });
    await ready;
    for (let i = 0; i < opts.count; i++) {
      await producer.send({ topic: t, acks: -1, messages: [{ value: stamp() }] });
      await sleep(opts.gapMs);
    }
    const deadline = Date.now() + 30_000;
    while (lat.length < opts.count && Date.now() < deadline) await sleep(10);
    await Promise.all([producer.disconnect(), consumer.disconnect()]);
    return lat;
  }

  const p50: Record<'chunnel' | 'sdk', number[]> = { chunnel: [], sdk: [] };
  const p99: Record<'chunnel' | 'sdk', number[]> = { chunnel: [], sdk: [] };
  const ratios: number[] = [];
  try {
    for (let rep = 0; rep < opts.repetitions; rep++) {
      // ABAB…, starting with the other one every repetition.
      const order = rep % 2 === 0 ? (['sdk', 'chunnel'] as const) : (['chunnel', 'sdk'] as const);
      for (const kind of order) {
        const lat = (kind === 'sdk' ? await sdk() : await chunnel()).sort((a, b) => a - b);
        p50[kind].push(percentile(lat, 50));
        p99[kind].push(percentile(lat, 99));
      }
      ratios.push(p50.chunnel.at(-1)! / p50.sdk.at(-1)!);
    }
  } finally {
    await broker.stop();
  }
  const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
  const sorted = [...ratios].sort((a, b) => a - b);
  console.log(
    `kafka p50 ratio per repetition: median ${median(ratios).toFixed(3)}, p25–p75 ${percentile(sorted, 25).toFixed(3)}–${percentile(sorted, 75).toFixed(3)} (${opts.repetitions} repetitions)`,
  );
  const what = `${opts.count} messages ${opts.gapMs} ms apart`;
  return [
    result(`kafka p50 send-to-receive latency, ${what}: kafka() base connection vs kafkajs directly`, median(p50.chunnel), median(p50.sdk), 'ms'),
    result(`kafka p99 send-to-receive latency, ${what}: kafka() base connection vs kafkajs directly`, median(p99.chunnel), median(p99.sdk), 'ms'),
    result(`kafka p50 latency ratio per repetition (median of ${opts.repetitions}): kafka() vs kafkajs directly`, median(ratios), 1, 'ratio'),
  ];
}
