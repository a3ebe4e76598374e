import { randomUUID } from 'node:crypto';
import { redisStreams } from '@bertha/chunnels-pubsub/redis';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { QueueAuthError, QueueUnavailableError } from '../src/index.js';
import { freePort, startRedis } from '../../../scripts/servers/redis.js';
import { describeQueueCompliance } from './compliance.js';

const url = inject('redisUrl');
const admin = new Redis(url);
const leaseMs = 500;
afterAll(() => admin.disconnect());

describeQueueCompliance('redis streams', {
  leaseMs,
  semantics: { ordering: 'none', fanOut: true },
  foreignBodies: true,
  fresh: async () => {
    const stream = `t-${randomUUID()}`;
    return {
      open: (o = {}) => redisStreams({ redis: url, stream, leaseMs, waitMs: 500, ...o }),
      writeForeign: async () => {
        await admin.xadd(stream, '*', 'json', '{"not":"ours"}');
      },
      cleanup: async () => {
        await admin.del(stream);
      },
    };
  },
});

describe('redis streams faults', () => {
  it('wrong credentials are a QueueAuthError', async () => {
    const user = `u-${randomUUID()}`;
    await admin.call('ACL', 'SETUSER', user, 'on', '>right', '~*', '+@all');
    try {
      const u = new URL(url);
      u.username = user;
      u.password = 'wrong';
      await expect(redisStreams({ redis: u.href, stream: 's' })).rejects.toBeInstanceOf(QueueAuthError);
    } finally {
      await admin.call('ACL', 'DELUSER', user);
    }
  });

  it('a server that is down: clear error at open; sends retry and lose nothing once it is back', { timeout: 30_000 }, async () => {
    const port = await freePort();
    await expect(redisStreams({ redis: `redis://127.0.0.1:${port}`, stream: 's' })).rejects.toBeInstanceOf(QueueUnavailableError);

    const own = await startRedis();
    const stream = `s-${randomUUID()}`;
    const errors: string[] = [];
    const tx = await redisStreams({ redis: own.url, stream, consume: false, onError: (e) => errors.push(e.code) });
    const rx = await redisStreams({ redis: own.url, stream, from: 'start' });
    await own.stop();
    const sent = tx.send(new TextEncoder().encode('kept'));
    await expect.poll(() => errors.length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(errors[0]).toBe('ERR_QUEUE_UNAVAILABLE');
    await own.restart();
    await sent;
    // A fresh server lost the group with its data: the receiver's calls say so until it is made again.
    const rx2 = await redisStreams({ redis: own.url, stream });
    expect(new TextDecoder().decode(await rx2.recv({ signal: AbortSignal.timeout(10_000) }))).toBe('kept');
    await Promise.all([tx.close(), rx.destroy(), rx2.close()]);
    await own.stop();
  });
});
