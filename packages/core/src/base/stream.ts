import { connect as netConnect, Socket, type NetConnectOpts, type OnReadOpts, type Server } from 'node:net';
import type { CallOptions } from '../conn/conn.js';
import { AbstractConn } from '../conn/abstract-conn.js';
import { AbortError, ConnClosedError, MessageTooLargeError, throwIfAborted } from '../errors.js';
import { drained } from './drained.js';
import { FRAME_HEADER, FrameReader } from './framing.js';
import { ConnListener } from './listener.js';
import { publishClose } from '../diagnostics/conn-channels.js';
import { socketError } from './start.js';
import type { BaseConn } from './transport.js';

export type StreamKind = 'tcp' | 'unix';

/** Message connections over stream sockets (TCP, Unix), framed by `FrameReader`. */

/** Messages below this size are copied into one buffer with their neighbours; larger ones are written as they are. */
const COPY_BELOW = 16 * 1024;
/** Upper bound of one coalesced write. */
const COALESCE_LIMIT = 64 * 1024;
/** How long a closed connection may take to flush its writes before it is torn down. */
const CLOSE_GRACE_MS = 2000;

/** A message connection over a stream socket. */
export class StreamConn<A> extends AbstractConn<Uint8Array> implements BaseConn<A> {
  readonly local: A;
  readonly remote: A;
  readonly maxMessageSize: number;
  readonly #kind: StreamKind;
  readonly #socket: Socket;
  readonly #listener: ConnListener<A> | undefined;

  /** `reader` is the one the socket was created with (its `onread`). */
  constructor(kind: StreamKind, socket: Socket, reader: FrameReader, local: A, remote: A, maxFrameSize: number, listener?: ConnListener<A>) {
    super();
    this.#kind = kind;
    this.#socket = socket;
    this.local = local;
    this.remote = remote;
    this.maxMessageSize = maxFrameSize;
    this.#listener = listener;
    reader.attach(
      (frame) => {
        this.stats.received++;
        this.inbox.push(frame);
      },
      (err) => {
        // The stream cannot be resynchronised after a bad length: drop this peer only.
        this.stats.dropped++;
        if (this.#listener) this.#listener.stats.dropped++;
        socket.destroy();
        this.#gone(() => new ConnClosedError(`connection closed: ${(err as Error).message}`, { cause: err }));
      },
    );
    const peerClosed = (): Error => new ConnClosedError('the peer closed the connection');
    socket.on('end', () => this.#gone(peerClosed));
    socket.on('error', (err) => this.#gone(() => new ConnClosedError(`connection failed: ${err.message}`, { cause: err })));
    socket.on('close', () => this.#gone(peerClosed));
  }

  async sendBatch(msgs: readonly Uint8Array[], opts?: CallOptions): Promise<void> {
    throwIfAborted(opts?.signal);
    this.assertOpen();
    const max = this.maxMessageSize;
    for (const m of msgs) {
      if (m.byteLength > max) throw new MessageTooLargeError(m.byteLength, max);
    }
    const socket = this.#socket;
    socket.cork();
    let start = 0;
    let bytes = 0;
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i] as Uint8Array;
      if (m.byteLength < COPY_BELOW) {
        bytes += FRAME_HEADER + m.byteLength;
        if (bytes >= COALESCE_LIMIT) {
          socket.write(coalesce(msgs, start, i + 1, bytes));
          start = i + 1;
          bytes = 0;
        }
        continue;
      }
      if (bytes > 0) socket.write(coalesce(msgs, start, i, bytes));
      const header = Buffer.allocUnsafe(FRAME_HEADER);
      header.writeUInt32BE(m.byteLength, 0);
      socket.write(header);
      socket.write(m);
      start = i + 1;
      bytes = 0;
    }
    if (bytes > 0) socket.write(coalesce(msgs, start, msgs.length, bytes));
    socket.uncork();
    this.stats.sent += msgs.length;
    if (socket.writableNeedDrain) await drained(socket, opts?.signal);
  }

  protected async onClose(): Promise<void> {
    this.#listener?.forget(this);
    publishClose(this, this.#kind, 'local');
    const socket = this.#socket;
    // Flush what was written, send FIN, then release the descriptor without waiting for the peer.
    if (socket.destroyed) return;
    socket.end(() => socket.destroy());
    // A peer that stops reading must not keep the descriptor (and a closing listener) forever.
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  /** The socket went away; the error is made only if it is news (a closed socket reports 'end' and 'close'). */
  #gone(reason: () => Error): void {
    if (!this.closed) {
      const error = reason();
      this.ended(error);
      publishClose(this, this.#kind, 'peer', error);
    }
    this.#listener?.forget(this);
  }
}

/** Frames `msgs[from, to)` into one buffer of `bytes` bytes. */
function coalesce(msgs: readonly Uint8Array[], from: number, to: number, bytes: number): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  let off = 0;
  for (let i = from; i < to; i++) {
    const m = msgs[i] as Uint8Array;
    out.writeUInt32BE(m.byteLength, off);
    out.set(m, off + FRAME_HEADER);
    off += FRAME_HEADER + m.byteLength;
  }
  return out;
}

/** Opens a stream socket; `where` names the address in errors (`tcp:host:port`). */
export function connectSocket(opts: NetConnectOpts, where: string, signal: AbortSignal | undefined): Promise<Socket> {
  throwIfAborted(signal);
  return new Promise<Socket>((resolve, reject) => {
    const socket = netConnect(opts);
    const done = (): void => {
      socket.off('connect', onConnect);
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    const onConnect = (): void => {
      done();
      resolve(socket);
    };
    const onError = (err: NodeJS.ErrnoException): void => {
      done();
      socket.destroy();
      reject(socketError(err, where));
    };
    const onAbort = (): void => {
      done();
      socket.destroy();
      reject(new AbortError(signal?.reason));
    };
    socket.once('connect', onConnect);
    socket.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Turns a listening server into a `Listener` of framed connections. The
 * server must be created with `pauseOnConnect`: an accepted socket cannot be
 * given an `onread` reader, so its handle, not yet reading, moves to a new
 * socket that has one.
 */
export function streamListener<A>(
  kind: StreamKind,
  server: Server,
  address: A,
  ends: (socket: Socket) => { local: A; remote: A },
  maxFrameSize: number,
): ConnListener<A> {
  const listener = new ConnListener<A>(kind, address, () => new Promise<void>((resolve) => server.close(() => resolve())));
  server.on('connection', (accepted) => {
    const { local, remote } = ends(accepted);
    const reader = new FrameReader(maxFrameSize);
    const socket = adopt(accepted, reader.onread);
    listener.offer(new StreamConn(kind, socket, reader, local, remote, maxFrameSize, listener));
  });
  // After listening, errors concern single accepts (EMFILE …); they must not take the listener down.
  server.on('error', () => {
    listener.stats.dropped++;
  });
  return listener;
}

/** Node's private handle field, the only way to give an accepted socket an `onread`. */
interface WithHandle {
  _handle: unknown;
}

/**
 * Moves the handle of a paused, just-accepted socket to a new socket that
 * reads with `onread`. The old socket, left without a handle, is destroyed so
 * that the server's connection count stays right.
 */
function adopt(accepted: Socket, onread: OnReadOpts): Socket {
  const old = accepted as unknown as WithHandle;
  const handle = old._handle;
  old._handle = null;
  accepted.destroy();
  // `handle` is an undocumented option of net.Socket (child_process hands sockets over with it).
  return new Socket({ handle, onread, readable: true, writable: true } as ConstructorParameters<typeof Socket>[0]);
}
