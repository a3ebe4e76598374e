/**
 * `@bertha/chunnels-pubsub/sqs`: a base connection to an AWS SQS queue (needs
 * the optional peer dependency @aws-sdk/client-sqs).
 */
import { GetQueueAttributesCommand, SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';
import { InvalidArgumentError } from '@bertha/core';
import { QueueConn, type QueueConnOptions } from './queue-conn.js';
import { classifySqsError, SqsDriver } from './services/sqs.js';

export { SQS_LIMITS } from './services/sqs.js';

export interface SqsOptions extends QueueConnOptions {
  /** The queue's URL; a FIFO queue (name ending in `.fifo`) orders per message group. */
  readonly queueUrl: string;
  /**
   * An SQSClient of yours, or the configuration for one made here (region,
   * endpoint, credentials). A client made here does no retries of its own:
   * the connection retries, so that `calls` counts every call.
   */
  readonly client?: SQSClient | SQSClientConfig;
  /** Visibility timeout of received messages, extended while held. Default 30,000 ms; whole seconds. */
  readonly leaseMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * Opens a connection to an existing queue: one GetQueueAttributes call
 * checks that it exists (`QueueNotFoundError`), that the credentials work
 * (`QueueAuthError`) and whether it is FIFO.
 */
export async function sqs(opts: SqsOptions): Promise<QueueConn> {
  const leaseMs = opts.leaseMs ?? 30_000;
  if (!(leaseMs >= 1000 && leaseMs <= 43_200_000)) throw new InvalidArgumentError(`sqs: leaseMs must be between 1,000 and 43,200,000 (SQS visibility timeout), got ${leaseMs}`);
  const owns = !(opts.client instanceof SQSClient);
  const client = opts.client instanceof SQSClient ? opts.client : new SQSClient({ maxAttempts: 1, ...opts.client });
  try {
    const res = await client.send(new GetQueueAttributesCommand({ QueueUrl: opts.queueUrl, AttributeNames: ['FifoQueue'] }), {
      abortSignal: opts.signal,
    });
    const fifo = res.Attributes?.FifoQueue === 'true';
    return new QueueConn(new SqsDriver(client, opts.queueUrl, fifo, leaseMs, owns), opts);
  } catch (err) {
    if (owns) client.destroy();
    throw classifySqsError(err, opts.queueUrl);
  }
}
