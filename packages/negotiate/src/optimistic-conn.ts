import { AbortError, ConnClosedError, iterateConn, type CallOptions, type Conn } from '@bertha/core';
import type { Negotiation } from './negotiation.js';
import type { WireMessage } from './wire.js';

export type Rejection = Extract<WireMessage, { t: 'reject' }>;

/** One 0-RTT try: a stack built on a cached pick, and the server's verdict on it. */
export interface Attempt<D> {
  readonly top: Conn<D>;
  readonly negotiation: Negotiation;
  /** Resolves with undefined once the server accepted, with its rejection otherwise; rejects when negotiation failed. */
  readonly settled: Promise<Rejection | undefined>;
}

/** Builds the next attempt after a rejection (on a fresh base connection). */
export type Renegotiate<D> = (rejection: Rejection, rejections: number) => Promise<Attempt<D>>;

/**
 * The connection a 0-RTT `connect` returns. Until the server accepts, it
 * keeps every message sent (by reference, up to `maxUnconfirmed`; further
 * sends wait). If the server rejects the pick, it builds the stack the
 * server accepts and re-sends those messages on it, in order, before any
 * later send: the server drops data that came with a rejected pick, so each
 * message reaches the application once, on an accepted stack. If
 * re-negotiation fails, every call rejects with the error and `confirmed`
 * says so: those messages were not delivered.
 */
export class OptimisticConn<D> implements Conn<D> {
  readonly confirmed: Promise<Negotiation>;
  #current: Conn<D>;
  #negotiation: Negotiation;
  #state: 'pending' | 'confirmed' | 'failed' | 'closed' = 'pending';
  #error: Error | undefined;
  #switching = false;
  #unconfirmed: D[] = [];
  readonly #max: number;
  readonly #renegotiate: Renegotiate<D>;
  #resolve!: (n: Negotiation) => void;
  #reject!: (err: Error) => void;
  #changed!: Promise<void>;
  #wake!: () => void;

  constructor(first: Attempt<D>, renegotiate: Renegotiate<D>, maxUnconfirmed: number) {
    this.#current = first.top;
    this.#negotiation = first.negotiation;
    this.#renegotiate = renegotiate;
    this.#max = maxUnconfirmed;
    this.confirmed = new Promise<Negotiation>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // Observed through `confirmed()` and every call; never an unhandled rejection.
    this.confirmed.catch(() => undefined);
    this.#rearm();
    this.#watch(first);
  }

  get negotiation(): Negotiation {
    return this.#negotiation;
  }

  get closed(): boolean {
    return this.#state === 'closed' || this.#state === 'failed' || this.#current.closed;
  }

  send(msg: D, opts?: CallOptions): Promise<void> {
    return this.#state === 'confirmed' ? this.#current.send(msg, opts) : this.#sendUnconfirmed([msg], opts);
  }

  sendBatch(msgs: readonly D[], opts?: CallOptions): Promise<void> {
    return this.#state === 'confirmed' ? this.#current.sendBatch(msgs, opts) : this.#sendUnconfirmed(msgs, opts);
  }

  recv(opts?: CallOptions): Promise<D> {
    return this.#state === 'confirmed' ? this.#current.recv(opts) : this.#retrying((c) => c.recv(opts), opts);
  }

  recvBatch(max: number, opts?: CallOptions): Promise<D[]> {
    return this.#state === 'confirmed' ? this.#current.recvBatch(max, opts) : this.#retrying((c) => c.recvBatch(max, opts), opts);
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    if (this.#state === 'pending') this.#reject(new ConnClosedError('connection closed before the server confirmed its stack'));
    this.#state = 'closed';
    this.#unconfirmed = [];
    this.#wake();
    await this.#current.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<D> {
    return iterateConn(this);
  }

  #watch(a: Attempt<D>): void {
    a.settled.then(
      (rejection) => (rejection === undefined ? this.#confirm() : this.#switch(rejection)),
      (err: unknown) => this.#fail(err instanceof Error ? err : new Error(String(err))),
    );
  }

  #confirm(): void {
    if (this.#state !== 'pending') return;
    this.#state = 'confirmed';
    this.#unconfirmed = [];
    this.#resolve(this.#negotiation);
    this.#wake();
  }

  async #switch(rejection: Rejection): Promise<void> {
    if (this.#state !== 'pending') return;
    this.#switching = true;
    const old = this.#current;
    await old.close().catch(() => undefined);
    let next: Attempt<D>;
    try {
      next = await this.#renegotiate(rejection, this.#negotiation.rejections + 1);
      if (this.#state !== 'pending') {
        await next.top.close();
        return;
      }
      // Senders wait while switching, so the replay goes before anything sent later.
      if (this.#unconfirmed.length > 0) await next.top.sendBatch(this.#unconfirmed);
    } catch (err) {
      this.#fail(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.#current = next.top;
    this.#negotiation = next.negotiation;
    this.#switching = false;
    this.#wake();
    this.#watch(next);
  }

  #fail(err: Error): void {
    if (this.#state !== 'pending') return;
    this.#state = 'failed';
    this.#error = err;
    this.#switching = false;
    this.#unconfirmed = [];
    this.#reject(err);
    this.#wake();
    void this.#current.close().catch(() => undefined);
  }

  #throwIfDone(): void {
    if (this.#state === 'failed') throw this.#error as Error;
    if (this.#state === 'closed') throw new ConnClosedError();
  }

  async #sendUnconfirmed(msgs: readonly D[], opts: CallOptions | undefined): Promise<void> {
    for (;;) {
      this.#throwIfDone();
      if (this.#state === 'confirmed') return this.#current.sendBatch(msgs, opts);
      const room = this.#unconfirmed.length === 0 || this.#unconfirmed.length + msgs.length <= this.#max;
      if (!this.#switching && room) break;
      await this.#nextChange(opts?.signal);
    }
    this.#unconfirmed.push(...msgs);
    const conn = this.#current;
    try {
      await conn.sendBatch(msgs, opts);
    } catch (err) {
      // Sent on a stack being replaced: the replay carries these messages.
      if (this.#switching || conn !== this.#current) return;
      throw err;
    }
  }

  async #retrying<R>(op: (c: Conn<D>) => Promise<R>, opts: CallOptions | undefined): Promise<R> {
    for (;;) {
      this.#throwIfDone();
      const conn = this.#current;
      try {
        return await op(conn);
      } catch (err) {
        if (err instanceof AbortError) throw err;
        // The old stack ended under us (a rejection): carry on on the next one.
        if (this.#state === 'pending' || conn !== this.#current) {
          if (conn === this.#current) await this.#nextChange(opts?.signal);
          continue;
        }
        this.#throwIfDone();
        throw err;
      }
    }
  }

  #rearm(): void {
    this.#changed = new Promise<void>((resolve) => {
      this.#wake = () => {
        this.#rearm();
        resolve();
      };
    });
  }

  #nextChange(signal: AbortSignal | undefined): Promise<void> {
    if (!signal) return this.#changed;
    if (signal.aborted) return Promise.reject(new AbortError(signal.reason));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(new AbortError(signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
      void this.#changed.then(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }
}
