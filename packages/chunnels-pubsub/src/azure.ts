/**
 * `@bertha/chunnels-pubsub/azure`: a base connection to an Azure Storage
 * Queue (needs the optional peer dependency @azure/storage-queue).
 */
import { QueueClient } from '@azure/storage-queue';
import { InvalidArgumentError } from '@bertha/core';
import { QueueConn, type QueueConnOptions } from './queue-conn.js';
import { AzureQueueDriver, classifyAzureError } from './services/azure-queue.js';

export { AZURE_QUEUE_LIMITS } from './services/azure-queue.js';

export interface AzureQueueOptions extends QueueConnOptions {
  /** A storage account connection string (with `queueName`), or a QueueClient of yours. */
  readonly connectionString?: string;
  readonly queueName?: string;
  readonly client?: QueueClient;
  /** Visibility timeout of received messages, extended while held. Default 30,000 ms; whole seconds. */
  readonly leaseMs?: number;
  /** Azure has no long polling: how long to wait after a receive that found nothing. Default 200 ms. */
  readonly pollIntervalMs?: number;
  readonly signal?: AbortSignal;
}

/** Opens a connection to an existing queue: one GetProperties call checks that it exists and that the credentials work. */
export async function azureQueue(opts: AzureQueueOptions): Promise<QueueConn> {
  const leaseMs = opts.leaseMs ?? 30_000;
  if (!(leaseMs >= 1000 && leaseMs <= 604_800_000)) throw new InvalidArgumentError(`azureQueue: leaseMs must be between 1,000 and 604,800,000, got ${leaseMs}`);
  let client = opts.client;
  if (client === undefined) {
    if (opts.connectionString === undefined || opts.queueName === undefined) {
      throw new InvalidArgumentError('azureQueue: give `client`, or `connectionString` and `queueName`');
    }
    // No retries in the SDK: the connection retries, so that `calls` counts every call.
    client = new QueueClient(opts.connectionString, opts.queueName, { retryOptions: { maxTries: 1 } });
  }
  try {
    await client.getProperties({ abortSignal: opts.signal });
  } catch (err) {
    throw classifyAzureError(err, client.name);
  }
  return new QueueConn(new AzureQueueDriver(client, leaseMs, opts.pollIntervalMs ?? 200), opts);
}
