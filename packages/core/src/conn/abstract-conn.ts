import { ConnClosedError } from '../errors.js';
import type { CallOptions, Conn, ConnStats } from './conn.js';
import { MessageQueue } from './message-queue.js';

/** Yields every message of `conn` until it closes; used as every Conn's async iterator. */
export async function* iterateConn<D>(conn: Conn<D>, batch = 64): AsyncGenerator<D, void, undefined> {
  for (;;) {
    let msgs: D[];
    try {
      msgs = await conn.recvBatch(batch);
    } catch (err) {
      if (err instanceof ConnClosedError) return;
      throw err;
    }
    yield* msgs;
  }
}

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
    this.inbox.end();
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
}
