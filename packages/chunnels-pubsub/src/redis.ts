/**
 * `@bertha/chunnels-pubsub/redis`: a base connection to a Redis stream
 * (needs the optional peer dependency ioredis).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { InvalidArgumentError } from '@bertha/core';
import { QueueConn, type QueueConnOptions } from './queue-conn.js';
import { classifyRedisError, RedisStreamsDriver } from './services/redis-streams.js';

export interface RedisStreamsOptions extends QueueConnOptions {
  /** A `redis://` URL, or an ioredis client of yours (duplicated once for blocking reads; you close it). */
  readonly redis: string | Redis;
  readonly stream: string;
  /** Consumer group: receivers with the same name compete, each name gets every entry. Default 'default'. */
  readonly receiver?: string;
  /** This consumer's name within the group. Default: a random UUID. */
  readonly consumer?: string;
  /** Idle time after which another consumer takes over an entry held and not extended. Default 30,000 ms. */
  readonly leaseMs?: number;
  /** Where a consumer group seen for the first time starts: the stream's first entry (default) or new entries only. */
  readonly from?: 'start' | 'new';
  /** Default 1 MiB. */
  readonly maxMessageBytes?: number;
  /** Trim the stream to about this many entries (XADD MAXLEN ~). Default: no trimming. */
  readonly maxLen?: number;
}

/**
 * Opens a connection: a PING checks the server and credentials
 * (`QueueUnavailableError`, `QueueAuthError`), and a receiving connection
 * creates its consumer group (and the stream) if missing.
 */
export async function redisStreams(opts: RedisStreamsOptions): Promise<QueueConn> {
  const leaseMs = opts.leaseMs ?? 30_000;
  if (!(leaseMs >= 100)) throw new InvalidArgumentError(`redisStreams: leaseMs must be at least 100, got ${leaseMs}`);
  const group = opts.receiver ?? 'default';
  const owns = typeof opts.redis === 'string';
  // Fail calls fast while the server is away; the connection retries them with backoff.
  const client = typeof opts.redis === 'string' ? new Redis(opts.redis, { maxRetriesPerRequest: 1, lazyConnect: true }) : opts.redis;
  const reader = client.duplicate({ maxRetriesPerRequest: 1 });
  // ioredis reports connection failures (refused, wrong password) as events; the call itself then only says the connection closed.
  let lastError: unknown;
  const onError = (err: unknown) => {
    lastError = err;
    opts.onError?.(classifyRedisError(err, opts.stream, group));
  };
  client.on('error', onError);
  reader.on('error', onError);
  try {
    if (client.status === 'wait') await client.connect();
    await client.ping();
    if (opts.consume !== false) {
      try {
        await client.xgroup('CREATE', opts.stream, group, opts.from === 'new' ? '$' : '0', 'MKSTREAM');
      } catch (err) {
        if (!String((err as Error).message).startsWith('BUSYGROUP')) throw err;
      }
    }
  } catch (err) {
    reader.disconnect();
    if (owns) client.disconnect();
    const seen = lastError === undefined ? undefined : classifyRedisError(lastError, opts.stream, group);
    throw seen?.code === 'ERR_QUEUE_AUTH' ? seen : classifyRedisError(err, opts.stream, group);
  }
  const maxMessageBytes = opts.maxMessageBytes ?? 1 << 20;
  const limits = { maxMessageBytes, maxBatchMessages: 100, maxBatchBytes: 16 * maxMessageBytes, maxReceiveMessages: 100, maxAckMessages: 100 };
  const driver = new RedisStreamsDriver(client, reader, { stream: opts.stream, group, consumer: opts.consumer ?? randomUUID(), leaseMs, limits, maxLen: opts.maxLen }, owns);
  return new QueueConn(driver, opts);
}
