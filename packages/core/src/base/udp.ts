import { createSocket, type RemoteInfo, type Socket, type SocketType } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { CallOptions } from '../conn/conn.js';
import { AbstractConn } from '../conn/abstract-conn.js';
import { ConnClosedError, InvalidArgumentError, MessageTooLargeError, throwIfAborted } from '../errors.js';
import { formatHostPort } from './address.js';
import { AddressError, TransportError } from './errors.js';
import { publishBaseOpen, publishClose } from '../diagnostics/conn-channels.js';
import { ConnListener } from './listener.js';
import { socketError, started } from './start.js';
import { DATAGRAM_MAX_MESSAGE_SIZE, type BaseConn, type SocketAddress, type Transport } from './transport.js';

export interface UdpOptions {
  /** Largest datagram payload, in bytes. Default and upper bound 65,507 (UDP over IPv4). */
  maxMessageSize?: number;
  /** SO_RCVBUF for every socket; the OS caps it (net.core.rmem_max on Linux). Default: the OS default. */
  recvBufferSize?: number;
  /** SO_SNDBUF for every socket; the OS caps it. Default: the OS default. */
  sendBufferSize?: number;
  /**
   * After a listener's per-peer connection is closed, datagrams from that
   * peer's address are dropped (and counted) for this long, so a late
   * retransmission does not open a new connection. Default 0: off. A source
   * address is all UDP has to tell peers apart, and Linux hands a just-freed
   * ephemeral port to the next client soon (often at once), so a quiet period
   * blackholes new clients; late datagrams of an old session are for the
   * protocol above to recognise (negotiation drops them). Set it only when
   * peers use fixed ports.
   */
  closedPeerQuietMs?: number;
}

/**
 * After this many datagrams on one socket, a send waits for the event loop to
 * run once: sends complete without ever reaching the I/O phase, so a sender
 * looping on `sendBatch` would otherwise starve receives and timers.
 */
const YIELD_EVERY = 256;

/** Datagrams sent on a socket since the event loop last ran. */
interface SendState {
  sinceYield: number;
}

/**
 * UDP. A client is a socket connected to its peer. A listener is one socket
 * whose datagrams are demultiplexed by source address: each new source is a
 * new accepted connection, and replies go out through the shared socket.
 * UDP has no close signal, so a peer's `close` is not seen by the other end.
 */
export function udp(opts: UdpOptions = {}): Transport<SocketAddress> {
  const maxMessageSize = opts.maxMessageSize ?? DATAGRAM_MAX_MESSAGE_SIZE;
  if (!Number.isInteger(maxMessageSize) || maxMessageSize < 0 || maxMessageSize > DATAGRAM_MAX_MESSAGE_SIZE) {
    throw new InvalidArgumentError(`maxMessageSize must be an integer in [0, ${DATAGRAM_MAX_MESSAGE_SIZE}], got ${maxMessageSize}`);
  }
  const quietMs = opts.closedPeerQuietMs ?? 0;
  const format = (addr: SocketAddress): string => `udp:${formatHostPort(addr)}`;

  const open = async (host: string, where: string, signal: AbortSignal | undefined): Promise<{ socket: Socket; ip: string }> => {
    const { ip, type } = await resolve(host, where);
    throwIfAborted(signal);
    const socket = createSocket({ type, recvBufferSize: opts.recvBufferSize, sendBufferSize: opts.sendBufferSize, lookup: literal });
    return { socket, ip };
  };

  return {
    kind: 'udp',
    datagram: true,
    format,
    async connect(addr, callOpts) {
      const where = format(addr);
      const { socket, ip } = await open(addr.host, where, callOpts?.signal);
      await started(socket, (done) => socket.connect(addr.port, ip, done), (err) => socketError(err, where), callOpts?.signal);
      const local = socket.address();
      const conn = new UdpClientConn(socket, { host: local.address, port: local.port }, { host: ip, port: addr.port }, maxMessageSize);
      publishBaseOpen(conn, 'udp', 'client');
      return conn;
    },
    async listen(addr, callOpts) {
      const where = format(addr);
      const { socket, ip } = await open(addr.host, where, callOpts?.signal);
      await started(socket, (done) => socket.bind(addr.port, ip, done), (err) => socketError(err, where), callOpts?.signal);
      const bound = socket.address();
      return new UdpDemux(socket, { host: bound.address, port: bound.port }, maxMessageSize, quietMs).listener;
    },
  };
}

