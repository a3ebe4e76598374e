/**
 * Kafka over kafkajs. A topic is the queue; a message's ordering group is its
 * key, so one group stays on one partition and a partition is read by one
 * member of a consumer group at a time: order per group, also across
 * competing receivers. The receiver name is the consumer group: receivers of
 * one group compete, each group gets every message (fan-out).
 *
 * Kafka has no per-message acknowledgement or lease: a consumer's position is
 * the offset it commits per partition, and what it has not committed comes
 * back to whoever owns the partition after a rebalance (a crashed or departed
 * member). So `ack` commits, per partition, the offset below which every
 * message was acknowledged (a message taken later but acknowledged earlier
 * waits for the ones before it), and `leaseMs` is Infinity.
 *
 * kafkajs pushes batches (`eachBatch`); `receive` pulls from the batch kafkajs
 * is handing over, which waits (heartbeating) until receives have taken it:
 * the driver holds no more than the one batch kafkajs fetched.
 */
import type { Consumer, ConsumerConfig, KafkaMessage, Producer } from 'kafkajs';
import type { IncomingMessage, OutgoingMessage, QueueDriver } from '../driver.js';
import { QueueAuthError, QueueError, QueueNotFoundError, QueueUnavailableError } from '../errors.js';
import type { QueueLimits, QueueSemantics } from '../semantics.js';

const SERVICE = 'kafka';

/**
 * A broker's default `message.max.bytes` is 1,048,588 per record batch; a
 * message's key, headers and record framing (≤ 64 B here) count too.
 */
export const KAFKA_LIMITS: QueueLimits = {
  maxMessageBytes: 1_000_000,
  maxBatchMessages: 500,
  maxBatchBytes: 1_000_000,
  maxReceiveMessages: 500,
  // One OffsetCommit covers any number of messages.
  maxAckMessages: 10_000,
};
const RECORD_OVERHEAD = 64;

/** Where a message is: what a commit needs. */
export interface KafkaHandle {
  readonly partition: number;
  readonly offset: number;
  /** The assignment it was received under (a partition reassigned since is no longer ours to commit). */
  readonly assignment: number;
}

/** The batch kafkajs is handing over, and how to tell it what was taken. */
interface Offer {
  readonly messages: IncomingMessage<KafkaHandle>[];
  readonly resolveOffset: (offset: string) => void;
  /** Wakes the handing-over eachBatch (everything taken, or closing). */
  readonly wake: () => void;
}

/** Per partition: what the application holds but has not acknowledged, and the commit point. */
interface Progress {
  readonly outstanding: Set<number>;
  /** One past the highest offset received. */
  next: number;
  committed: number;
}

export interface KafkaDriverParts {
  readonly topic: string;
  readonly producer: Producer;
  /** Absent for a send-only connection. */
  readonly consumer: Consumer | undefined;
  /** Called with `close()`: disconnects what the driver's factory made. */
  readonly disconnect: () => Promise<void>;
  readonly consumerConfig: Pick<ConsumerConfig, 'heartbeatInterval'>;
}

export class KafkaDriver implements QueueDriver<KafkaHandle> {
  readonly service = SERVICE;
  readonly limits = KAFKA_LIMITS;
  readonly semantics: QueueSemantics = { ordering: 'group', fanOut: true };
  readonly leaseMs = Infinity;
  readonly #parts: KafkaDriverParts;
  #offer: Offer | undefined;
  /** Resolves a receive waiting for kafkajs to hand over a batch. */
  #offered: (() => void) | undefined;
  readonly #progress = new Map<number, Progress>();
  /** Bumped at each rebalance; with the partitions assigned by it. */
  #assignment = 0;
  #assigned = new Set<number>();
  #closing = false;

  constructor(parts: KafkaDriverParts) {
    this.#parts = parts;
  }

