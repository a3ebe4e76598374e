/**
 * QueueConn: the base connection every queue service shares. The service part
 * is a `QueueDriver` (one API call per method); everything a user relies on is
 * here, once:
 *
 * - send: size checks before any call; batches cut to the service's count and
 *   byte limits; optional nagling (`nagleMs`); partial failures and retryable
 *   errors retried with backoff until `retry.giveUpMs`, so a message the
 *   service acknowledged is never lost and one it did not is reported.
 * - receive: polling starts at the first `recv` (a send-only conn never
 *   takes messages from others); up to `prefetch` messages are held ahead of
 *   the application, their leases extended every `leaseMs / 3`; a message is
 *   acknowledged only once the layer above took it; `close()` releases what
 *   was held so others get it at once, a crash (`destroy()`) lets the lease run
 *   out so others get it later.
 * - bodies another producer wrote that do not decode: reported
 *   (`onUndecodable`, kept in `undecodable`), then removed from the queue.
 * - counters of API calls by kind (`calls`).
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AbortError,
  ConnClosedError,
  MessageQueue,
  MessageTooLargeError,
  iterateConn,
  type CallOptions,
  type Capability,
  type Conn,
  type ConnStats,
} from '@bertha/core';
import type { IncomingMessage, OutgoingMessage, QueueDriver } from './driver.js';
import { QueueError } from './errors.js';
import { trailerGroup } from './group-trailer.js';
import type { Delivery, QueueMessage, Undecodable } from './message.js';
import { queueCapabilities, type QueueLimits, type QueueSemantics } from './semantics.js';

/** API calls a base connection made, by kind (retries included). */
export interface ApiCalls {
  send: number;
  receive: number;
  /** Delete (SQS, Azure), acknowledge (GCP, Redis XACK), offset commit (Kafka). */
  ack: number;
  /** Visibility / ack-deadline / claim extensions of held messages. */
  extend: number;
  /** Held messages handed back on `close()`. */
  release: number;
}

export interface QueueStats {
  /** Calls that failed with a retryable error and were tried again. */
  retries: number;
  /** Messages received again after a lease ran out (`attempt > 1`). */
  redelivered: number;
  /** Messages whose body did not decode. */
  undecodable: number;
}

export interface RetryOptions {
  /** First backoff. Default 50 ms. */
  readonly initialMs?: number;
  /** Largest backoff. Default 2,000 ms. */
  readonly maxMs?: number;
  /** A send fails with the last error once retries have taken this long. Default 30,000 ms. */
  readonly giveUpMs?: number;
}

/** Options every queue base connection takes, besides its service's own. */
export interface QueueConnOptions {
  /** False: a send-only connection that never polls the service. Default true (polling starts at the first `recv`). */
  readonly consume?: boolean;
  /**
   * Nagling: a send waits up to this long for others to share its call (up
   * to the service's batch limits). Default 0: sends go at once (sends made
   * in the same tick still share a call).
   */
  readonly nagleMs?: number;
  /** False: one message per send, receive and acknowledge call (the unbatched baseline). Default true. */
  readonly batch?: boolean;
  /** `'trailer'`: read each sent frame's ordering group from its group trailer (see `serviceOrdering()`). Default: no group. */
  readonly groups?: 'trailer';
  /** Messages held ahead of the application. Default: the service's receive batch (1 with `batch: false`). */
  readonly prefetch?: number;
  /** Longest wait of one receive call (long poll). Default 1,000 ms. */
  readonly waitMs?: number;
  /** Acknowledgements wait up to this long to share a call. Default 0 (same tick). */
  readonly ackDelayMs?: number;
  readonly retry?: RetryOptions;
  /**
   * Called with every message whose body does not decode, before it is
   * removed from the queue (e.g. to copy it to a dead-letter queue; if it
   * throws, the message stays and comes back after its lease). The last 100
   * are also kept in `undecodable`.
   */
  readonly onUndecodable?: (msg: Undecodable) => void | Promise<void>;
  /** Failures of background calls (receive, acknowledge, extend) and retried failures. */
  readonly onError?: (err: QueueError) => void;
}

