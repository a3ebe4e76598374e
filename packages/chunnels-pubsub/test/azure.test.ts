import { randomUUID } from 'node:crypto';
import { QueueClient } from '@azure/storage-queue';
import { azureQueue } from '@bertha/chunnels-pubsub/azure';
import { describe, expect, inject, it } from 'vitest';
import { QueueAuthError, QueueNotFoundError, QueueUnavailableError } from '../src/index.js';
import { freePort } from '../../../scripts/servers/redis.js';
import { azuriteConnectionString } from './support/azurite.js';
import { describeQueueCompliance } from './compliance.js';

const connectionString = inject('azuriteConnectionString');
const leaseMs = 1_000;

describeQueueCompliance('azure storage queue', {
  leaseMs,
  semantics: { ordering: 'none', fanOut: false },
  foreignBodies: true,
  fresh: async () => {
    const queueName = `t-${randomUUID()}`;
    const admin = new QueueClient(connectionString, queueName);
    await admin.create();
    return {
      open: (o = {}) => azureQueue({ connectionString, queueName, leaseMs, pollIntervalMs: 50, ...o }),
      writeForeign: async () => {
        await admin.sendMessage('{"not":"ours"}');
      },
      cleanup: async () => {
        await admin.delete();
      },
    };
  },
});

describe('azure storage queue faults', () => {
  it('a missing queue is a QueueNotFoundError naming it', async () => {
    const err = await azureQueue({ connectionString, queueName: 'no-such-queue' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueNotFoundError);
    expect((err as Error).message).toContain('no-such-queue');
  });

  it('a wrong account key is a QueueAuthError', async () => {
    const endpoint = /QueueEndpoint=(http:\/\/[^/;]+)/.exec(connectionString)?.[1] ?? '';
    const wrong = azuriteConnectionString(endpoint, Buffer.from('not the key').toString('base64'));
    await expect(azureQueue({ connectionString: wrong, queueName: 'some-queue' })).rejects.toBeInstanceOf(QueueAuthError);
  });

  it('a service that is down is a QueueUnavailableError', async () => {
    const down = azuriteConnectionString(`http://127.0.0.1:${await freePort()}`);
    await expect(azureQueue({ connectionString: down, queueName: 'some-queue' })).rejects.toBeInstanceOf(QueueUnavailableError);
  });
});
