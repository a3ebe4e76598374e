import { ConnClosedError } from '../errors.js';
import type { CallOptions, Conn, ConnStats } from './conn.js';
import { MessageQueue } from './message-queue.js';

const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true };

/**
 * Iterates over what `take` resolves to until it rejects with
 * `ConnClosedError`; other errors propagate and end the iteration. Written by
 * hand, not as an async generator: each step is one promise, where a
 * generator's `yield` costs several (it showed in per-message profiles).
 * Nothing is read ahead, so leaving a loop early loses no message.
 */
export function untilClosed<T>(take: () => Promise<T>): AsyncIterableIterator<T> {
  let done = false;
  const value = (v: T): IteratorResult<T, undefined> => ({ value: v, done: false });
  const ended = (err: unknown): IteratorResult<T, undefined> => {
    done = true;
    if (err instanceof ConnClosedError) return DONE;
    throw err;
  };
  const it: AsyncIterableIterator<T> = {
    next: () => (done ? Promise.resolve(DONE) : take().then(value, ended)),
    return: () => {
      done = true;
      return Promise.resolve(DONE);
    },
    [Symbol.asyncIterator]: () => it,
  };
  return it;
}

/** Iterates over every message of `conn` until it closes: the async iterator of every Conn. */
export function iterateConn<D>(conn: Conn<D>): AsyncIterableIterator<D> {
  return untilClosed(() => conn.recv());
}

/**
 * Ends the inbox of a connection closed with no reader waiting. Nobody sees
 * it: reads of a drained, closed inbox get their own error (`recv`).
 */
const UNSEEN_END = new ConnClosedError();

/**
 * A base for connections whose received messages arrive by push (sockets,
 * in-memory links, reassembly buffers): subclasses implement `sendBatch` and
 * `onClose`, and push what arrives into `inbox`.
 */
export abstract class AbstractConn<D> implements Conn<D> {
  protected readonly inbox = new MessageQueue<D>();
  readonly stats: ConnStats = { sent: 0, received: 0, dropped: 0 };
  #closed = false;
  /** `close()` ended the inbox without an error object (no reader was waiting). */
  #closedQuietly = false;
  /**
   * Reads waiting on the inbox. Only they need an error when the connection
   * closes; an error (and its stack trace) per close showed in connection
   * set-up profiles, so it is made only when a reader is rejected.
   */
  #waiting = 0;
  readonly #settled = (): void => {
    this.#waiting--;
  };

  abstract sendBatch(msgs: readonly D[], opts?: CallOptions): Promise<void>;
  /** Releases the resources of this connection; called once. */
  protected abstract onClose(): Promise<void>;

  get closed(): boolean {
    return this.#closed;
  }

  send(msg: D, opts?: CallOptions): Promise<void> {
    return this.sendBatch([msg], opts);
  }

  recv(opts?: CallOptions): Promise<D> {
    if (this.inbox.size === 0) {
      if (this.#closedQuietly) return Promise.reject(new ConnClosedError());
      if (!this.inbox.ended) return this.#wait(this.inbox.takeOne(opts?.signal));
    }
    return this.inbox.takeOne(opts?.signal);
  }

  recvBatch(max: number, opts?: CallOptions): Promise<D[]> {
    if (this.inbox.size === 0) {
      if (this.#closedQuietly) return Promise.reject(new ConnClosedError());
      if (!this.inbox.ended) return this.#wait(this.inbox.take(max, opts?.signal));
    }
    return this.inbox.take(max, opts?.signal);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#waiting > 0) {
      this.inbox.end(new ConnClosedError());
    } else {
      this.#closedQuietly = true;
      this.inbox.end(UNSEEN_END);
    }
    await this.onClose();
  }

  /** Marks the connection closed because the peer or the layer below went away. */
  protected ended(err: Error = new ConnClosedError('the peer closed the connection')): void {
    this.#closed = true;
    this.inbox.end(err);
  }

  protected assertOpen(): void {
    if (this.#closed) throw new ConnClosedError();
  }

  [Symbol.asyncIterator](): AsyncIterator<D> {
    return iterateConn(this);
  }

  /** A read waiting on the empty inbox: counted until it settles. */
  #wait<T>(read: Promise<T>): Promise<T> {
    this.#waiting++;
    read.then(this.#settled, this.#settled);
    return read;
  }
}