interface Held {
  readonly msg: IncomingMessage<unknown>;
  readonly body: Uint8Array;
}

interface PendingSend {
  readonly msg: OutgoingMessage;
  readonly size: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

const KEEP_UNDECODABLE = 100;

/**
 * A base connection to a queue service. Drivers of any handle type fit
 * (`QueueDriver` methods are compared bivariantly); handles stay opaque here.
 */
export class QueueConn implements Conn<Uint8Array> {
  readonly stats: ConnStats = { sent: 0, received: 0, dropped: 0 };
  readonly calls: ApiCalls = { send: 0, receive: 0, ack: 0, extend: 0, release: 0 };
  readonly queueStats: QueueStats = { retries: 0, redelivered: 0, undecodable: 0 };
  /** The last bodies that did not decode (oldest first). */
  readonly undecodable: Undecodable[] = [];

  readonly #driver: QueueDriver;
  readonly #consume: boolean;
  readonly #nagleMs: number;
  readonly #batchMax: number;
  readonly #receiveMax: number;
  readonly #ackMax: number;
  readonly #prefetch: number;
  readonly #waitMs: number;
  readonly #ackDelayMs: number;
  readonly #trailer: boolean;
  readonly #retry: Required<RetryOptions>;
  readonly #onUndecodable: QueueConnOptions['onUndecodable'];
  readonly #onError: QueueConnOptions['onError'];

  readonly #inbox = new MessageQueue<Held>();
  readonly #held = new Set<Held>();
  #pending: PendingSend[] = [];
  #pendingBytes = 0;
  #nagleTimer: NodeJS.Timeout | undefined;
  #flushScheduled = false;
  readonly #inFlight = new Set<Promise<void>>();
  #toAck: unknown[] = [];
  #ackTimer: NodeJS.Timeout | undefined;
  #extendTimer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #space: (() => void) | undefined;
  readonly #stopPolling = new AbortController();
  readonly #destroyed = new AbortController();
  #closed = false;

