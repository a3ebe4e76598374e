/**
 * Azurite's queue service in a child process, in memory, on a free loopback
 * port (it binds port 0 and prints the address). Used by the test setup
 * (scripts/servers/azurite.ts) and the bench.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Azurite's well-known development account. */
export const DEV_ACCOUNT = 'devstoreaccount1';
export const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  readonly connectionString: string;
  stop(): Promise<void>;
}

export function azuriteConnectionString(endpoint: string, key = DEV_KEY): string {
  return `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${key};QueueEndpoint=${endpoint}/${DEV_ACCOUNT};`;
}

export async function startAzurite(): Promise<Azurite> {
  const require = createRequire(import.meta.url);
  const main = join(dirname(require.resolve('azurite/package.json')), 'dist/src/queue/main.js');
  const child = spawn(
    process.execPath,
    [main, '--queueHost', '127.0.0.1', '--queuePort', '0', '--inMemoryPersistence', '--extentMemoryLimit', '64', '--skipApiVersionCheck', '--disableTelemetry', '--silent'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`Azurite did not start within 30 s: ${output}`)), 30_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /listens on (http:\/\/[^\s]+)/.exec(output);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => fail(new Error(`Azurite exited (${code}) before it listened: ${output}`)));
  });
  return { connectionString: azuriteConnectionString(endpoint), stop: () => kill(child) };
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}
