// Azurite's queue service (npm, a child process, in memory) for @bertha/chunnels-pubsub's tests.
import type { TestProject } from 'vitest/node';
import { startAzurite } from '../../packages/chunnels-pubsub/test/support/azurite.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Connection string of the shared Azurite queue service (the well-known development account). */
    azuriteConnectionString: string;
  }
}

export async function provide(project: TestProject): Promise<() => Promise<void>> {
  const azurite = await startAzurite();
  project.provide('azuriteConnectionString', azurite.connectionString);
  return () => azurite.stop();
}
