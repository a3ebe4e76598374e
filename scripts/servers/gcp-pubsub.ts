// Google's Pub/Sub emulator (Google Cloud SDK, Java 17) for @bertha/chunnels-pubsub's tests.
// Where the SDK is not installed, tests say so in the summary (skipped); under CI=true its
// absence fails the run.
import type { TestProject } from 'vitest/node';
import { findPubSubEmulator, startPubSubEmulator } from '../../packages/chunnels-pubsub/test/support/pubsub-emulator.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `host:port` of the shared Pub/Sub emulator, or '' where it is not installed (outside CI only). */
    pubsubEmulatorHost: string;
  }
}

export async function provide(project: TestProject): Promise<() => Promise<void>> {
  if (findPubSubEmulator() === undefined && process.env.CI !== 'true') {
    project.provide('pubsubEmulatorHost', '');
    return async () => undefined;
  }
  const emulator = await startPubSubEmulator();
  project.provide('pubsubEmulatorHost', emulator.host);
  return () => emulator.stop();
}
