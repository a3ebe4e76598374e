// Starts the Kafka wire-protocol test broker (packages/chunnels-pubsub/test/support/kafka-broker)
// in the test run's main process, on a free loopback port. Tests that need a broker of
// their own (to stop it, or with other options) call startKafkaBroker themselves.
import type { TestProject } from 'vitest/node';
import { startKafkaBroker } from '../../packages/chunnels-pubsub/test/support/kafka-broker/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `host:port` of the shared Kafka test broker, for kafkajs `brokers` or librdkafka `bootstrap.servers`. */
    kafkaBrokers: string;
  }
}

export async function provide(project: TestProject): Promise<() => Promise<void>> {
  const broker = await startKafkaBroker({ defaultPartitions: 3 });
  project.provide('kafkaBrokers', broker.bootstrap);
  return () => broker.stop();
}