  constructor(driver: QueueDriver, opts: QueueConnOptions = {}) {
    this.#driver = driver;
    const batch = opts.batch ?? true;
    const limits = driver.limits;
    this.#consume = opts.consume ?? true;
    this.#nagleMs = opts.nagleMs ?? 0;
    this.#batchMax = batch ? limits.maxBatchMessages : 1;
    this.#receiveMax = batch ? limits.maxReceiveMessages : 1;
    this.#ackMax = batch ? limits.maxAckMessages : 1;
    this.#prefetch = Math.max(1, opts.prefetch ?? this.#receiveMax);
    this.#waitMs = opts.waitMs ?? 1_000;
    this.#ackDelayMs = opts.ackDelayMs ?? 0;
    this.#trailer = opts.groups === 'trailer';
    this.#retry = { initialMs: 50, maxMs: 2_000, giveUpMs: 30_000, ...opts.retry };
    this.#onUndecodable = opts.onUndecodable;
    this.#onError = opts.onError;
    // Every in-flight call (a per-message Azure delete, a batch of sends …) listens on this
    // signal: more than ten at once is normal here, not a leak.
    setMaxListeners(0, this.#destroyed.signal);
  }

  /** Short name of the service ('memory', 'sqs', …). */
  get service(): string {
    return this.#driver.service;
  }

  get semantics(): QueueSemantics {
    return this.#driver.semantics;
  }

  get limits(): QueueLimits {
    return this.#driver.limits;
  }

  /** The service's semantics as capabilities (`queue-ordering`, `queue-fan-out`). */
  capabilities(): Capability[] {
    return queueCapabilities(this.#driver.semantics);
  }

  get closed(): boolean {
    return this.#closed;
  }

  // ---------------------------------------------------------------- send

  send(msg: Uint8Array, opts?: CallOptions): Promise<void> {
    return this.sendBatch([msg], opts);
  }

  async sendBatch(msgs: readonly Uint8Array[], opts?: CallOptions): Promise<void> {
    if (this.#closed) throw new ConnClosedError();
    const out = msgs.map((body) => ({ id: randomUUID(), body, group: this.#trailer ? trailerGroup(this.service, body) : undefined }));
    return this.#enqueue(out, opts);
  }

  /** Sends messages with explicit ordering groups (what `send` does with the group trailer). */
  sendMessages(msgs: readonly QueueMessage[], opts?: CallOptions): Promise<void> {
    if (this.#closed) return Promise.reject(new ConnClosedError());
    return this.#enqueue(
      msgs.map((m) => ({ id: randomUUID(), body: m.body, group: m.group })),
      opts,
    );
  }

  #enqueue(msgs: readonly OutgoingMessage[], opts: CallOptions | undefined): Promise<void> {
    if (opts?.signal?.aborted) return Promise.reject(new AbortError(opts.signal.reason));
    // Refuse the whole batch before any call if one message is over the limit.
    const sizes = msgs.map((m) => this.#driver.size(m));
    const limit = this.#driver.limits.maxMessageBytes;
    const over = sizes.findIndex((s) => s > limit);
    if (over >= 0) return Promise.reject(new MessageTooLargeError(sizes[over] as number, limit, `${this.service} message`));
    if (msgs.length === 0) return Promise.resolve();
    const done = msgs.map(
      (msg, i) =>
        new Promise<void>((resolve, reject) => {
          this.#pending.push({ msg, size: sizes[i] as number, resolve, reject });
          this.#pendingBytes += sizes[i] as number;
        }),
    );
    this.stats.sent += msgs.length;
    const full = this.#pending.length >= this.#batchMax || this.#pendingBytes >= this.#driver.limits.maxBatchBytes;
    if (full || this.#nagleMs === 0) this.#scheduleFlush();
    else this.#nagleTimer ??= setTimeout(() => this.#flush(), this.#nagleMs);
    return Promise.all(done).then(() => undefined);
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // Sends made in the same tick share a call.
    queueMicrotask(() => this.#flush());
  }

  /** Cuts everything pending into calls within the service's limits and starts them. */
  #flush(): void {
    this.#flushScheduled = false;
    clearTimeout(this.#nagleTimer);
    this.#nagleTimer = undefined;
    const limits = this.#driver.limits;
    while (this.#pending.length > 0) {
      const chunk: PendingSend[] = [];
      let bytes = 0;
      while (this.#pending.length > 0 && chunk.length < this.#batchMax) {
        const next = this.#pending[0] as PendingSend;
        if (chunk.length > 0 && bytes + next.size > limits.maxBatchBytes) break;
        chunk.push(next);
        bytes += next.size;
        this.#pending.shift();
      }
      this.#pendingBytes -= bytes;
      const call = this.#sendChunk(chunk).finally(() => this.#inFlight.delete(call));
      this.#inFlight.add(call);
    }
  }

  async #sendChunk(chunk: readonly PendingSend[]): Promise<void> {
    let left = chunk;
    const started = performance.now();
    let delay = this.#retry.initialMs;
    for (;;) {
      let failed: readonly string[];
      try {
        this.calls.send++;
        failed = await this.#driver.send(
          left.map((p) => p.msg),
          this.#destroyed.signal,
        );
      } catch (err) {
        const e = this.#classify(err);
        if (!e.retryable || this.#destroyed.signal.aborted || performance.now() - started + delay > this.#retry.giveUpMs) {
          for (const p of left) p.reject(e);
          return;
        }
        failed = left.map((p) => p.msg.id);
        this.#report(e);
      }
      const again = new Set(failed);
      for (const p of left) if (!again.has(p.msg.id)) p.resolve();
      left = left.filter((p) => again.has(p.msg.id));
      if (left.length === 0) return;
      this.queueStats.retries++;
      if (performance.now() - started + delay > this.#retry.giveUpMs) {
        const e = new QueueError('ERR_QUEUE_SERVICE', this.service, `the service kept refusing ${left.length} message(s) of a batch for ${this.#retry.giveUpMs} ms`);
        for (const p of left) p.reject(e);
        return;
      }
      await sleep(delay);
      delay = Math.min(delay * 2, this.#retry.maxMs);
    }
  }

  // ------------------------------------------------------------- receive

  recv(opts?: CallOptions): Promise<Uint8Array> {
    return this.#take(1, opts).then((h) => (h[0] as Held).body);
  }

  recvBatch(max: number, opts?: CallOptions): Promise<Uint8Array[]> {
    return this.#take(max, opts).then((hs) => hs.map((h) => h.body));
  }

  /** Like `recvBatch`, with each message's group, id and delivery attempt. */
  recvMessages(max: number, opts?: CallOptions): Promise<Delivery[]> {
    return this.#take(max, opts).then((hs) => hs.map((h) => ({ body: h.body, group: h.msg.group, id: h.msg.id, attempt: h.msg.attempt })));
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return iterateConn(this);
  }

  async #take(max: number, opts: CallOptions | undefined): Promise<Held[]> {
    this.#startPolling();
    const taken = await this.#inbox.take(Math.max(1, max), opts?.signal);
    for (const h of taken) {
      this.#held.delete(h);
      this.#toAck.push(h.msg.handle);
    }
    this.stats.received += taken.length;
    this.#scheduleAck();
    this.#space?.();
    return taken;
  }

  #startPolling(): void {
    if (this.#polling !== undefined || !this.#consume || this.#closed) return;
    this.#polling = this.#poll();
    const every = this.#driver.leaseMs / 3;
    if (Number.isFinite(every) && this.#driver.extend !== undefined) {
      this.#extendTimer = setInterval(() => void this.#extendHeld(), every);
      this.#extendTimer.unref();
    }
  }

  async #poll(): Promise<void> {
    const signal = this.#stopPolling.signal;
    let delay = this.#retry.initialMs;
    while (!signal.aborted) {
      const room = this.#prefetch - this.#held.size;
      if (room <= 0) {
        // Wait for the application to take something (or for close: it calls #space too).
        await new Promise<void>((resolve) => (this.#space = resolve));
        this.#space = undefined;
        continue;
      }
      let got: IncomingMessage<unknown>[];
      try {
        this.calls.receive++;
        got = await this.#driver.receive(Math.min(room, this.#receiveMax), this.#waitMs, signal);
        delay = this.#retry.initialMs;
      } catch (err) {
        if (signal.aborted) return;
        const e = this.#classify(err);
        if (!e.retryable) {
          // A missing queue or refused credentials will not mend: end the connection with the reason.
          this.#inbox.end(e);
          return;
        }
        this.#report(e);
        await sleep(delay, undefined, { signal }).catch(() => undefined);
        delay = Math.min(delay * 2, this.#retry.maxMs);
        continue;
      }
      if (signal.aborted) {
        // Closing: hand back what this last call brought.
        await this.#release(got.map((m) => m.handle));
        return;
      }
      for (const m of got) {
        if (m.attempt > 1) this.queueStats.redelivered++;
        if (m.body === undefined) {
          await this.#setAside(m);
          continue;
        }
        const h: Held = { msg: m, body: m.body };
        this.#held.add(h);
        this.#inbox.push(h);
      }
      // Let other work of this process run (a competing receiver's poll, the application) before polling again.
      if (got.length > 0) await new Promise((r) => setImmediate(r));
      else if (this.#driver.pollIntervalMs !== undefined) await sleep(this.#driver.pollIntervalMs, undefined, { signal }).catch(() => undefined);
    }
  }

  async #setAside(m: IncomingMessage<unknown>): Promise<void> {
    const u: Undecodable = { id: m.id, raw: m.undecodable?.raw ?? '', reason: m.undecodable?.reason ?? 'undecodable body' };
    this.queueStats.undecodable++;
    this.stats.dropped++;
    this.undecodable.push(u);
    if (this.undecodable.length > KEEP_UNDECODABLE) this.undecodable.shift();
    try {
      await this.#onUndecodable?.(u);
    } catch (err) {
      this.#report(new QueueError('ERR_QUEUE_SERVICE', this.service, `onUndecodable failed for message ${m.id}; it stays on the queue`, { cause: err }));
      return;
    }
    this.#toAck.push(m.handle);
    this.#scheduleAck();
  }

  // ------------------------------------------------- acknowledge / extend

  #scheduleAck(): void {
    if (this.#toAck.length === 0 || this.#ackTimer !== undefined) return;
    this.#ackTimer = setTimeout(() => void this.#flushAcks(), this.#ackDelayMs);
  }

  async #flushAcks(): Promise<void> {
    this.#ackTimer = undefined;
    const all = this.#toAck;
    this.#toAck = [];
    const calls: Promise<void>[] = [];
    for (let i = 0; i < all.length; i += this.#ackMax) {
      const chunk = all.slice(i, i + this.#ackMax);
      calls.push(
        this.#background('ack', (signal) => this.#driver.ack(chunk, signal)).catch((err: unknown) => {
          // Not acknowledged: the service redelivers after the lease (at least once).
          this.#report(this.#classify(err));
        }),
      );
    }
    const p = Promise.all(calls).then(() => undefined);
    this.#inFlight.add(p);
    await p.finally(() => this.#inFlight.delete(p));
  }

  async #extendHeld(): Promise<void> {
    const driver = this.#driver;
    if (driver.extend === undefined || this.#held.size === 0) return;
    const handles = [...this.#held].map((h) => h.msg.handle);
    for (let i = 0; i < handles.length; i += this.#ackMax) {
      const chunk = handles.slice(i, i + this.#ackMax);
      await this.#background('extend', async (signal) => driver.extend?.(chunk, signal)).catch((err: unknown) => this.#report(this.#classify(err)));
    }
  }

  async #release(handles: readonly unknown[]): Promise<void> {
    const driver = this.#driver;
    if (driver.release === undefined || handles.length === 0) return;
    for (let i = 0; i < handles.length; i += this.#ackMax) {
      const chunk = handles.slice(i, i + this.#ackMax);
      await this.#background('release', async (signal) => driver.release?.(chunk, signal)).catch((err: unknown) => this.#report(this.#classify(err)));
    }
  }

  /** A call off the send path, retried with backoff for at most `giveUpMs`. */
  async #background(kind: keyof ApiCalls, call: (signal: AbortSignal) => Promise<void>): Promise<void> {
    const started = performance.now();
    let delay = this.#retry.initialMs;
    for (;;) {
      this.calls[kind]++;
      try {
        return await call(this.#destroyed.signal);
      } catch (err) {
        const e = this.#classify(err);
        if (!e.retryable || this.#destroyed.signal.aborted || performance.now() - started + delay > this.#retry.giveUpMs) throw e;
        this.queueStats.retries++;
        this.#report(e);
        await sleep(delay);
        delay = Math.min(delay * 2, this.#retry.maxMs);
      }
    }
  }

  #classify(err: unknown): QueueError {
    return err instanceof QueueError ? err : this.#driver.classify(err);
  }

  #report(err: QueueError): void {
    this.#onError?.(err);
  }

  // --------------------------------------------------------------- close

  /**
   * Sends what is pending, acknowledges what the application took, hands
   * back held messages it did not take, and releases the client. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#flush();
    this.#stopPolling.abort();
    this.#space?.();
    clearInterval(this.#extendTimer);
    await this.#polling;
    const untaken = this.#inbox.poll();
    this.#inbox.end();
    this.#held.clear();
    clearTimeout(this.#ackTimer);
    await Promise.all([this.#flushAcks(), this.#release(untaken.map((h) => h.msg.handle)), ...this.#inFlight]);
    await this.#driver.close();
  }

  /**
   * Stops at once as if the process had crashed: pending sends fail, nothing
   * is acknowledged or handed back; held messages come back to other
   * receivers when their lease runs out.
   */
  async destroy(): Promise<void> {
    if (this.#destroyed.signal.aborted) return;
    this.#closed = true;
    this.#destroyed.abort();
    this.#stopPolling.abort();
    this.#space?.();
    clearInterval(this.#extendTimer);
    clearTimeout(this.#nagleTimer);
    clearTimeout(this.#ackTimer);
    this.#toAck = [];
    for (const p of this.#pending.splice(0)) p.reject(new ConnClosedError('the connection was destroyed before this message was sent'));
    this.#inbox.end();
    this.#held.clear();
    await this.#driver.close();
  }
}