  /** Records a rebalance's outcome (the consumer's GROUP_JOIN event). */
  assigned(partitions: readonly number[]): void {
    this.#assignment++;
    this.#assigned = new Set(partitions);
    // What we held of a partition another member now owns comes back to it from the last commit.
    for (const p of [...this.#progress.keys()]) if (!this.#assigned.has(p)) this.#progress.delete(p);
  }

  size(msg: OutgoingMessage): number {
    return msg.body.byteLength + Buffer.byteLength(msg.group ?? '') + RECORD_OVERHEAD;
  }

  async send(msgs: readonly OutgoingMessage[]): Promise<readonly string[]> {
    // One producer.send: one Produce request per partition leader (one here: a single-broker test cluster, or per leader in a real one).
    await this.#parts.producer.send({
      topic: this.#parts.topic,
      acks: -1,
      messages: msgs.map((m) => ({ key: m.group ?? null, value: Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength) })),
    });
    return [];
  }

  async receive(max: number, waitMs: number, signal: AbortSignal): Promise<IncomingMessage<KafkaHandle>[]> {
    if (this.#offer === undefined && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          this.#offered = undefined;
          resolve();
        };
        const timer = setTimeout(done, waitMs);
        signal.addEventListener('abort', done, { once: true });
        this.#offered = done;
      });
    }
    const offer = this.#offer;
    if (offer === undefined || signal.aborted) return [];
    const taken = offer.messages.splice(0, max);
    for (const m of taken) {
      offer.resolveOffset(String(m.handle.offset));
      const p = this.#track(m.handle.partition);
      p.outstanding.add(m.handle.offset);
      p.next = Math.max(p.next, m.handle.offset + 1);
    }
    if (offer.messages.length === 0) {
      // Taken whole: the next receive waits for kafkajs's next batch (never spins on an empty one).
      this.#offer = undefined;
      offer.wake();
    }
    return taken;
  }

  /** kafkajs's eachBatch: offers the batch to receives and waits until they took it, heartbeating meanwhile. */
  async handOver(payload: {
    batch: { partition: number; messages: KafkaMessage[] };
    resolveOffset: (offset: string) => void;
    heartbeat: () => Promise<void>;
    isRunning: () => boolean;
    isStale: () => boolean;
  }): Promise<void> {
    const { batch } = payload;
    const assignment = this.#assignment;
    const messages = batch.messages.map((m) => decode(m, batch.partition, assignment));
    let wake!: () => void;
    let woken = new Promise<void>((resolve) => (wake = resolve));
    const offer: Offer = { messages, resolveOffset: payload.resolveOffset, wake: () => wake() };
    this.#offer = offer;
    this.#offered?.();
    try {
      const every = this.#parts.consumerConfig.heartbeatInterval ?? 3_000;
      while (offer.messages.length > 0 && !this.#closing && payload.isRunning() && !payload.isStale()) {
        await Promise.race([woken, new Promise((r) => setTimeout(r, every))]);
        woken = new Promise<void>((resolve) => (wake = resolve));
        // Throws when the group rebalances: kafkajs rejoins, and the untaken rest is fetched again by the partition's owner.
        await payload.heartbeat();
      }
    } finally {
      if (this.#offer === offer) this.#offer = undefined;
    }
  }

  #track(partition: number): Progress {
    let p = this.#progress.get(partition);
    if (p === undefined) this.#progress.set(partition, (p = { outstanding: new Set(), next: 0, committed: -1 }));
    return p;
  }

  async ack(handles: readonly KafkaHandle[]): Promise<void> {
    const touched = new Set<number>();
    for (const h of handles) {
      // Held across a rebalance that moved the partition away: its new owner reads it again from the last commit.
      if (h.assignment !== this.#assignment && !this.#assigned.has(h.partition)) continue;
      const p = this.#progress.get(h.partition);
      if (p === undefined) continue;
      p.outstanding.delete(h.offset);
      touched.add(h.partition);
    }
    const commits: Array<{ topic: string; partition: number; offset: string }> = [];
    for (const partition of touched) {
      const p = this.#progress.get(partition)!;
      const point = p.outstanding.size > 0 ? Math.min(...p.outstanding) : p.next;
      if (point > p.committed) commits.push({ topic: this.#parts.topic, partition, offset: String(point) });
    }
    if (commits.length === 0 || this.#parts.consumer === undefined) return;
    await this.#parts.consumer.commitOffsets(commits);
    for (const c of commits) this.#track(c.partition).committed = Number(c.offset);
  }

  classify(err: unknown): QueueError {
    return classifyKafkaError(err, this.#parts.topic);
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#offer?.wake();
    this.#offered?.();
    // A consumer leaves its group: what it did not commit goes to the remaining members at once.
    await this.#parts.disconnect();
  }
}

function decode(m: KafkaMessage, partition: number, assignment: number): IncomingMessage<KafkaHandle> {
  const offset = Number(m.offset);
  const handle = { partition, offset, assignment };
  const id = `${partition}:${offset}`;
  const group = m.key === null ? undefined : m.key.toString();
  if (m.value === null) {
    return { handle, id, body: undefined, undecodable: { raw: new Uint8Array(), reason: 'null value (a tombstone another producer wrote)' }, attempt: 1 };
  }
  return { handle, id, body: new Uint8Array(m.value.buffer, m.value.byteOffset, m.value.byteLength), ...(group === undefined ? {} : { group }), attempt: 1 };
}

const NOT_FOUND = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'INVALID_TOPIC_EXCEPTION']);
const AUTH = new Set(['SASL_AUTHENTICATION_FAILED', 'TOPIC_AUTHORIZATION_FAILED', 'GROUP_AUTHORIZATION_FAILED', 'CLUSTER_AUTHORIZATION_FAILED']);
// A rebalance took the group away mid-call: rejoining mends it.
const REBALANCE = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS']);
const UNAVAILABLE = new Set(['KafkaJSConnectionError', 'KafkaJSRequestTimeoutError', 'KafkaJSBrokerNotFound', 'KafkaJSConnectionClosedError', 'KafkaJSNumberOfRetriesExceeded', 'KafkaJSLockTimeout']);

export function classifyKafkaError(err: unknown, topic: string): QueueError {
  if (err instanceof QueueError) return err;
  const e = err as { name?: string; type?: string; message?: string; retriable?: boolean; cause?: unknown };
  const type = e.type ?? '';
  if (NOT_FOUND.has(type)) return new QueueNotFoundError(SERVICE, `topic '${topic}'`, { cause: err });
  if (AUTH.has(type) || e.name === 'KafkaJSSASLAuthenticationError') return new QueueAuthError(SERVICE, `${type || e.name}: ${e.message ?? ''}`, { cause: err });
  if (UNAVAILABLE.has(e.name ?? '') || REBALANCE.has(type) || e.retriable === true) {
    return new QueueUnavailableError(SERVICE, `${type || e.name}: ${e.message ?? ''}`.trim(), { cause: err });
  }
  return new QueueError('ERR_QUEUE_SERVICE', SERVICE, `${type || e.name || 'error'}: ${e.message ?? String(err)}`, { cause: err });
}
