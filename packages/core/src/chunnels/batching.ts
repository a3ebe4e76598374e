/**
 * batching(): Nagle-style coalescing of sends, for layers that bill or cost
 * per call (cloud queues, syscalls).
 *
 * Wire format: none. Messages pass unchanged; only how they are grouped into
 * calls on the Conn below changes. `send` calls made within `maxDelayMs` of
 * the first unsent one go down together in one `sendBatch` (sooner when
 * `maxBatch` of them are waiting); a `sendBatch` from above goes down at once,
 * split into calls of at most `maxBatch`, after whatever single sends were
 * waiting, so order is kept.
 */
import { iterateConn } from '../conn/abstract-conn.js';
import type { CallOptions, Conn, ConnStats } from '../conn/conn.js';
import { AbortError, ConnClosedError, InvalidArgumentError } from '../errors.js';
import type { ChunnelWithConn } from './chunnel-with-conn.js';

export interface BatchingOptions {
  /** Longest a `send` waits for company before going down. Default 10 ms. */
  readonly maxDelayMs?: number;
  /** Most messages per call on the Conn below (SQS takes 10). Default 10. */
  readonly maxBatch?: number;
}

export interface BatchStats {
  /** Calls made on the Conn below. */
  calls: number;
  /** Messages handed down in those calls. */
  messages: number;
}

interface Pending<D> {
  readonly msg: D;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
  readonly detach: () => void;
}

/** The Conn `batching()` returns; `batchStats` tells how many calls on the Conn below it made. */
export class BatchingConn<D> implements Conn<D> {
  readonly stats: ConnStats = { sent: 0, received: 0, dropped: 0 };
  readonly batchStats: BatchStats = { calls: 0, messages: 0 };
  readonly #inner: Conn<D>;
  readonly #maxDelayMs: number;
  readonly #maxBatch: number;
  readonly #totals: BatchStats | undefined;
  #pending: Pending<D>[] = [];
  #timer: NodeJS.Timeout | undefined;
  readonly #inFlight = new Set<Promise<unknown>>();
  #closed = false;

  constructor(inner: Conn<D>, opts: BatchingOptions = {}, totals?: BatchStats) {
    this.#inner = inner;
    this.#maxDelayMs = opts.maxDelayMs ?? 10;
    this.#maxBatch = opts.maxBatch ?? 10;
    this.#totals = totals;
  }

  get closed(): boolean {
    return this.#closed || this.#inner.closed;
  }

  /** Resolves once the batch holding `msg` was handed down; rejects with that call's error. */
  send(msg: D, opts?: CallOptions): Promise<void> {
    if (this.closed) return Promise.reject(new ConnClosedError());
    const signal = opts?.signal;
    if (signal?.aborted) return Promise.reject(new AbortError(signal.reason));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.#pending.indexOf(p);
        if (i < 0) return;
        this.#pending.splice(i, 1);
        reject(new AbortError(signal?.reason));
      };
      const p: Pending<D> = { msg, resolve, reject, detach: () => signal?.removeEventListener('abort', onAbort) };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.push(p);
      if (this.#pending.length >= this.#maxBatch) this.#flush();
      else this.#timer ??= setTimeout(() => this.#flush(), this.#maxDelayMs);
    });
  }

  async sendBatch(msgs: readonly D[], opts?: CallOptions): Promise<void> {
    if (this.closed) throw new ConnClosedError();
    this.#flush();
    const calls: Promise<void>[] = [];
    for (let i = 0; i < msgs.length; i += this.#maxBatch) calls.push(this.#handDown(msgs.slice(i, i + this.#maxBatch), opts));
    await Promise.all(calls);
  }

  async recv(opts?: CallOptions): Promise<D> {
    const msg = await this.#inner.recv(opts);
    this.stats.received++;
    return msg;
  }

  async recvBatch(max: number, opts?: CallOptions): Promise<D[]> {
    const msgs = await this.#inner.recvBatch(max, opts);
    this.stats.received += msgs.length;
    return msgs;
  }

  /** Sends what is waiting, waits for it to go down, then closes the Conn below. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#flush();
    await Promise.allSettled(this.#inFlight);
    await this.#inner.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<D> {
    return iterateConn(this);
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, this.#maxBatch);
      for (const p of batch) p.detach();
      this.#handDown(batch.map((p) => p.msg)).then(
        () => {
          for (const p of batch) p.resolve();
        },
        (err: unknown) => {
          for (const p of batch) p.reject(err);
        },
      );
    }
  }

  #handDown(msgs: D[], opts?: CallOptions): Promise<void> {
    this.batchStats.calls++;
    this.batchStats.messages += msgs.length;
    if (this.#totals !== undefined) {
      this.#totals.calls++;
      this.#totals.messages += msgs.length;
    }
    this.stats.sent += msgs.length;
    const call = this.#inner.sendBatch(msgs, opts);
    this.#inFlight.add(call);
    const forget = (): void => {
      this.#inFlight.delete(call);
    };
    call.then(forget, forget);
    return call;
  }
}

/** A batching Chunnel; `stats` adds up the calls of every Conn it wrapped. */
export interface BatchingChunnel<D> extends ChunnelWithConn<D, D, 'batching', BatchingConn<D>> {
  readonly stats: BatchStats;
}

export function batching<D = Uint8Array>(opts: BatchingOptions = {}): BatchingChunnel<D> {
  if (opts.maxBatch !== undefined && !(Number.isInteger(opts.maxBatch) && opts.maxBatch >= 1)) {
    throw new InvalidArgumentError('batching(): maxBatch must be a positive integer');
  }
  if (opts.maxDelayMs !== undefined && !(opts.maxDelayMs >= 0)) throw new InvalidArgumentError('batching(): maxDelayMs must be a non-negative number');
  const stats: BatchStats = { calls: 0, messages: 0 };
  return {
    name: 'batching' as const,
    stats,
    capabilities: () => [],
    connectWrap: async (inner) => new BatchingConn(inner, opts, stats),
  };
}
