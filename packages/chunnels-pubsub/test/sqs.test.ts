import { randomUUID } from 'node:crypto';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { sqs } from '@bertha/chunnels-pubsub/sqs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { QueueNotFoundError, QueueUnavailableError } from '../src/index.js';
import { describeQueueCompliance } from './compliance.js';
import { freePort } from '../../../scripts/servers/redis.js';
import { startSqsEmulator } from './support/sqs-emulator.js';

const endpoint = inject('sqsEndpoint');
const client = { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
const admin = new SQSClient({ ...client, maxAttempts: 1 });
const leaseMs = 1_000;
// The emulator lives in the setup process: queues are made through the API.
const { CreateQueueCommand, DeleteQueueCommand } = await import('@aws-sdk/client-sqs');

async function createQueue(fifo: boolean): Promise<string> {
  const name = `t-${randomUUID()}${fifo ? '.fifo' : ''}`;
  const res = await admin.send(new CreateQueueCommand({ QueueName: name, Attributes: fifo ? { FifoQueue: 'true' } : {} }));
  return res.QueueUrl ?? '';
}

afterAll(() => admin.destroy());

for (const fifo of [false, true]) {
  describeQueueCompliance(fifo ? 'sqs fifo' : 'sqs standard', {
    leaseMs,
    semantics: { ordering: fifo ? 'group' : 'none', fanOut: false },
    foreignBodies: true,
    fresh: async () => {
      const queueUrl = await createQueue(fifo);
      return {
        open: (o = {}) => sqs({ queueUrl, client, leaseMs, waitMs: 1_000, ...o }),
        writeForeign: async () => {
          await admin.send(
            new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"not":"ours"}', ...(fifo ? { MessageGroupId: 'x', MessageDeduplicationId: randomUUID() } : {}) }),
          );
        },
        cleanup: async () => {
          await admin.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
        },
      };
    },
  });
}

describe('sqs faults', () => {
  it('a missing queue is a QueueNotFoundError naming it', async () => {
    const queueUrl = `${endpoint}/000000000000/nope-${randomUUID()}`;
    const err = await sqs({ queueUrl, client }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueNotFoundError);
    expect((err as Error).message).toContain(queueUrl);
  });

  it('a service that is down: clear error at open; sends retry with backoff and lose nothing once it is back', { timeout: 30_000 }, async () => {
    const port = await freePort();
    const down = { ...client, endpoint: `http://127.0.0.1:${port}` };
    const err = await sqs({ queueUrl: `http://127.0.0.1:${port}/000000000000/q`, client: down }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueUnavailableError);

    // A connection whose emulator stops and comes back (its own emulator: the shared one stays up).
    const own = await startSqsEmulator();
    const name = `q-${randomUUID()}`;
    const queueUrl = own.createQueue(name);
    const errors: string[] = [];
    const conn = { queueUrl, client: { ...client, endpoint: own.endpoint } };
    const tx = await sqs({ ...conn, consume: false, onError: (e) => errors.push(e.code) });
    await own.stop();
    const sent = tx.send(new TextEncoder().encode('kept'));
    await expect.poll(() => errors.length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(errors[0]).toBe('ERR_QUEUE_UNAVAILABLE');
    const back = await startSqsEmulator(own.port);
    back.createQueue(name);
    await sent;
    expect(tx.queueStats.retries).toBeGreaterThan(0);
    const rx = await sqs(conn);
    expect(new TextDecoder().decode(await rx.recv({ signal: AbortSignal.timeout(10_000) }))).toBe('kept');
    await Promise.all([tx.close(), rx.close()]);
    await back.stop();
  });
});
