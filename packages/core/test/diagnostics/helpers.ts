import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

const subscriptions: Array<[string, (m: unknown) => void]> = [];

/** Every message published on channel `name` from now until the test ends (call it inside a test). */
export function heard<M>(name: string): M[] {
  const messages: M[] = [];
  const fn = (m: unknown) => void messages.push(m as M);
  subscribe(name, fn);
  subscriptions.push([name, fn]);
  return messages;
}

afterEach(() => {
  for (const [name, fn] of subscriptions.splice(0)) unsubscribe(name, fn);
});

/** Runs an ESM `script` (workspace imports resolve) in a child Node with `env` on top of this one's, `DEBUG` unset unless given. */
export function runScript(script: string, env: Record<string, string | undefined>): SpawnSyncReturns<string> {
  const root = fileURLToPath(new URL('../../../..', import.meta.url));
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    env: { ...process.env, DEBUG: undefined, DEBUG_COLORS: 'no', ...env },
    timeout: 30_000,
    encoding: 'utf8',
  });
}
