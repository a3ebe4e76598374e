/**
 * Google's Pub/Sub emulator (`cloud-pubsub-emulator` from the Google Cloud
 * SDK, Java 17) on a free loopback port. Found at PUBSUB_EMULATOR_BIN, in the
 * SDK's usual places, or next to `gcloud` on the PATH.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { PubSub } from '@google-cloud/pubsub';
import { freePort } from '../../../../scripts/servers/redis.js';

const RELATIVE = 'platform/pubsub-emulator/bin/cloud-pubsub-emulator';

export function findPubSubEmulator(): string | undefined {
  const candidates = [process.env.PUBSUB_EMULATOR_BIN, `/usr/lib/google-cloud-sdk/${RELATIVE}`, `/usr/share/google-cloud-sdk/${RELATIVE}`, `/opt/google-cloud-sdk/${RELATIVE}`];
  try {
    const gcloud = execFileSync('sh', ['-c', 'command -v gcloud'], { encoding: 'utf8' }).trim();
    if (gcloud !== '') candidates.push(join(dirname(dirname(gcloud)), RELATIVE));
  } catch {
    // no gcloud on the PATH
  }
  return candidates.find((c): c is string => c !== undefined && existsSync(c));
}

export interface PubSubEmulator {
  /** `127.0.0.1:<port>`, what PUBSUB_EMULATOR_HOST takes. */
  readonly host: string;
  stop(): Promise<void>;
}

export async function startPubSubEmulator(): Promise<PubSubEmulator> {
  const bin = findPubSubEmulator();
  if (bin === undefined) {
    throw new Error('the Pub/Sub emulator is not installed: install the Google Cloud SDK component (apt-get install google-cloud-cli-pubsub-emulator, or gcloud components install pubsub-emulator) and Java 17, or set PUBSUB_EMULATOR_BIN');
  }
  const port = await freePort();
  const child = spawn(bin, ['--host=127.0.0.1', `--port=${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, JAVA_OPTS: process.env.JAVA_OPTS ?? '-Xmx256m -XX:+UseSerialGC' },
    detached: true,
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`the Pub/Sub emulator did not start within 60 s: ${output}`)), 60_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      void kill(child);
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Server started')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => fail(new Error(`the Pub/Sub emulator exited (${code}) before it listened: ${output}`)));
  });
  return { host: `127.0.0.1:${port}`, stop: () => kill(child) };
}

/** The launcher is a shell script that starts java: signal the whole process group. */
async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(-child.pid, 'SIGTERM');
  const timer = setTimeout(() => child.pid !== undefined && process.kill(-child.pid, 'SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/**
 * An SDK client of the emulator at `host`, for creating topics. Naming the universe keeps
 * it from probing for a GCE metadata server (a MetadataLookupWarning off GCE).
 */
export async function emulatorAdmin(host: string, projectId: string): Promise<PubSub> {
  const { PubSub } = await import('@google-cloud/pubsub');
  return new PubSub({ projectId, apiEndpoint: host, emulatorMode: true, universeDomain: 'googleapis.com' });
}

/** Creates a topic on the emulator at `host` (for examples that do not import the SDK themselves). */
export async function createTopic(host: string, projectId: string, name: string): Promise<void> {
  const admin = await emulatorAdmin(host, projectId);
  await admin.createTopic(name);
  await admin.close();
}
