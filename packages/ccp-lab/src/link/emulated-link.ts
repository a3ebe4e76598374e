import { ConnClosedError, iterateConn, throwIfAborted, type CallOptions, type Conn, type ConnStats } from '@bertha/core';
import { realClock, type Clock } from '@bertha/ccp';
import { Link, type LinkOptions } from './link.js';

export interface EmulatedLinkOptions extends LinkOptions {
  /** Bytes added to every message's size on the link, e.g. 28 for IPv4 + UDP headers. Default 0. */
  overheadBytes?: number;
}

interface MessagePacket {
  readonly bytes: number;
  readonly data: Uint8Array;
  ce?: boolean;
}

/**
 * A connection whose sends cross an emulated link (rate or trace, delay,
 * drop-tail buffer, random loss) before reaching `conn`; receives pass
 * straight through. Wrap each end of a pair to shape both directions.
 */
export class EmulatedLinkConn implements Conn<Uint8Array> {
  /** The link model, for its statistics. */
  readonly link: Link<MessagePacket>;
  /** `dropped` counts messages the link dropped or lost and sends the inner connection refused. */
  readonly stats: ConnStats = { sent: 0, received: 0, dropped: 0 };
  readonly #inner: Conn<Uint8Array>;
  readonly #overhead: number;
  #closed = false;

  constructor(inner: Conn<Uint8Array>, opts: EmulatedLinkOptions, clock: Clock) {
    this.#inner = inner;
    this.#overhead = opts.overheadBytes ?? 0;
    this.link = new Link<MessagePacket>(clock, opts, this.#forward);
  }

  get closed(): boolean {
    return this.#closed || this.#inner.closed;
  }

  send(msg: Uint8Array, opts?: CallOptions): Promise<void> {
    return this.sendBatch([msg], opts);
  }

  async sendBatch(msgs: readonly Uint8Array[], opts?: CallOptions): Promise<void> {
    throwIfAborted(opts?.signal);
    if (this.closed) throw new ConnClosedError();
    for (const m of msgs) {
      // Copied, as a socket would: the caller may reuse its buffer before the link delivers.
      if (this.link.enqueue({ bytes: m.byteLength + this.#overhead, data: m.slice() })) this.stats.sent++;
      else this.stats.dropped++;
    }
  }

  async recv(opts?: CallOptions): Promise<Uint8Array> {
    const m = await this.#inner.recv(opts);
    this.stats.received++;
    return m;
  }

  async recvBatch(max: number, opts?: CallOptions): Promise<Uint8Array[]> {
    const ms = await this.#inner.recvBatch(max, opts);
    this.stats.received += ms.length;
    return ms;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.link.close();
    await this.#inner.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return iterateConn(this);
  }

  readonly #forward = (p: MessagePacket): void => {
    this.#inner.send(p.data).catch(() => {
      // The link is datagram-like: a message the layer below refuses is lost, and counted.
      this.stats.dropped++;
    });
  };
}

/** Shapes the messages sent on `conn` with an emulated link running on `clock` (the wall clock by default). */
export function emulatedLink(conn: Conn<Uint8Array>, opts: EmulatedLinkOptions, clock: Clock = realClock()): EmulatedLinkConn {
  return new EmulatedLinkConn(conn, opts, clock);
}
