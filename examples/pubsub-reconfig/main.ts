/**
 * Pub/sub with runtime reconfiguration (Bertha thesis, "Pub/sub queues"):
 * receiver-side ordering is valid only with a single receiver, so the stack
 * runs it while at most one receiver is live and switches to the queue
 * service's own ordering from the second receiver on, in place.
 *
 * Everything is embedded: the default in-process rendezvous store and a tiny
 * in-process FIFO queue with competing consumers. Run:
 *   npx tsx examples/pubsub-reconfig/main.ts
 */
import { AbstractConn, makeStack, ordered, select, serialize, twoSided, type CallOptions, type Chunnel, type Conn } from '@bertha/core';
import { join, numPeersAtMost } from '@bertha/negotiate';

/** A FIFO queue: every message goes to exactly one consumer, round-robin. */
class Queue {
  readonly #consumers: QueueConn[] = [];
  #next = 0;

  open(consume: boolean): Conn<Uint8Array> {
    const conn = new QueueConn(this, consume);
    if (consume) this.#consumers.push(conn);
    return conn;
  }

  publish(msgs: readonly Uint8Array[]): void {
    for (const m of msgs) {
      const c = this.#consumers[this.#next++ % this.#consumers.length];
      c?.deliver(m);
    }
  }

  remove(conn: QueueConn): void {
    const i = this.#consumers.indexOf(conn);
    if (i >= 0) this.#consumers.splice(i, 1);
  }
}

class QueueConn extends AbstractConn<Uint8Array> {
  constructor(
    readonly queue: Queue,
    readonly consume: boolean,
  ) {
    super();
  }

  deliver(msg: Uint8Array): void {
    this.inbox.push(msg);
  }

  async sendBatch(msgs: readonly Uint8Array[], _opts?: CallOptions): Promise<void> {
    this.assertOpen();
    const copies = msgs.map((m) => new Uint8Array(m));
    setImmediate(() => this.queue.publish(copies));
  }

  protected async onClose(): Promise<void> {
    this.queue.remove(this);
  }
}

/** The queue service orders messages itself: nothing to do on the endpoints, but both must agree on it. */
function serviceOrdering(): Chunnel<Uint8Array, Uint8Array, 'service-ordering'> {
  return { name: 'service-ordering', capabilities: () => [twoSided('ordering', 'service')], connectWrap: async (inner) => inner };
}

interface Msg {
  readonly seq: number;
}

const stack = () => makeStack(serialize<Msg>(), select(ordered(), serviceOrdering()));
// The publisher counts too: one publisher and one receiver is "a single receiver".
const policy = numPeersAtMost(2, { then: 'ordered', otherwise: 'service-ordering' });
const name = 'orders';
const queue = new Queue();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function receiver(label: string) {
  const { conn, handle } = await join(stack(), { name, base: queue.open(true), policy, member: label });
  const got: number[] = [];
  const byStack = new Map<string, number>();
  void (async () => {
    for await (const m of conn) {
      got.push(m.seq);
      const k = handle.pick.join(' > ');
      byStack.set(k, (byStack.get(k) ?? 0) + 1);
    }
  })();
  console.log(`${label} joined: ${handle.participants} participants, stack [${handle.pick.join(', ')}]`);
  return { label, conn, handle, got, byStack };
}

async function publish(conn: Conn<Msg>, from: number, count: number) {
  for (let seq = from; seq < from + count; seq++) {
    await conn.send({ seq });
    await sleep(2);
  }
}

const pub = await join(stack(), { name, base: queue.open(false), policy, member: 'publisher' });
pub.handle.on('participants', (n) => console.log(`publisher sees ${n} participants`));
pub.handle.on('pick', (p) => console.log(`publisher switched to [${p.join(', ')}]`));
const r1 = await receiver('receiver-1');
await until(() => pub.handle.participants === 2);

await publish(pub.conn, 0, 100);
await until(() => r1.got.length === 100);
console.log(`phase 1: receiver-1 got ${r1.got.length} messages on [${r1.handle.pick.join(', ')}]`);

const r2 = await receiver('receiver-2');
await until(() => [pub, r1, r2].every((x) => x.handle.pick.includes('service-ordering')));
await publish(pub.conn, 100, 100);
await until(() => r1.got.length + r2.got.length === 200);

const all = [...r1.got, ...r2.got].sort((a, b) => a - b);
const exactlyOnce = all.length === 200 && all.every((seq, i) => seq === i);
for (const r of [r1, r2]) {
  console.log(`${r.label}: ${r.got.length} messages (${[...r.byStack].map(([k, n]) => `${n} on [${k}]`).join(', ')})`);
}
console.log(`total ${all.length} messages, each exactly once: ${exactlyOnce}`);

await r2.handle.leave();
await until(() => pub.handle.pick.includes('ordered'));
console.log(`receiver-2 left: ${pub.handle.participants} participants, stack [${pub.handle.pick.join(', ')}]`);
await Promise.all([r1.handle.leave(), pub.handle.leave()]);
process.exitCode = exactlyOnce ? 0 : 1;

async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(5);
  }
}
