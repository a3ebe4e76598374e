/**
 * memoryQueue(): an in-process queue service with the semantics of the cloud
 * ones, for the embedded demo and for logic tests: topics with
 * subscriptions (receivers of one subscription compete, each subscription
 * gets every message: fan-out), leases that run out (redelivery after a
 * crash), and per-group ordering across competing receivers the way SQS FIFO
 * does it (a group's next message waits while an earlier one is in flight).
 */
import { randomUUID } from 'node:crypto';
import { InvalidArgumentError } from '@bertha/core';
import type { IncomingMessage, OutgoingMessage, QueueDriver } from '../driver.js';
import { QueueError } from '../errors.js';
import { QueueConn, type QueueConnOptions } from '../queue-conn.js';
import type { QueueLimits } from '../semantics.js';

interface Stored {
  readonly seq: number;
  readonly id: string;
  readonly body: Uint8Array;
  readonly group: string | undefined;
  attempt: number;
}

interface InFlight {
  readonly msg: Stored;
  timer: NodeJS.Timeout;
}

/** One subscription: a queue of its own, shared by competing receivers. */
class Subscription {
  readonly #ready: Stored[] = [];
  readonly #inFlight = new Map<string, InFlight>();
  readonly #busyGroups = new Map<string, number>();
  readonly #waiters = new Set<() => void>();

  publish(msg: Stored): void {
    this.#insert({ ...msg, attempt: 0 });
    this.#wake();
  }

  get depth(): number {
    return this.#ready.length + this.#inFlight.size;
  }

  async receive(max: number, waitMs: number, leaseMs: number, signal: AbortSignal): Promise<IncomingMessage<string>[]> {
    const deadline = performance.now() + waitMs;
    for (;;) {
      const got = this.#takeReady(max, leaseMs);
      const left = deadline - performance.now();
      if (got.length > 0 || left <= 0 || signal.aborted) return got;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#waiters.delete(done);
          signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.#waiters.add(done);
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  ack(handles: readonly string[]): void {
    for (const h of handles) {
      const f = this.#inFlight.get(h);
      if (f === undefined) continue; // its lease ran out: the redelivery is the live copy
      clearTimeout(f.timer);
      this.#settle(h, f);
    }
    this.#wake();
  }

  extend(handles: readonly string[], leaseMs: number): void {
    for (const h of handles) {
      const f = this.#inFlight.get(h);
      if (f === undefined) continue;
      clearTimeout(f.timer);
      f.timer = this.#leaseTimer(h, leaseMs);
    }
  }

  release(handles: readonly string[]): void {
    for (const h of handles) {
      const f = this.#inFlight.get(h);
      if (f === undefined) continue;
      clearTimeout(f.timer);
      this.#settle(h, f);
      this.#insert(f.msg);
    }
    this.#wake();
  }

  #takeReady(max: number, leaseMs: number): IncomingMessage<string>[] {
    const out: IncomingMessage<string>[] = [];
    const taken = new Set<string>();
    for (let i = 0; i < this.#ready.length && out.length < max; ) {
      const m = this.#ready[i] as Stored;
      const g = m.group;
      // A group with a message in flight (or already in this batch ahead of an earlier one) waits: per-group order.
      if (g !== undefined && (this.#busyGroups.has(g) || taken.has(g))) {
        i++;
        continue;
      }
      this.#ready.splice(i, 1);
      if (g !== undefined) taken.add(g);
      m.attempt++;
      const handle = randomUUID();
      this.#inFlight.set(handle, { msg: m, timer: this.#leaseTimer(handle, leaseMs) });
      if (g !== undefined) this.#busyGroups.set(g, (this.#busyGroups.get(g) ?? 0) + 1);
      out.push({ handle, id: m.id, body: new Uint8Array(m.body), group: g, attempt: m.attempt });
    }
    return out;
  }

  #leaseTimer(handle: string, leaseMs: number): NodeJS.Timeout {
    const t = setTimeout(() => this.release([handle]), leaseMs);
    t.unref();
    return t;
  }

  #settle(handle: string, f: InFlight): void {
    this.#inFlight.delete(handle);
    const g = f.msg.group;
    if (g === undefined) return;
    const n = (this.#busyGroups.get(g) ?? 1) - 1;
    if (n <= 0) this.#busyGroups.delete(g);
    else this.#busyGroups.set(g, n);
  }

  /** Keeps `ready` in publish order, so a message that comes back goes before its group's later ones. */
  #insert(m: Stored): void {
    let lo = 0;
    let hi = this.#ready.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.#ready[mid] as Stored).seq < m.seq) lo = mid + 1;
      else hi = mid;
    }
    this.#ready.splice(lo, 0, m);
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }
}

class Topic {
  readonly subscriptions = new Map<string, Subscription>([[DEFAULT_SUBSCRIPTION, new Subscription()]]);
  #seq = 0;

