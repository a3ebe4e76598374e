/**
 * Queues as Chunnels (@bertha/chunnels-pubsub), after the thesis' figures:
 *
 * 1. Per service (SQS, Redis Streams, Azure Storage Queues, GCP Pub/Sub on
 *    their emulators/servers): send-to-receive latency of `--messages`
 *    messages `--gap` ms apart through our base connection vs a hand-written
 *    loop over the SDK (same encoding, same long polls, deletes not awaited),
 *    paired message by message (A, B, B, A …) on two queues; the ratio is
 *    also given per block of 10 pairs as the median and p25–p75.
 * 2. SQS nagling: 100 messages at 10 and 20 ms inter-arrival, unbatched (one
 *    send, receive and delete call per message) vs nagling (sends wait up to
 *    `--nagle` ms to share a call, deletes up to 100 ms; receives take up to
 *    10) vs batching by hand (the application sends 10 at a time): API calls
 *    and p50 latency, once through a TCP proxy that adds `--rtt` ms of round
 *    trip (a cloud call in-region) and once straight to the emulator.
 * 3. Ordering with one receiver and 5 groups on an SQS FIFO queue:
 *    receiver-side ordering vs the service's message-group ordering, p50.
 *
 *   pnpm bench pubsub [--messages 100] [--gap 75] [--rtt 20] [--nagle 40] [--only latency|nagling|ordering]
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { QueueClient } from '@azure/storage-queue';
import { PubSub, v1 } from '@google-cloud/pubsub';
import { MessageQueue, makeStack, wrap, type Conn } from '@bertha/core';
import { receiverOrdering, serviceOrdering, type QueueConn, type QueueConnOptions } from '@bertha/chunnels-pubsub';
import { azureQueue } from '@bertha/chunnels-pubsub/azure';
import { gcpPubSub } from '@bertha/chunnels-pubsub/gcp';
import { redisStreams } from '@bertha/chunnels-pubsub/redis';
import { sqs } from '@bertha/chunnels-pubsub/sqs';
import { Redis } from 'ioredis';
import { startAzurite } from '../test/support/azurite.js';
import { findPubSubEmulator, startPubSubEmulator } from '../test/support/pubsub-emulator.js';
import { startSqsEmulator } from '../test/support/sqs-emulator.js';
import { startRedis } from '../../../scripts/servers/redis.js';
import { delayProxy } from '../../../bench/lib/delay-proxy.js';
import { percentile, report, result, type Result } from '../../../bench/lib/results.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '100' },
    gap: { type: 'string', default: '75' },
    rtt: { type: 'string', default: '20' },
    nagle: { type: 'string', default: '40' },
    only: { type: 'string' },
  },
});
const MESSAGES = Number(values.messages);
const GAP = Number(values.gap);
const RTT = Number(values.rtt);
const NAGLE = Number(values.nagle);
const run = (part: string) => values.only === undefined || values.only === part;
const results: Result[] = [];
const creds = { accessKeyId: 'bench', secretAccessKey: 'bench' };

/** A message carries its send time (this process's clock) and 56 bytes of padding. */
function stamp(): Uint8Array {
  const b = new Uint8Array(64);
  new DataView(b.buffer).setFloat64(0, performance.now());
  return b;
}
const sentAt = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getFloat64(0);

/** One way of moving messages: send, and the next received message's latency. */
interface Path {
  send(body: Uint8Array): Promise<void>;
  readonly received: MessageQueue<Uint8Array>;
  close(): Promise<void>;
}

/** Our base connection as a Path. */
function chunnelPath(tx: Conn<Uint8Array>, rx: Conn<Uint8Array>): Path {
  const received = new MessageQueue<Uint8Array>();
  void (async () => {
    for await (const m of rx) received.push(m);
  })();
  return { send: (b) => tx.send(b), received, close: async () => void (await Promise.all([tx.close(), rx.close()])) };
}

/** A hand-written SDK receive loop as a Path. */
function sdkPath(send: (b: Uint8Array) => Promise<void>, receive: (signal: AbortSignal) => Promise<Uint8Array[]>, close: () => Promise<void>): Path {
  const received = new MessageQueue<Uint8Array>();
  const stop = new AbortController();
  const loop = (async () => {
    while (!stop.signal.aborted) received.pushMany(await receive(stop.signal).catch(() => []));
  })();
  return {
    send,
    received,
    close: async () => {
      stop.abort();
      await loop;
      await close();
    },
  };
}

