/**
 * IPC transports: anything that moves whole datagrams between a datapath and
 * an agent. Messages are encoded by `codec.ts`; a channel only carries bytes.
 */
import { type CallOptions, ConnClosedError, type ConnStats, MessageQueue, untilClosed } from '@bertha/core';

/** A received datagram and the address of its sender (reply there). */
export interface IpcDatagram {
  readonly bytes: Uint8Array;
  readonly from: string;
}

export type DatagramHandler = (bytes: Uint8Array, from: string) => void;

export interface IpcChannel {
  /** This end's address (its socket path); replies go here. */
  readonly address: string;
  readonly closed: boolean;
  readonly stats: Readonly<ConnStats>;
  /**
   * Sends one datagram to `to`; by default to the configured peer, or else to
   * whoever sent the last datagram. Returns `false` when no one is at that
   * address (the peer is gone) and the datagram was dropped. Throws
   * `ConnClosedError` after `close`.
   */
  send(bytes: Uint8Array, to?: string): boolean;
  /**
   * Delivers every datagram synchronously to `handler` (the cheapest path; it
   * replaces any earlier handler). Without a handler, datagrams queue for
   * `datagrams()`.
   */
  onDatagram(handler: DatagramHandler | undefined): void;
  /** Received datagrams in order; ends at `close`. */
  datagrams(options?: CallOptions): AsyncIterableIterator<IpcDatagram>;
  /** Stops receiving and releases the address. Idempotent. */
  close(): Promise<void>;
}

/** Datagrams waiting for a reader beyond this are dropped (and counted). */
const MAX_QUEUED = 4096;

/** Receive-side plumbing shared by the transports. */
export abstract class DatagramEndpoint implements IpcChannel {
  abstract readonly address: string;
  readonly stats: ConnStats = { sent: 0, received: 0, dropped: 0 };
  #handler: DatagramHandler | undefined;
  readonly #queue = new MessageQueue<IpcDatagram>();
  #closed = false;
  /** Sender of the most recent datagram: the default reply address. */
  protected lastSender: string | undefined;

  get closed(): boolean {
    return this.#closed;
  }

  abstract send(bytes: Uint8Array, to?: string): boolean;

  onDatagram(handler: DatagramHandler | undefined): void {
    this.#handler = handler;
    if (handler === undefined) return;
    for (const d of this.#queue.poll()) handler(d.bytes, d.from);
  }

  datagrams(options: CallOptions = {}): AsyncIterableIterator<IpcDatagram> {
    return untilClosed(() => this.#queue.takeOne(options.signal));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.end();
    await this.release();
  }

  /** Transport-specific teardown, called once by `close`. */
  protected abstract release(): Promise<void>;

  protected checkOpen(): void {
    if (this.#closed) throw new ConnClosedError('IPC channel is closed: open a new one to keep sending');
  }

  /** Called by the transport for each datagram it receives. */
  protected deliver(bytes: Uint8Array, from: string): void {
    if (this.#closed) return;
    this.stats.received++;
    this.lastSender = from;
    if (this.#handler !== undefined) {
      this.#handler(bytes, from);
    } else if (this.#queue.size < MAX_QUEUED) {
      this.#queue.push({ bytes, from });
    } else {
      this.stats.dropped++;
    }
  }
}