/**
 * The socket's lookup: every address a socket sends to is an IP literal
 * already (resolved at connect or listen, or a peer's source address), and
 * Node's default lookup answers a literal on the next tick, after the rest of
 * the microtask queue: a reply sent from a promise chain would wait for
 * whatever that chain queued after it.
 */
function literal(host: string, _opts: unknown, done: (err: null, address: string, family: number) => void): void {
  done(null, host, isIP(host));
}

async function resolve(host: string, where: string): Promise<{ ip: string; type: SocketType }> {
  let ip = host;
  let family = isIP(host);
  if (family === 0) {
    try {
      ({ address: ip, family } = await lookup(host));
    } catch (err) {
      throw socketError(err as NodeJS.ErrnoException, where);
    }
  }
  return { ip, type: family === 6 ? 'udp6' : 'udp4' };
}

/**
 * Sends `msgs` in order. Only the last send, and every `YIELD_EVERY`-th, waits
 * for the socket, so there is no promise per datagram; a single datagram
 * that needs no yield costs one promise.
 */
function sendDatagrams(socket: Socket, state: SendState, msgs: readonly Uint8Array[], port: number, host: string | undefined): Promise<void> {
  if (msgs.length === 1 && state.sinceYield + 1 < YIELD_EVERY) {
    state.sinceYield++;
    return sendOne(socket, msgs[0] as Uint8Array, port, host);
  }
  return sendMany(socket, state, msgs, port, host);
}

async function sendMany(socket: Socket, state: SendState, msgs: readonly Uint8Array[], port: number, host: string | undefined): Promise<void> {
  const n = msgs.length;
  for (let i = 0; i < n; i++) {
    const m = msgs[i] as Uint8Array;
    const yieldNow = ++state.sinceYield >= YIELD_EVERY;
    if (i !== n - 1 && !yieldNow) {
      if (host === undefined) socket.send(m);
      else socket.send(m, port, host);
      continue;
    }
    await sendOne(socket, m, port, host);
    if (yieldNow) {
      state.sinceYield = 0;
      await yieldToEventLoop();
    }
  }
}

/** Sends one datagram and waits for the socket to take it. */
function sendOne(socket: Socket, m: Uint8Array, port: number, host: string | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (err: Error | null): void => {
      // A refused datagram is a lost datagram: the layers above handle loss.
      if (err && (err as NodeJS.ErrnoException).code !== 'ECONNREFUSED') reject(new TransportError(`UDP send failed: ${err.message}`, { cause: err }));
      else resolve();
    };
    if (host === undefined) socket.send(m, done);
    else socket.send(m, port, host, done);
  });
}

/** The checks every send makes before anything goes out; a rejected promise when one fails. */
function refuse(conn: { closed: boolean; maxMessageSize: number }, msgs: readonly Uint8Array[], opts: CallOptions | undefined): Promise<void> | undefined {
  try {
    throwIfAborted(opts?.signal);
    if (conn.closed) throw new ConnClosedError();
    checkSizes(msgs, conn.maxMessageSize);
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
  return undefined;
}

function checkSizes(msgs: readonly Uint8Array[], max: number): void {
  for (const m of msgs) {
    if (m.byteLength > max) throw new MessageTooLargeError(m.byteLength, max, 'datagram');
  }
}

class UdpClientConn extends AbstractConn<Uint8Array> implements BaseConn<SocketAddress> {
  readonly local: SocketAddress;
  readonly remote: SocketAddress;
  readonly maxMessageSize: number;
  readonly #socket: Socket;
  readonly #sending: SendState = { sinceYield: 0 };
  readonly #unreachable = new AbortController();

  constructor(socket: Socket, local: SocketAddress, remote: SocketAddress, maxMessageSize: number) {
    super();
    this.#socket = socket;
    this.local = local;
    this.remote = remote;
    this.maxMessageSize = maxMessageSize;
    socket.on('message', (msg: Buffer) => {
      this.stats.received++;
      this.inbox.push(msg);
    });
    // Errors of sends without a callback (ICMP unreachable and the like): the datagram is lost.
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.stats.dropped++;
      if (err.code === 'ECONNREFUSED' && !this.#unreachable.signal.aborted) {
        this.#unreachable.abort(new AddressError(`udp:${formatHostPort(remote)}: nothing listens there any more (ICMP port unreachable)`, { cause: err }));
      }
    });
  }

  /** Aborted the first time the OS reports the peer's port unreachable: a hint for the protocol above that the peer is gone. */
  get unreachable(): AbortSignal {
    return this.#unreachable.signal;
  }

  sendBatch(msgs: readonly Uint8Array[], opts?: CallOptions): Promise<void> {
    const refused = refuse(this, msgs, opts);
    if (refused) return refused;
    this.stats.sent += msgs.length;
    return sendDatagrams(this.#socket, this.#sending, msgs, 0, undefined);
  }

  protected async onClose(): Promise<void> {
    publishClose(this, 'udp', 'local');
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }
}

