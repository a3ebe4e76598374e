// The SQS emulator (fauxqs, in this process) for @bertha/chunnels-pubsub's tests.
import type { TestProject } from 'vitest/node';
import { startSqsEmulator } from '../../packages/chunnels-pubsub/test/support/sqs-emulator.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Endpoint of the shared SQS emulator, e.g. `http://127.0.0.1:41577`. */
    sqsEndpoint: string;
  }
}

export async function provide(project: TestProject): Promise<() => Promise<void>> {
  const sqs = await startSqsEmulator();
  project.provide('sqsEndpoint', sqs.endpoint);
  return () => sqs.stop();
}