  publish(msgs: readonly OutgoingMessage[]): void {
    for (const m of msgs) {
      const stored: Stored = { seq: this.#seq++, id: m.id, body: new Uint8Array(m.body), group: m.group, attempt: 0 };
      for (const s of this.subscriptions.values()) s.publish(stored);
    }
  }
}

const DEFAULT_SUBSCRIPTION = 'default';

/** An in-process queue service: named topics, each with named subscriptions. */
export class MemoryBroker {
  readonly #topics = new Map<string, Topic>();
  #down = false;

  topic(name: string): Topic {
    let t = this.#topics.get(name);
    if (t === undefined) this.#topics.set(name, (t = new Topic()));
    return t;
  }

  /** Messages waiting or in flight on a subscription (for tests and the demo). */
  depth(topic: string, subscription = DEFAULT_SUBSCRIPTION): number {
    return this.#topics.get(topic)?.subscriptions.get(subscription)?.depth ?? 0;
  }

  /** Makes every call fail as if the service were unreachable (`true`) or brings it back. */
  setDown(down: boolean): void {
    this.#down = down;
  }

  /** Throws the error a call gets while the service is down. */
  check(): void {
    if (this.#down) throw new QueueError('ERR_QUEUE_UNAVAILABLE', 'memory', 'the broker is down (setDown(true))', { retryable: true });
  }
}

let shared: MemoryBroker | undefined;

/** A new in-process queue service; `memoryQueue()` without `broker` uses one shared by the process. */
export function memoryBroker(): MemoryBroker {
  return new MemoryBroker();
}

export interface MemoryQueueOptions extends QueueConnOptions {
  /** Default: one broker shared by the process. */
  readonly broker?: MemoryBroker;
  /** Default 'default'. */
  readonly topic?: string;
  /**
   * Receivers of one subscription compete for messages; every subscription
   * gets every message (fan-out). Created when a receiver first names it;
   * 'default' (the default) always exists, so nothing sent is lost.
   */
  readonly subscription?: string;
  /** How long a received message stays invisible before it is redelivered. Default 30,000 ms. */
  readonly leaseMs?: number;
  /** Default 262,144 (SQS's). */
  readonly maxMessageBytes?: number;
}

const encoder = new TextEncoder();

class MemoryDriver implements QueueDriver<string> {
  readonly service = 'memory';
  readonly semantics = { ordering: 'group', fanOut: true } as const;
  readonly limits: QueueLimits;
  readonly leaseMs: number;
  readonly #broker: MemoryBroker;
  readonly #topic: Topic;
  readonly #sub: Subscription;

  constructor(broker: MemoryBroker, topic: string, subscription: string, leaseMs: number, maxMessageBytes: number) {
    this.#broker = broker;
    this.#topic = broker.topic(topic);
    let sub = this.#topic.subscriptions.get(subscription);
    if (sub === undefined) this.#topic.subscriptions.set(subscription, (sub = new Subscription()));
    this.#sub = sub;
    this.leaseMs = leaseMs;
    this.limits = { maxMessageBytes, maxBatchMessages: 100, maxBatchBytes: 4 * maxMessageBytes, maxReceiveMessages: 100, maxAckMessages: 100 };
  }

  size(msg: OutgoingMessage): number {
    return msg.body.byteLength + (msg.group === undefined ? 0 : encoder.encode(msg.group).byteLength);
  }

  async send(msgs: readonly OutgoingMessage[]): Promise<readonly string[]> {
    this.#broker.check();
    this.#topic.publish(msgs);
    return [];
  }

  async receive(max: number, waitMs: number, signal: AbortSignal): Promise<IncomingMessage<string>[]> {
    this.#broker.check();
    return this.#sub.receive(max, waitMs, this.leaseMs, signal);
  }

  async ack(handles: readonly string[]): Promise<void> {
    this.#broker.check();
    this.#sub.ack(handles);
  }

  async extend(handles: readonly string[]): Promise<void> {
    this.#broker.check();
    this.#sub.extend(handles, this.leaseMs);
  }

  async release(handles: readonly string[]): Promise<void> {
    this.#broker.check();
    this.#sub.release(handles);
  }

  classify(err: unknown): QueueError {
    return err instanceof QueueError ? err : new QueueError('ERR_QUEUE_SERVICE', this.service, String(err), { cause: err });
  }

  async close(): Promise<void> {}
}

/** A base connection to an in-process queue (the embedded default). */
export function memoryQueue(opts: MemoryQueueOptions = {}): QueueConn {
  const leaseMs = opts.leaseMs ?? 30_000;
  if (!(leaseMs > 0)) throw new InvalidArgumentError(`memoryQueue: leaseMs must be positive, got ${leaseMs}`);
  const broker = opts.broker ?? (shared ??= memoryBroker());
  const topic = opts.topic ?? 'default';
  const subscription = opts.subscription ?? DEFAULT_SUBSCRIPTION;
  return new QueueConn(new MemoryDriver(broker, topic, subscription, leaseMs, opts.maxMessageBytes ?? 262_144), opts);
}
