// Global test setup: servers that tests share are started here, on free loopback
// ports, handed to tests with `project.provide` (tests read them with
// `inject('<key>')` from vitest), and stopped in the returned teardown.
// Packages register their servers in scripts/servers/*.ts as they need them.
import type { TestProject } from 'vitest/node';
import { startRedis } from './servers/redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the shared Redis server, e.g. `redis://127.0.0.1:6380`. */
    redisUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const teardowns: Array<() => Promise<void>> = [];
  const teardown = async () => {
    for (const t of teardowns.reverse()) await t();
  };
  try {
    const redis = await startRedis();
    teardowns.push(() => redis.stop());
    project.provide('redisUrl', redis.url);
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}
