/**
 * Connection establishment + one 8-byte echo over UDP on loopback (the
 * thesis' "connect" figure): raw UDP as the baseline, then Bertha's 1-RTT
 * and 0-RTT negotiation of a stack with one select, and rendezvous `join`
 * (embedded store and Redis) followed by an echo with a member already
 * there. Every kind opens the same base UDP conn from a fresh socket.
 *
 * Two placements of the point-to-point servers, each with its own raw
 * baseline: in the client's thread (every µs either end spends adds to the
 * time, and each end's code runs cold after the other's), and in a worker
 * thread, as on another host (each end has its own core, as in the thesis'
 * two-machine set-up). Kinds take turns in blocks of `BLOCK` trials, in a
 * shuffled order each round, so drift in machine load hits them alike; a
 * join trial ends once the member saw the joiner leave, so its aftermath
 * does not land in the next trial.
 *
 * The figures are steady state: each kind first runs `warmup` trials
 * unmeasured. Set-up code runs once per connection, and V8 optimizes a
 * function only after about a thousand calls of it; until then 0-RTT costs
 * about twice the raw time.
 *
 * Each kind's p50 row pairs it with its baseline round by round: its ratio
 * is the median of the per-round ratios of block medians, with their
 * p25–p75 (lib/paired.ts).
 *
 *   pnpm bench connect [trials=1000] [--quick]
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { AbstractConn, udp, type BaseConn, type CallOptions, type Conn, type SocketAddress } from '@bertha/core';
import { connect, join, memoryPickCache, memoryStore, type RendezvousHandle, type RendezvousStore } from '@bertha/negotiate';
import { redisStore } from '@bertha/negotiate/redis';
import { startRedis } from '../scripts/servers/redis.js';
import { startServers } from './lib/connect-servers.js';
import { connectStack as stack } from './lib/connect-stack.js';
import { median, pairedResult } from './lib/paired.js';
import { percentile, report, result, type Result } from './lib/results.js';
import { startWorker } from './lib/worker.js';

const quick = process.argv.includes('--quick');
const trials = Number(process.argv.slice(2).find((a) => a !== '--quick') ?? (quick ? 250 : 1000));
/** Unmeasured trials of each kind first: enough for V8 to optimize the per-connection code. */
const warmup = quick ? 1000 : 2000;
/** Trials of one kind in a row: an application that connects over and over runs its connect path with warm caches. */
const BLOCK = 25;
const payload = new Uint8Array(8).fill(7);
/** The target for a rendezvous through Redis on loopback. */
const REDIS_TARGET_US = 2000;

/**
 * The long-lived member's side of the medium: one UDP socket that receives
 * from anyone and replies to whoever sent last (one joiner at a time here).
 */
class ReplyToLast extends AbstractConn<Uint8Array> {
  #to: RemoteInfo | undefined;
  constructor(readonly socket: Socket) {
    super();
    socket.on('message', (m: Buffer, from: RemoteInfo) => {
      this.#to = from;
      this.inbox.push(m);
    });
  }

  async sendBatch(msgs: readonly Uint8Array[], _opts?: CallOptions): Promise<void> {
    const to = this.#to;
    if (to) for (const m of msgs) this.socket.send(m, to.port, to.address);
  }

  protected async onClose(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}

/** A member that stays in rendezvous `name` and echoes every message it gets. */
async function member(name: string, store: RendezvousStore): Promise<{ address: SocketAddress; handle: RendezvousHandle }> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { conn, handle } = await join(stack, { name, base: new ReplyToLast(socket), store });
  void (async () => {
    try {
      for await (const m of conn) await conn.send(m);
    } catch {
      // Left: the bench is over.
    }
  })();
  return { address: { host: '127.0.0.1', port: socket.address().port }, handle };
}

const t = udp();
const here = await startServers();
const { worker, ready: away } = await startWorker<{ raw: SocketAddress; negotiating: SocketAddress }>(new URL('./lib/connect-servers.ts', import.meta.url), undefined);
const cache = memoryPickCache();
const redis = await startRedis();
// An interrupted run must not leave its redis-server behind.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void redis.stop().finally(() => process.exit(130)));
}
// One store per kind for the whole run, as an application keeps its store (and Redis client).
const stores = { embedded: memoryStore(), redis: redisStore(redis.url) };
const members = { embedded: await member('bench', stores.embedded), redis: await member('bench', stores.redis) };