/** Paired latencies: per message, one on each path, A first on even rounds. */
async function paired(a: Path, b: Path, n: number, gap: number): Promise<{ a: number[]; b: number[] }> {
  const out = { a: [] as number[], b: [] as number[] };
  const one = async (p: Path, into: number[]) => {
    await p.send(stamp());
    const m = await p.received.takeOne(AbortSignal.timeout(30_000));
    into.push(performance.now() - sentAt(m));
  };
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) {
      await one(a, out.a);
      await one(b, out.b);
    } else {
      await one(b, out.b);
      await one(a, out.a);
    }
    await sleep(gap);
  }
  return out;
}

const sorted = (xs: readonly number[]) => [...xs].sort((x, y) => x - y);
const p = (xs: readonly number[], q: number) => percentile(sorted(xs), q);

/** Latency rows for subject `a` vs baseline `b`, with the spread of per-block p50 ratios. */
function latencyRows(label: string, subject: string, baseline: string, r: { a: number[]; b: number[] }): void {
  const ratios: number[] = [];
  for (let i = 0; i + 10 <= r.a.length; i += 10) ratios.push(p(r.a.slice(i, i + 10), 50) / p(r.b.slice(i, i + 10), 50));
  const spread = `block ratios median ${p(ratios, 50).toFixed(2)}, p25–p75 ${p(ratios, 25).toFixed(2)}–${p(ratios, 75).toFixed(2)}`;
  results.push(result(`${label}: p50 latency, ${subject} vs ${baseline} (${spread})`, p(r.a, 50), p(r.b, 50), 'ms'));
  results.push(result(`${label}: p99 latency, ${subject} vs ${baseline}`, p(r.a, 99), p(r.b, 99), 'ms'));
}

// ------------------------------------------------------------------ servers
const sqsEmu = await startSqsEmulator();
const redisServer = await startRedis();
const azurite = await startAzurite();
const gcpEmu = findPubSubEmulator() === undefined ? undefined : await startPubSubEmulator();
if (gcpEmu === undefined) console.log('GCP Pub/Sub emulator not installed: its rows are left out');
const sqsClient = (endpoint = sqsEmu.endpoint) => ({ endpoint, region: 'us-east-1', credentials: creds });
const sqsAdmin = new SQSClient({ ...sqsClient(), maxAttempts: 1 });
const newSqsQueue = async (fifo = false) =>
  (await sqsAdmin.send(new CreateQueueCommand({ QueueName: `b-${randomUUID()}${fifo ? '.fifo' : ''}`, Attributes: fifo ? { FifoQueue: 'true' } : {} }))).QueueUrl ?? '';

// ------------------------------------------------- 1. Chunnel vs SDK direct
async function sqsPaths(): Promise<[Path, Path]> {
  const [qa, qb] = [await newSqsQueue(), await newSqsQueue()];
  const ours = chunnelPath(await sqs({ queueUrl: qa, client: sqsClient(), consume: false }), await sqs({ queueUrl: qa, client: sqsClient() }));
  const c = new SQSClient({ ...sqsClient(), maxAttempts: 1 });
  const sdk = sdkPath(
    async (b) => void (await c.send(new SendMessageCommand({ QueueUrl: qb, MessageBody: Buffer.from(b).toString('base64') }))),
    async (signal) => {
      const res = await c.send(new ReceiveMessageCommand({ QueueUrl: qb, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }), { abortSignal: signal });
      return (res.Messages ?? []).map((m) => {
        void c.send(new DeleteMessageCommand({ QueueUrl: qb, ReceiptHandle: m.ReceiptHandle })).catch(() => undefined);
        return new Uint8Array(Buffer.from(m.Body ?? '', 'base64'));
      });
    },
    async () => c.destroy(),
  );
  return [ours, sdk];
}

async function redisPaths(): Promise<[Path, Path]> {
  const [sa, sb] = [`a-${randomUUID()}`, `b-${randomUUID()}`];
  const ours = chunnelPath(await redisStreams({ redis: redisServer.url, stream: sa, consume: false }), await redisStreams({ redis: redisServer.url, stream: sa }));
  const c = new Redis(redisServer.url);
  const reader = new Redis(redisServer.url);
  await c.xgroup('CREATE', sb, 'g', '0', 'MKSTREAM');
  const sdk = sdkPath(
    async (b) => void (await c.xadd(sb, '*', 'b', Buffer.from(b))),
    async () => {
      const res = (await reader.xreadgroupBuffer('GROUP', 'g', 'c', 'COUNT', 10, 'BLOCK', 1000, 'STREAMS', sb, '>')) as [Buffer, [Buffer, Buffer[]][]][] | null;
      const entries = res?.[0]?.[1] ?? [];
      if (entries.length > 0) void c.xack(sb, 'g', ...entries.map((e) => e[0])).catch(() => undefined);
      return entries.map((e) => new Uint8Array(e[1][1] ?? Buffer.alloc(0)));
    },
    async () => {
      reader.disconnect();
      c.disconnect();
    },
  );
  return [ours, sdk];
}