/** One peer of a UDP listener: its datagrams, and replies through the listener's socket. */
class UdpPeerConn extends AbstractConn<Uint8Array> implements BaseConn<SocketAddress> {
  readonly local: SocketAddress;
  readonly remote: SocketAddress;
  readonly maxMessageSize: number;
  readonly #demux: UdpDemux;

  constructor(demux: UdpDemux, remote: SocketAddress) {
    super();
    this.#demux = demux;
    this.local = demux.listener.address;
    this.remote = remote;
    this.maxMessageSize = demux.maxMessageSize;
  }

  deliver(msg: Buffer): void {
    this.stats.received++;
    this.inbox.push(msg);
  }

  sendBatch(msgs: readonly Uint8Array[], opts?: CallOptions): Promise<void> {
    const refused = refuse(this, msgs, opts);
    if (refused) return refused;
    this.stats.sent += msgs.length;
    return sendDatagrams(this.#demux.socket, this.#demux.sending, msgs, this.remote.port, this.remote.host);
  }

  protected async onClose(): Promise<void> {
    publishClose(this, 'udp', 'local');
    this.#demux.forget(this);
  }
}

class UdpDemux {
  readonly listener: ConnListener<SocketAddress>;
  readonly socket: Socket;
  readonly maxMessageSize: number;
  /** Shared by every peer: they send through one socket. */
  readonly sending: SendState = { sinceYield: 0 };
  readonly #quietMs: number;
  /** Live peers by source address, then port: no string built per datagram. */
  readonly #peers = new Map<string, Map<number, UdpPeerConn>>();
  /** Recently closed peers (`address|port`) and until when they stay quiet, in closing order. */
  readonly #quiet = new Map<string, number>();

  constructor(socket: Socket, address: SocketAddress, maxMessageSize: number, quietMs: number) {
    this.socket = socket;
    this.maxMessageSize = maxMessageSize;
    this.#quietMs = quietMs;
    this.listener = new ConnListener('udp', address, () => new Promise<void>((resolve) => socket.close(() => resolve())));
    socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => this.#onMessage(msg, rinfo));
    // A failed reply to one peer must not take the listener down.
    socket.on('error', () => {
      this.listener.stats.dropped++;
    });
  }

  #onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    let byPort = this.#peers.get(rinfo.address);
    let conn = byPort?.get(rinfo.port);
    if (conn === undefined) {
      if (this.listener.closed || this.#isQuiet(rinfo)) {
        this.listener.stats.dropped++;
        return;
      }
      if (byPort === undefined) {
        byPort = new Map();
        this.#peers.set(rinfo.address, byPort);
      }
      conn = new UdpPeerConn(this, { host: rinfo.address, port: rinfo.port });
      byPort.set(rinfo.port, conn);
      // Its first datagram before the connection is offered: a listener that takes it at once (divert) finds it there.
      conn.deliver(msg);
      this.listener.offer(conn);
      return;
    }
    conn.deliver(msg);
  }

  #isQuiet(rinfo: RemoteInfo): boolean {
    if (this.#quiet.size === 0) return false;
    const now = Date.now();
    // Entries share one quiet period, so the expired ones are at the front.
    for (const [key, until] of this.#quiet) {
      if (until > now) break;
      this.#quiet.delete(key);
    }
    return this.#quiet.has(`${rinfo.address}|${rinfo.port}`);
  }

  forget(conn: UdpPeerConn): void {
    const byPort = this.#peers.get(conn.remote.host);
    if (byPort?.get(conn.remote.port) !== conn) return;
    byPort.delete(conn.remote.port);
    if (byPort.size === 0) this.#peers.delete(conn.remote.host);
    this.listener.forget(conn);
    if (this.#quietMs > 0 && !this.listener.closed) {
      const key = `${conn.remote.host}|${conn.remote.port}`;
      this.#quiet.delete(key);
      this.#quiet.set(key, Date.now() + this.#quietMs);
    }
  }
}