async function joinAndEcho(which: keyof typeof stores): Promise<() => Promise<void>> {
  const base: BaseConn<SocketAddress> = await t.connect(members[which].address);
  const { conn, handle } = await join(stack, { name: 'bench', base, store: stores[which] });
  await conn.send(payload);
  await conn.recv();
  return async () => {
    const left = alone(members[which].handle);
    await handle.leave();
    await left;
  };
}

/**
 * Resolves once `m` saw the count drop back to itself alone, or after 10 ms:
 * a store may coalesce a join and a leave into no change at all.
 */
function alone(m: RendezvousHandle): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      off();
      resolve();
    };
    const timer = setTimeout(done, 10);
    const off = m.on('participants', (n) => {
      if (n === 1) done();
    });
  });
}

async function echo(c: Conn<Uint8Array>): Promise<() => Promise<void>> {
  await c.send(payload);
  await c.recv();
  return () => c.close();
}

/** Each resolves once the echo is back, to what ends the connection (not timed). */
const kinds = {
  'raw UDP': async () => echo(await t.connect(here.raw)),
  '1-RTT': async () => echo(await connect(stack, t, here.negotiating, { cache })),
  '0-RTT': async () => echo(await connect(stack, t, here.negotiating, { cache, zeroRtt: true })),
  'join (embedded)': () => joinAndEcho('embedded'),
  'join (Redis)': () => joinAndEcho('redis'),
  'raw UDP, server in a worker': async () => echo(await t.connect(away.raw)),
  '1-RTT, server in a worker': async () => echo(await connect(stack, t, away.negotiating, { cache })),
  '0-RTT, server in a worker': async () => echo(await connect(stack, t, away.negotiating, { cache, zeroRtt: true })),
} satisfies Record<string, () => Promise<() => Promise<void>>>;
type Kind = keyof typeof kinds;
/** The baseline of each kind: raw UDP with the server in the same place. */
const baselineOf = (kind: Kind): Kind => (kind.endsWith(', server in a worker') ? 'raw UDP, server in a worker' : 'raw UDP');
const names = Object.keys(kinds) as Kind[];

/** A seeded shuffle of the kinds per round: no kind always follows the same other one. */
let seed = 1;
function shuffled(): Kind[] {
  const order = [...names];
  for (let i = order.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const j = seed % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

const samples = Object.fromEntries(names.map((k) => [k, [] as number[]])) as Record<Kind, number[]>;
/** Median of each measured block, per kind: blocks of one round are paired. */
const blockP50 = Object.fromEntries(names.map((k) => [k, [] as number[]])) as Record<Kind, number[]>;
try {
  for (let done = 0; done < warmup + trials; done += BLOCK) {
    for (const kind of shuffled()) {
      const block: number[] = [];
      for (let i = done; i < Math.min(done + BLOCK, warmup + trials); i++) {
        const start = performance.now();
        const end = await kinds[kind]();
        const us = (performance.now() - start) * 1000;
        await end();
        if (i >= warmup) block.push(us);
      }
      samples[kind].push(...block);
      if (block.length > 0) blockP50[kind].push(median(block));
    }
  }
} finally {
  await Promise.all([here.close(), worker.terminate(), members.embedded.handle.leave(), members.redis.handle.leave()]);
  await Promise.all([stores.embedded.close(), stores.redis.close()]);
  await redis.stop();
}

const results: Result[] = [];
for (const kind of names) {
  const sorted = [...samples[kind]].sort((a, b) => a - b);
  const base = [...samples[baselineOf(kind)]].sort((a, b) => a - b);
  for (const p of [5, 25, 50, 75, 95]) {
    const metric = `${kind} connect+echo p${p} vs ${baselineOf(kind)}`;
    if (p === 50) results.push(pairedResult(metric, blockP50[kind], blockP50[baselineOf(kind)], 'µs'));
    else results.push(result(metric, Math.round(percentile(sorted, p)), Math.round(percentile(base, p)), 'µs'));
  }
}
const redisP50 = Math.round(percentile([...samples['join (Redis)']].sort((a, b) => a - b), 50));
results.push(result('join (Redis) p50 vs 2 ms target', redisP50, REDIS_TARGET_US, 'µs'));
report('connect', results);
