import { AbortError, ConnClosedError, iterateConn, type CallOptions, type Conn } from '@bertha/core';
import type { LiveNegotiation, Negotiation } from './negotiation.js';
import type { WireMessage } from './wire.js';

export type Rejection = Extract<WireMessage, { t: 'reject' }>;

/** The server's verdict on a pick: accepted (undefined), rejected, or no verdict (the error that ended negotiation). */
export type Outcome = Rejection | Error | undefined;

/** Hears a verdict (an object, not a closure per connection). */
interface VerdictListener {
  onVerdict(outcome: Outcome): void;
}

/**
 * Where a verdict waits for its listener: the verdict may come while the
 * stack is still being built, before the connection that listens exists.
 * Delivered synchronously, so data that confirms a stack confirms it before
 * the application sees that data.
 */
export class Verdict {
  #outcome: Outcome;
  #settled = false;
  #listener: VerdictListener | undefined;

  settle(outcome: Outcome): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#outcome = outcome;
    const listener = this.#listener;
    this.#listener = undefined;
    listener?.onVerdict(outcome);
  }

  /** Tells `listener` the verdict once: now if it came already. */
  listen(listener: VerdictListener): void {
    if (this.#settled) listener.onVerdict(this.#outcome);
    else this.#listener = listener;
  }
}

/** One 0-RTT try: a stack built on a cached pick, and the server's verdict on it. */
export interface Attempt<D> {
  readonly top: Conn<D>;
  readonly negotiation: Negotiation;
  readonly verdict: Verdict;
}

/** The `connect` call behind an optimistic connection. */
export interface Negotiator<D> {
  /** Builds the next attempt after a rejection (on a fresh base connection). */
  renegotiate(rejection: Rejection, rejections: number): Promise<Attempt<D>>;
  /** Hears the error that ends the connection before the server accepted a stack (diagnostics). */
  failed(err: Error): void;
}

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
export class OptimisticConn<D> implements Conn<D>, LiveNegotiation, VerdictListener {
  #current: Conn<D>;
  #negotiation: Negotiation;
  #state: 'pending' | 'confirmed' | 'failed' | 'closed' = 'pending';
  /** Why it failed, or (made when asked) that it closed before the server confirmed. */
  #error: Error | undefined;
  #closedUnconfirmed = false;
  #switching = false;
  #unconfirmed: D[] = [];
  readonly #max: number;
  readonly #negotiator: Negotiator<D>;
  /** `confirmed()` callers while pending: made on demand, most connections never ask. */
  #confirmation: { promise: Promise<Negotiation>; resolve: (n: Negotiation) => void; reject: (err: Error) => void } | undefined;
  /** Calls blocked until the state changes (room to send, a new stack). */
  #wakeups: (() => void)[] = [];

  constructor(first: Attempt<D>, negotiator: Negotiator<D>, maxUnconfirmed: number) {
    this.#current = first.top;
    this.#negotiation = first.negotiation;
    this.#negotiator = negotiator;
    this.#max = maxUnconfirmed;
    first.verdict.listen(this);
  }

  get negotiation(): Negotiation {
    return this.#negotiation;
  }

