import { ConnClosedError } from '../errors.js';
import type { CallOptions, Conn, ConnStats } from './conn.js';
import { MessageQueue, type QueueEnd, type QueueSink } from './message-queue.js';

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
 * The errors that end the inbox of a connection closed at this end or by the
 * peer, made only if a read needs them. They have no stack trace: the trace
 * was the main cost of closing a connection in set-up profiles, and it would
 * only show where `close()` or the event loop was.
 */
function traceless(message: string | undefined): ConnClosedError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new ConnClosedError(message);
  } finally {
    Error.stackTraceLimit = limit;
  }
}
const closedHere = (): ConnClosedError => traceless(undefined);
const closedThere = (): ConnClosedError => traceless('the peer closed the connection');

/**
 * A base for connections whose received messages arrive by push (sockets,
 * in-memory links, reassembly buffers): subclasses implement `sendBatch` and
 * `onClose`, and push what arrives into `inbox`.
 */
export abstract class AbstractConn<D> implements Conn<D> {
  protected readonly inbox = new MessageQueue<D>();
  readonly stats: ConnStats = { sent: 0, received: 0, dropped: 0 };
  #closed = false;

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
    return this.inbox.takeOne(opts?.signal);
  }

  recvBatch(max: number, opts?: CallOptions): Promise<D[]> {
    return this.inbox.take(max, opts?.signal);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.inbox.end(closedHere);
    await this.onClose();
  }

  /**
   * Hands every message this connection receives from now on (and those
   * buffered) to `sink` as it arrives, and then its end, instead of queueing
   * them for `recv`: for a layer above that dispatches each message at once
   * (no promise per message). `recv` then only sees the end. `undefined`
   * stops diverting.
   */
  divert(sink: QueueSink<D> | undefined): void {
    this.inbox.divert(sink);
  }

  /** Marks the connection closed because the peer or the layer below went away; a function makes the error only if a reader needs it. */
  protected ended(err: QueueEnd = closedThere): void {
    this.#closed = true;
    this.inbox.end(err);
  }

  protected assertOpen(): void {
    if (this.#closed) throw new ConnClosedError();
  }

  [Symbol.asyncIterator](): AsyncIterator<D> {
    return iterateConn(this);
  }
}
