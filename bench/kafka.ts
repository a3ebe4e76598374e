/**
 * `pnpm bench kafka [repetitions]`: Kafka send-to-receive latency through the
 * kafka() base connection vs kafkajs directly (packages/chunnels-pubsub/bench/kafka-latency.ts),
 * 100 messages 75 ms apart, on the in-process Kafka test broker.
 */
import { kafkaLatency } from '../packages/chunnels-pubsub/bench/kafka-latency.js';
import { report } from './lib/results.js';

const repetitions = Number(process.argv[2] ?? 4);
report('kafka', await kafkaLatency({ count: 100, gapMs: 75, repetitions }));