  /** Resolves when the server accepted this connection's stack; rejects with the error that ended it. */
  confirmed(): Promise<Negotiation> {
    if (this.#error) return Promise.reject(this.#error);
    if (this.#closedUnconfirmed) return Promise.reject((this.#error = closedUnconfirmed()));
    if (this.#state !== 'pending') return Promise.resolve(this.#negotiation);
    if (!this.#confirmation) {
      let resolve!: (n: Negotiation) => void;
      let reject!: (err: Error) => void;
      const promise = new Promise<Negotiation>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // Observed by whoever asked, and by every call; never an unhandled rejection.
      promise.catch(() => undefined);
      this.#confirmation = { promise, resolve, reject };
    }
    return this.#confirmation.promise;
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
    if (this.#state === 'confirmed') return this.#current.recv(opts);
    if (this.#state !== 'pending') return Promise.reject(this.#doneError());
    const conn = this.#current;
    return conn.recv(opts).catch((err: unknown) => this.#afterReadError(conn, err, opts).then(() => this.recv(opts)));
  }

  recvBatch(max: number, opts?: CallOptions): Promise<D[]> {
    if (this.#state === 'confirmed') return this.#current.recvBatch(max, opts);
    if (this.#state !== 'pending') return Promise.reject(this.#doneError());
    const conn = this.#current;
    return conn.recvBatch(max, opts).catch((err: unknown) => this.#afterReadError(conn, err, opts).then(() => this.recvBatch(max, opts)));
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    if (this.#state === 'pending') {
      this.#closedUnconfirmed = true;
      if (this.#confirmation) this.#confirmation.reject((this.#error = closedUnconfirmed()));
    }
    this.#state = 'closed';
    this.#unconfirmed = [];
    this.#wake();
    await this.#current.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<D> {
    return iterateConn(this);
  }

  /** @internal The server's verdict on the current attempt. */
  onVerdict(outcome: Outcome): void {
    if (outcome === undefined) this.#confirm();
    else if (outcome instanceof Error) this.#fail(outcome);
    else void this.#switch(outcome);
  }

  #confirm(): void {
    if (this.#state !== 'pending') return;
    this.#state = 'confirmed';
    this.#unconfirmed = [];
    this.#confirmation?.resolve(this.#negotiation);
    this.#wake();
  }

  async #switch(rejection: Rejection): Promise<void> {
    if (this.#state !== 'pending') return;
    this.#switching = true;
    const old = this.#current;
    await old.close().catch(() => undefined);
    let next: Attempt<D>;
    try {
      next = await this.#negotiator.renegotiate(rejection, this.#negotiation.rejections + 1);
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
    next.verdict.listen(this);
  }

  #fail(err: Error): void {
    if (this.#state !== 'pending') return;
    this.#state = 'failed';
    this.#error = err;
    this.#switching = false;
    this.#unconfirmed = [];
    this.#confirmation?.reject(err);
    this.#negotiator.failed(err);
    this.#wake();
    void this.#current.close().catch(() => undefined);
  }

  #throwIfDone(): void {
    if (this.#state === 'failed' || this.#state === 'closed') throw this.#doneError();
  }

  /** Why calls fail once the connection failed or closed. */
  #doneError(): Error {
    return this.#state === 'failed' ? (this.#error as Error) : new ConnClosedError();
  }

  /** Room to keep `n` more messages for a replay, now. */
  #canKeep(n: number): boolean {
    const kept = this.#unconfirmed.length;
    return this.#state === 'pending' && !this.#switching && (kept === 0 || kept + n <= this.#max);
  }

  /**
   * Keeps `msgs` for a replay and sends them at once when there is room,
   * with no async frame (every 0-RTT connection's first send comes here);
   * else waits for room.
   */
  #sendUnconfirmed(msgs: readonly D[], opts: CallOptions | undefined): Promise<void> {
    if (!this.#canKeep(msgs.length)) return this.#sendWhenRoom(msgs, opts);
    for (const m of msgs) this.#unconfirmed.push(m);
    const conn = this.#current;
    return conn.sendBatch(msgs, opts).catch((err: unknown) => {
      // Sent on a stack being replaced: the replay carries these messages.
      if (this.#switching || conn !== this.#current) return;
      throw err;
    });
  }

  async #sendWhenRoom(msgs: readonly D[], opts: CallOptions | undefined): Promise<void> {
    for (;;) {
      this.#throwIfDone();
      if (this.#state === 'confirmed') return this.#current.sendBatch(msgs, opts);
      if (this.#canKeep(msgs.length)) return this.#sendUnconfirmed(msgs, opts);
      await this.#nextChange(opts?.signal);
    }
  }

  /** A read failed on `conn`: carry on on the next stack if a rejection ended it, else throw. */
  async #afterReadError(conn: Conn<D>, err: unknown, opts: CallOptions | undefined): Promise<void> {
    if (err instanceof AbortError) throw err;
    if (this.#state === 'pending' || conn !== this.#current) {
      if (conn === this.#current) await this.#nextChange(opts?.signal);
      return;
    }
    this.#throwIfDone();
    throw err;
  }

  #wake(): void {
    if (this.#wakeups.length === 0) return;
    const wakeups = this.#wakeups;
    this.#wakeups = [];
    for (const w of wakeups) w();
  }

  #nextChange(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(new AbortError(signal.reason));
    return new Promise<void>((resolve, reject) => {
      if (!signal) {
        this.#wakeups.push(resolve);
        return;
      }
      const onAbort = (): void => reject(new AbortError(signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
      this.#wakeups.push(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }
}

const closedUnconfirmed = (): ConnClosedError => new ConnClosedError('connection closed before the server confirmed its stack');
