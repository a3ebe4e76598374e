import type { QueueSink } from '../conn/message-queue.js';
import type { CallOptions, Conn, ConnStats } from '../conn/conn.js';

/** Host and port, for UDP and TCP. Port 0 asks the OS for a free port when listening. */
export interface SocketAddress {
  readonly host: string;
  readonly port: number;
}

/** A filesystem path, for Unix-domain sockets. */
export interface PathAddress {
  readonly path: string;
}

/** A name on an in-memory network. */
export interface MemAddress {
  readonly name: string;
}

export type TransportKind = 'udp' | 'tcp' | 'unix' | 'mem';

/** A connection opened by a transport: raw byte messages to one peer. */
export interface BaseConn<A = unknown> extends Conn<Uint8Array> {
  readonly local: A;
  readonly remote: A;
  /** Largest message this connection carries in one `send`. */
  readonly maxMessageSize: number;
  readonly stats: ConnStats;
  /**
   * Connected datagram sockets only: aborted (with an `AddressError`) the
   * first time the OS reports the peer's port unreachable, which UDP
   * otherwise hides. A hint for the protocol above that the peer is gone.
   */
  readonly unreachable?: AbortSignal;
}

/** Accepted connections, one per peer. Closing the listener closes them all. */
export interface Listener<A = unknown> extends AsyncIterable<BaseConn<A>> {
  readonly address: A;
  accept(opts?: CallOptions): Promise<BaseConn<A>>;
  close(): Promise<void>;
  readonly stats: ListenerStats;
  /**
   * Optional: hands every connection accepted from now on (and those
   * waiting) to `sink` as it arrives, then the listener's end, instead of
   * queueing them for `accept` (no promise per connection, for a layer above
   * that takes each at once). `undefined` stops diverting.
   */
  divert?(sink: QueueSink<BaseConn<A>> | undefined): void;
}

export interface ListenerStats {
  accepted: number;
  /** Datagrams or frames dropped before reaching a connection (undecodable, oversized, from a closed peer). */
  dropped: number;
}

/** A base connection factory: the bottom of every stack. */
export interface Transport<A> {
  readonly kind: TransportKind;
  /** True when messages may be lost, duplicated or reordered (UDP, a lossy in-memory link). */
  readonly datagram: boolean;
  connect(addr: A, opts?: CallOptions): Promise<BaseConn<A>>;
  listen(addr: A, opts?: CallOptions): Promise<Listener<A>>;
  /** A printable form of an address, used in errors and as a cache key. */
  format(addr: A): string;
}

/** Largest UDP payload over IPv4: the message size limit of datagram transports (UDP, and mem by default). */
export const DATAGRAM_MAX_MESSAGE_SIZE = 65_507;