async function azurePaths(): Promise<[Path, Path]> {
  const cs = azurite.connectionString;
  const [na, nb] = [`a-${randomUUID()}`, `b-${randomUUID()}`];
  await new QueueClient(cs, na).create();
  const qb = new QueueClient(cs, nb);
  await qb.create();
  const poll = 50;
  const ours = chunnelPath(
    await azureQueue({ connectionString: cs, queueName: na, consume: false }),
    await azureQueue({ connectionString: cs, queueName: na, pollIntervalMs: poll }),
  );
  const sdk = sdkPath(
    async (b) => void (await qb.sendMessage(`bertha:${Buffer.from(b).toString('base64')}`)),
    async () => {
      const res = await qb.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 30 });
      if (res.receivedMessageItems.length === 0) await sleep(poll);
      return res.receivedMessageItems.map((m) => {
        void qb.deleteMessage(m.messageId, m.popReceipt).catch(() => undefined);
        return new Uint8Array(Buffer.from(m.messageText.slice('bertha:'.length), 'base64'));
      });
    },
    async () => undefined,
  );
  return [ours, sdk];
}

async function gcpPaths(host: string): Promise<[Path, Path]> {
  const projectId = 'bench';
  const clientConfig = { apiEndpoint: host, emulatorMode: true };
  const admin = new PubSub({ projectId, ...clientConfig });
  const [ta] = await admin.createTopic(`a-${randomUUID()}`);
  const [tb] = await admin.createTopic(`b-${randomUUID()}`);
  const [sb] = await tb.createSubscription(`b-${randomUUID()}`);
  const name = (t: { name: string }) => t.name.split('/').pop() ?? '';
  const rx = await gcpPubSub({ projectId, topic: name(ta), clientConfig });
  const ours = chunnelPath(await gcpPubSub({ projectId, topic: name(ta), clientConfig, consume: false }), rx);
  const { port, ...rest } = await admin.getClientConfig();
  const config = { ...rest, port: Number(port) };
  const pub = new v1.PublisherClient(config);
  const sub = new v1.SubscriberClient(config);
  const sdk = sdkPath(
    async (b) => void (await pub.publish({ topic: tb.name, messages: [{ data: b }] })),
    async () => {
      const [res] = await sub.pull({ subscription: sb.name, maxMessages: 10 }, { timeout: 1_000 }).catch(() => [{ receivedMessages: [] }]);
      const got = res.receivedMessages ?? [];
      if (got.length > 0) void sub.acknowledge({ subscription: sb.name, ackIds: got.map((r) => r.ackId ?? '') }).catch(() => undefined);
      return got.map((r) => new Uint8Array(r.message?.data as Uint8Array));
    },
    async () => void (await Promise.all([pub.close(), sub.close(), admin.close()])),
  );
  return [ours, sdk];
}

if (run('latency')) {
  const services: [string, () => Promise<[Path, Path]>][] = [
    ['SQS', sqsPaths],
    ['Redis Streams', redisPaths],
    ['Azure Storage Queue', azurePaths],
  ];
  if (gcpEmu !== undefined) services.push(['GCP Pub/Sub', () => gcpPaths(gcpEmu.host)]);
  for (const [label, open] of services) {
    const [ours, sdk] = await open();
    await paired(ours, sdk, 10, 5); // warm-up
    const r = await paired(ours, sdk, MESSAGES, GAP);
    latencyRows(`${label}, ${MESSAGES} messages ${GAP} ms apart`, 'through the Chunnel', 'SDK direct', r);
    await Promise.all([ours.close(), sdk.close()]);
    console.log(`latency: ${label} done`);
  }
}

// ---------------------------------------------------------- 2. SQS nagling
type Mode = 'unbatched' | 'nagling' | 'by hand';
const total = (c: QueueConn['calls']) => c.send + c.receive + c.ack + c.extend + c.release;

