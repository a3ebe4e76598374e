/**
 * Pub/sub with runtime reconfiguration on a real queue (Bertha thesis,
 * "Pub/sub queues"): receiver-side ordering is valid only with a single
 * receiver and is the cheaper one, so the stack runs it while one receiver is
 * live; when a second receiver joins, every endpoint switches, in place, to
 * the queue service's own ordering (SQS FIFO message groups), and back when
 * it leaves. Endpoints agree through @bertha/negotiate's rendezvous (the
 * embedded store); data flows only through the queue.
 *
 * Default: the SQS emulator (fauxqs) in this process, a FIFO queue, 5
 * ordering groups, 3 × 100 messages 25 ms apart. Run:
 *   pnpm tsx examples/pubsub-reconfig/main.ts            # SQS emulator
 *   pnpm tsx examples/pubsub-reconfig/main.ts --memory   # in-process queue
 *   pnpm tsx examples/pubsub-reconfig/main.ts --kafka    # Kafka test broker (partition order per key)
 * Checks: every message arrives exactly once, and each receiver gets each
 * group's messages in the order they were sent, across both switches.
 */
import { makeStack, select } from '@bertha/core';
import { memoryQueue, receiverOrdering, serviceOrdering, type QueueConn } from '@bertha/chunnels-pubsub';
import { kafka } from '@bertha/chunnels-pubsub/kafka';
import { sqs } from '@bertha/chunnels-pubsub/sqs';
import { join, numPeersAtMost } from '@bertha/negotiate';
import { startKafkaBroker } from '../../packages/chunnels-pubsub/test/support/kafka-broker/index.js';
import { startSqsEmulator } from '../../packages/chunnels-pubsub/test/support/sqs-emulator.js';

/** A queue service for the example: opens publisher (send-only) and receiver connections. */
interface Service {
  readonly name: string;
  open(consume: boolean): Promise<QueueConn>;
  stop(): Promise<void>;
}

async function openSqs(): Promise<Service> {
  const emulator = await startSqsEmulator();
  const queueUrl = emulator.createQueue('orders.fifo');
  const client = { endpoint: emulator.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'demo', secretAccessKey: 'demo' } };
  // groups: 'trailer': the ordering Chunnels tell the base each message's group (the FIFO MessageGroupId).
  return { name: 'SQS FIFO (fauxqs emulator)', open: (consume) => sqs({ queueUrl, client, consume, groups: 'trailer', leaseMs: 5_000 }), stop: () => emulator.stop() };
}

async function openMemory(): Promise<Service> {
  return { name: 'in-process queue', open: async (consume) => memoryQueue({ topic: 'orders', consume, groups: 'trailer' }), stop: async () => undefined };
}

// Kafka: the wire-protocol test broker in this process, a topic of 5
// partitions; the ordering group is the message key, receivers share one
// consumer group (short heartbeats, so a joining or leaving receiver
// rebalances the group quickly).
async function openKafka(): Promise<Service> {
  const broker = await startKafkaBroker();
  broker.createTopic('orders', 5);
  const client = { brokers: [broker.bootstrap] };
  const consumer = { sessionTimeout: 6_000, heartbeatInterval: 300 };
  return {
    name: 'Kafka (wire-protocol test broker)',
    open: (consume) => kafka({ topic: 'orders', client, consume, groups: 'trailer', groupId: 'orders-receivers', consumer }),
    stop: () => broker.stop(),
  };
}

const args = new Set(process.argv.slice(2));
const service = await (args.has('--kafka') ? openKafka() : args.has('--memory') ? openMemory() : openSqs());
console.log(`queue service: ${service.name}`);

const GROUPS = 5;
const PER_PHASE = 100;
const GAP_MS = 25;
const enc = new TextEncoder();
const dec = new TextDecoder();
// Message bytes are "<group>:<seq>"; the ordering group is the part before the colon.
const groupOf = (b: Uint8Array): string => dec.decode(b).split(':')[0] ?? '';

