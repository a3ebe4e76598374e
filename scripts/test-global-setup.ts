// Global test setup: servers that tests share are started here, on free loopback
// ports, handed to tests with `project.provide` (tests read them with
// `inject('<key>')` from vitest), and stopped in the returned teardown.
//
// Each file in scripts/servers/ that exports `provide` contributes one server:
// `provide(project)` starts it, provides its address under a key that the same
// file declares on vitest's `ProvidedContext`, and returns its stop function.
// Adding a server is adding a file; this one does not change.
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TestProject } from 'vitest/node';

export type ServerProvider = (project: TestProject) => Promise<() => Promise<void>>;

const serversDir = fileURLToPath(new URL('./servers/', import.meta.url));

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const teardowns: Array<() => Promise<void>> = [];
  const teardown = async () => {
    for (const t of teardowns.reverse()) await t();
  };
  try {
    const files = readdirSync(serversDir).filter((f) => f.endsWith('.ts')).sort();
    const providers: ServerProvider[] = [];
    for (const file of files) {
      const mod = (await import(pathToFileURL(`${serversDir}${file}`).href)) as { provide?: ServerProvider };
      if (mod.provide !== undefined) providers.push(mod.provide);
    }
    // Servers start concurrently (a JVM emulator takes seconds); a failure stops the others.
    const started = await Promise.allSettled(providers.map((p) => p(project)));
    for (const s of started) if (s.status === 'fulfilled') teardowns.push(s.value);
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}
