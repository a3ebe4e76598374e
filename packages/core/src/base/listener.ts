import type { CallOptions } from '../conn/conn.js';
import { ConnClosedError } from '../errors.js';
import { MessageQueue, type QueueSink } from '../conn/message-queue.js';
import { untilClosed } from '../conn/abstract-conn.js';
import { publishBaseOpen } from '../diagnostics/conn-channels.js';
import type { BaseConn, Listener, ListenerStats, TransportKind } from './transport.js';

/**
 * The part every listener shares: a queue of accepted connections and the
 * set of live ones, so that closing the listener closes them all.
 */
export class ConnListener<A> implements Listener<A> {
  readonly stats: ListenerStats = { accepted: 0, dropped: 0 };
  readonly address: A;
  readonly kind: TransportKind;
  readonly #pending = new MessageQueue<BaseConn<A>>();
  readonly #live = new Set<BaseConn<A>>();
  readonly #release: () => Promise<void>;
  #closed = false;

  /** `release` frees what the listener holds (its socket, its name); called once, after its connections closed. */
  constructor(kind: TransportKind, address: A, release: () => Promise<void>) {
    this.kind = kind;
    this.address = address;
    this.#release = release;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Hands a newly accepted connection to `accept`; a closed listener closes it instead. */
  offer(conn: BaseConn<A>): void {
    publishBaseOpen(conn, this.kind, 'server');
    if (this.#closed) {
      void conn.close();
      return;
    }
    this.stats.accepted++;
    this.#live.add(conn);
    this.#pending.push(conn);
  }

  /** Forgets a connection that closed by itself. */
  forget(conn: BaseConn<A>): void {
    this.#live.delete(conn);
  }

  accept(opts?: CallOptions): Promise<BaseConn<A>> {
    return this.#pending.takeOne(opts?.signal);
  }

  divert(sink: QueueSink<BaseConn<A>> | undefined): void {
    this.#pending.divert(sink);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending.end(new ConnClosedError('listener is closed: listen again to accept connections'));
    const conns = [...this.#live];
    this.#live.clear();
    await Promise.all(conns.map((c) => c.close()));
    await this.#release();
  }

  [Symbol.asyncIterator](): AsyncIterator<BaseConn<A>> {
    return untilClosed(() => this.accept());
  }
}