const stack = (base: QueueConn) => makeStack(select(receiverOrdering({ group: groupOf }), serviceOrdering(base, { group: groupOf })));
// The publisher counts too: one publisher and one receiver is "a single receiver".
const policy = numPeersAtMost(2, { then: 'receiver-ordering', otherwise: 'service-ordering' });
const name = 'orders';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Receiver {
  readonly label: string;
  readonly got: string[];
  readonly byStack: Map<string, number>;
  readonly handle: Awaited<ReturnType<typeof join>>['handle'];
}

async function receiver(label: string): Promise<Receiver> {
  const base = await service.open(true);
  const { conn, handle } = await join(stack(base), { name, base, policy, member: label });
  const r: Receiver = { label, got: [], byStack: new Map(), handle };
  void (async () => {
    for await (const m of conn) {
      r.got.push(dec.decode(m));
      const k = handle.pick.join(' > ');
      r.byStack.set(k, (r.byStack.get(k) ?? 0) + 1);
    }
  })();
  console.log(`${label} joined: ${handle.participants} participants, stack [${handle.pick.join(', ')}]`);
  return r;
}

const pubBase = await service.open(false);
const pub = await join(stack(pubBase), { name, base: pubBase, policy, member: 'publisher' });
pub.handle.on('pick', (p) => console.log(`publisher switched to [${p.join(', ')}]`));
const seq = new Map<string, number>();
let sent = 0;
async function publish(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const g = `g${sent % GROUPS}`;
    const n = seq.get(g) ?? 0;
    seq.set(g, n + 1);
    await pub.conn.send(enc.encode(`${g}:${n}`));
    sent++;
    await sleep(GAP_MS);
  }
}
const total = (...rs: Receiver[]) => rs.reduce((n, r) => n + r.got.length, 0);

const r1 = await receiver('receiver-1');
await until(() => pub.handle.participants === 2);
await publish(PER_PHASE);
await until(() => total(r1) === PER_PHASE);
console.log(`phase 1: receiver-1 got ${r1.got.length} on [${r1.handle.pick.join(', ')}]`);

const r2 = await receiver('receiver-2');
await until(() => [pub, r1, r2].every((x) => x.handle.pick.includes('service-ordering')));
await publish(PER_PHASE);
await until(() => total(r1, r2) === 2 * PER_PHASE);
console.log(`phase 2: receiver-1 ${r1.got.length}, receiver-2 ${r2.got.length} on [${r2.handle.pick.join(', ')}]`);

await r2.handle.leave();
await until(() => pub.handle.pick.includes('receiver-ordering') && r1.handle.pick.includes('receiver-ordering'));
console.log(`receiver-2 left: ${pub.handle.participants} participants, stack [${pub.handle.pick.join(', ')}]`);
await publish(PER_PHASE);
await until(() => total(r1, r2) === 3 * PER_PHASE);

// Exactly once: every (group, seq) sent arrived once in all.
const all = [...r1.got, ...r2.got];
const exactlyOnce = all.length === sent && new Set(all).size === sent;
// In order: each receiver saw each group's sequence numbers ascending, across the switches.
const inOrder = [r1, r2].every((r) => {
  const last = new Map<string, number>();
  return r.got.every((m) => {
    const [g = '', n = ''] = m.split(':');
    const ok = Number(n) > (last.get(g) ?? -1);
    last.set(g, Number(n));
    return ok;
  });
});
for (const r of [r1, r2]) {
  console.log(`${r.label}: ${r.got.length} messages (${[...r.byStack].map(([k, n]) => `${n} on [${k}]`).join(', ')})`);
}
console.log(`total ${all.length} of ${sent} messages, each exactly once: ${exactlyOnce}; per-group order kept: ${inOrder}`);
await Promise.all([r1.handle.leave(), pub.handle.leave()]);
await service.stop();
process.exitCode = exactlyOnce && inOrder ? 0 : 1;

async function until(check: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(5);
  }
}