async function naglingRun(mode: Mode, gap: number, endpoint: string): Promise<{ calls: number; sends: number; p50: number }> {
  const queueUrl = await newSqsQueue();
  const opts: QueueConnOptions =
    mode === 'unbatched' ? { batch: false } : mode === 'nagling' ? { nagleMs: NAGLE, ackDelayMs: 100 } : { ackDelayMs: 100 };
  // A long poll outlasts the run, so empty receives do not pad the counts.
  const tx = await sqs({ queueUrl, client: sqsClient(endpoint), consume: false, ...opts });
  const rx = await sqs({ queueUrl, client: sqsClient(endpoint), waitMs: 20_000, ...opts });
  const lat: number[] = [];
  const done = (async () => {
    for await (const m of rx) {
      lat.push(performance.now() - sentAt(m));
      if (lat.length === 100) return;
    }
  })();
  await sleep(200); // the receiver's first long poll is waiting
  const sends: Promise<void>[] = [];
  let hand: Uint8Array[] = [];
  for (let i = 0; i < 100; i++) {
    if (mode === 'by hand') {
      hand.push(stamp());
      if (hand.length === 10) {
        sends.push(tx.sendBatch(hand));
        hand = [];
      }
    } else {
      sends.push(tx.send(stamp()));
    }
    await sleep(gap);
  }
  await Promise.all(sends);
  await done;
  await Promise.all([tx.close(), rx.close()]);
  return { calls: total(tx.calls) + total(rx.calls), sends: tx.calls.send, p50: p(lat, 50) };
}

if (run('nagling')) {
  const proxy = await delayProxy({ host: '127.0.0.1', port: sqsEmu.port }, RTT);
  for (const [where, endpoint] of [
    [`${RTT} ms RTT proxy`, proxy.endpoint],
    ['no proxy', sqsEmu.endpoint],
  ] as const) {
    for (const gap of [10, 20]) {
      await naglingRun('nagling', gap, endpoint); // warm-up
      const r: Partial<Record<Mode, Awaited<ReturnType<typeof naglingRun>>>> = {};
      // Rotate the order so no mode always runs first.
      for (const mode of gap === 10 ? (['unbatched', 'nagling', 'by hand'] as const) : (['by hand', 'nagling', 'unbatched'] as const)) {
        r[mode] = await naglingRun(mode, gap, endpoint);
      }
      const u = r.unbatched!;
      const n = r.nagling!;
      const h = r['by hand']!;
      const tag = `SQS 100 messages at ${gap} ms, ${where}`;
      results.push(result(`${tag}: nagling API calls vs unbatched (nagling ${n.sends} send calls)`, n.calls, u.calls, 'calls'));
      results.push(result(`${tag}: batched-by-hand API calls vs unbatched (by hand ${h.sends} send calls)`, h.calls, u.calls, 'calls'));
      results.push(result(`${tag}: nagling p50 latency vs unbatched`, n.p50, u.p50, 'ms'));
      results.push(result(`${tag}: batched-by-hand p50 latency vs unbatched`, h.p50, u.p50, 'ms'));
      console.log(`nagling: ${tag} done`);
    }
  }
  await proxy.close();
}

// ------------------------------------------------------------- 3. ordering
if (run('ordering')) {
  const GROUPS = 5;
  const groupOf = (b: Uint8Array) => `g${b[8] ?? 0}`;
  const orderedPath = async (service: boolean): Promise<Path> => {
    const queueUrl = await newSqsQueue(true);
    const open = (consume: boolean) => sqs({ queueUrl, client: sqsClient(), consume, groups: 'trailer' });
    const [txBase, rxBase] = [await open(false), await open(true)];
    const stack = (base: QueueConn) => makeStack(service ? serviceOrdering(base, { group: groupOf }) : receiverOrdering({ group: groupOf }));
    return chunnelPath(await wrap(stack(txBase), txBase), await wrap(stack(rxBase), rxBase, { role: 'server' }));
  };
  const recv = await orderedPath(false);
  const svc = await orderedPath(true);
  let i = 0;
  const grouped = (path: Path): Path => ({
    ...path,
    send: (b) => {
      b[8] = i++ % GROUPS;
      return path.send(b);
    },
  });
  await paired(grouped(recv), grouped(svc), 10, 5);
  const r = await paired(grouped(recv), grouped(svc), MESSAGES, 25);
  latencyRows(`SQS FIFO, one receiver, ${GROUPS} groups, ${MESSAGES} messages 25 ms apart`, 'receiver-side ordering', 'service (message-group) ordering', r);
  await Promise.all([recv.close(), svc.close()]);
}

sqsAdmin.destroy();
await Promise.all([sqsEmu.stop(), redisServer.stop(), azurite.stop(), gcpEmu?.stop()]);
report('pubsub', results);
