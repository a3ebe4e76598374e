import { connect as netConnect, type NetConnectOpts, type Server, type Socket } from 'node:net';
import type { CallOptions } from '../conn/conn.js';
import { AbstractConn } from '../conn/abstract-conn.js';
import {
  AbortError,
  ConnClosedError,
  DecodeError,
  InvalidArgumentError,
  MessageTooLargeError,
  throwIfAborted,
} from '../errors.js';
import { AddressError, TransportError } from './errors.js';
import { ConnListener } from './listener.js';
import type { BaseConn } from './transport.js';

/**
 * Message framing for stream sockets (TCP, Unix): every message is a frame,
 * a u32 big-endian length followed by that many bytes.
 */

export const DEFAULT_MAX_FRAME_SIZE = 64 * 1024 * 1024;
const HEADER = 4;
/** Messages below this size are copied into one buffer with their neighbours; larger ones are written as they are. */
const COPY_BELOW = 16 * 1024;
/** Upper bound of one coalesced write. */
const COALESCE_LIMIT = 64 * 1024;
/** How long a closed connection may take to flush its writes before it is torn down. */
const CLOSE_GRACE_MS = 2000;

export interface StreamOptions {
  /** Largest message, in bytes, sent or accepted. Default 64 MiB; at most 2^32 - 1 (the frame header). */
  maxFrameSize?: number;
}

export function frameLimit(opts: StreamOptions): number {
  const max = opts.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
  if (!Number.isInteger(max) || max < 0 || max > 0xffff_ffff) {
    throw new InvalidArgumentError(`maxFrameSize must be an integer in [0, 2^32 - 1], got ${max}`);
  }
  return max;
}

/**
 * Splits a byte stream into frames. Linear in the bytes pushed: frames inside
 * one chunk are views of it; a frame spanning chunks is copied once into a
 * buffer of its final size.
 */
export class FrameDecoder {
  readonly #max: number;
  readonly #onFrame: (frame: Uint8Array) => void;
  readonly #header = Buffer.alloc(HEADER);
  #headerLen = 0;
  /** The frame being filled when it spans chunks. */
  #frame: Buffer | undefined;
  #filled = 0;

  constructor(maxFrameSize: number, onFrame: (frame: Uint8Array) => void) {
    this.#max = maxFrameSize;
    this.#onFrame = onFrame;
  }

  /** Consumes a chunk; throws `DecodeError` on a frame over the limit, after which the stream is unusable. */
  push(chunk: Buffer): void {
    const end = chunk.length;
    let off = 0;
    while (off < end) {
      const frame = this.#frame;
      if (frame) {
        const n = Math.min(frame.length - this.#filled, end - off);
        chunk.copy(frame, this.#filled, off, off + n);
        this.#filled += n;
        off += n;
        if (this.#filled < frame.length) return;
        this.#frame = undefined;
        this.#onFrame(frame);
        continue;
      }
      let len: number;
      if (this.#headerLen === 0 && end - off >= HEADER) {
        len = chunk.readUInt32BE(off);
        off += HEADER;
      } else {
        const n = Math.min(HEADER - this.#headerLen, end - off);
        chunk.copy(this.#header, this.#headerLen, off, off + n);
        this.#headerLen += n;
        off += n;
        if (this.#headerLen < HEADER) return;
        this.#headerLen = 0;
        len = this.#header.readUInt32BE(0);
      }
      if (len > this.#max) {
        throw new DecodeError(`incoming frame of ${len} bytes exceeds the limit of ${this.#max} bytes: raise maxFrameSize on this end if the peer is right`);
      }
      if (end - off >= len) {
        this.#onFrame(chunk.subarray(off, off + len));
        off += len;
      } else {
        this.#frame = Buffer.allocUnsafe(len);
        this.#filled = 0;
      }
    }
  }
}

/** A message connection over a stream socket. */
export class StreamConn<A> extends AbstractConn<Uint8Array> implements BaseConn<A> {
  readonly local: A;
  readonly remote: A;
  readonly maxMessageSize: number;
  readonly #socket: Socket;
  readonly #listener: ConnListener<A> | undefined;

  constructor(socket: Socket, local: A, remote: A, maxFrameSize: number, listener?: ConnListener<A>) {
    super();
    this.#socket = socket;
    this.local = local;
    this.remote = remote;
    this.maxMessageSize = maxFrameSize;
    this.#listener = listener;
    const decoder = new FrameDecoder(maxFrameSize, (frame) => {
      this.stats.received++;
      this.inbox.push(frame);
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk);
      } catch (err) {
        // The stream cannot be resynchronised after a bad length: drop this peer only.
        this.stats.dropped++;
        if (this.#listener) this.#listener.stats.dropped++;
        socket.destroy();
        this.#gone(new ConnClosedError(`connection closed: ${(err as Error).message}`, { cause: err }));
      }
    });
    socket.on('end', () => this.#gone(new ConnClosedError('the peer closed the connection')));
    socket.on('error', (err) => this.#gone(new ConnClosedError(`connection failed: ${err.message}`, { cause: err })));
    socket.on('close', () => this.#gone(new ConnClosedError('the peer closed the connection')));
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
        bytes += HEADER + m.byteLength;
        if (bytes >= COALESCE_LIMIT) {
          socket.write(coalesce(msgs, start, i + 1, bytes));
          start = i + 1;
          bytes = 0;
        }
        continue;
      }
      if (bytes > 0) socket.write(coalesce(msgs, start, i, bytes));
      const header = Buffer.allocUnsafe(HEADER);
      header.writeUInt32BE(m.byteLength, 0);
      socket.write(header);
      socket.write(m);
      start = i + 1;
      bytes = 0;
    }
    if (bytes > 0) socket.write(coalesce(msgs, start, msgs.length, bytes));
    socket.uncork();
    this.stats.sent += msgs.length;
    if (socket.writableNeedDrain) await this.#drained(opts?.signal);
  }

  protected async onClose(): Promise<void> {
    this.#listener?.forget(this);
    const socket = this.#socket;
    // Flush what was written, send FIN, then release the descriptor without waiting for the peer.
    if (socket.destroyed) return;
    socket.end(() => socket.destroy());
    // A peer that stops reading must not keep the descriptor (and a closing listener) forever.
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  #gone(err: Error): void {
    this.ended(err);
    this.#listener?.forget(this);
  }

  /** Waits until the socket accepts more writes (backpressure). */
  #drained(signal: AbortSignal | undefined): Promise<void> {
    const socket = this.#socket;
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        socket.off('drain', onDrain);
        socket.off('close', onClose);
        signal?.removeEventListener('abort', onAbort);
      };
      const onDrain = (): void => {
        done();
        resolve();
      };
      const onClose = (): void => {
        done();
        reject(new ConnClosedError('connection closed while waiting to send'));
      };
      const onAbort = (): void => {
        done();
        reject(new AbortError(signal?.reason));
      };
      socket.on('drain', onDrain);
      socket.on('close', onClose);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** Frames `msgs[from, to)` into one buffer of `bytes` bytes. */
function coalesce(msgs: readonly Uint8Array[], from: number, to: number, bytes: number): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  let off = 0;
  for (let i = from; i < to; i++) {
    const m = msgs[i] as Uint8Array;
    out.writeUInt32BE(m.byteLength, off);
    out.set(m, off + HEADER);
    off += HEADER + m.byteLength;
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

/** Maps a socket error to ours: address problems become `AddressError`, the rest `TransportError`. */
export function socketError(err: NodeJS.ErrnoException, where: string, op: 'connect' | 'listen' = 'connect'): Error {
  if (op === 'listen' && err.code === 'ENOENT') {
    return new AddressError(`cannot listen at ${where}: its directory does not exist`, { cause: err });
  }
  switch (err.code) {
    case 'ECONNREFUSED':
    case 'ENOENT':
      return new AddressError(`no listener at ${where}: start the server first or check the address`, { cause: err });
    case 'EADDRINUSE':
      return new AddressError(`${where} is already in use: close the other listener or pick another address`, { cause: err });
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EACCES':
      return new AddressError(`cannot use ${where} (${err.code}): check the host name and permissions`, { cause: err });
    default:
      return new TransportError(`socket operation on ${where} failed: ${err.message}`, { cause: err });
  }
}

/** Starts `server` listening; resolves once it does. */
export function startServer(server: Server, listen: (done: () => void) => void, where: string, signal: AbortSignal | undefined): Promise<void> {
  throwIfAborted(signal);
  return new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      signal?.removeEventListener('abort', onAbort);
      reject(socketError(err, where, 'listen'));
    };
    const onAbort = (): void => {
      server.off('error', onError);
      server.close();
      reject(new AbortError(signal?.reason));
    };
    server.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    listen(() => {
      server.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

/** Turns a listening server into a `Listener` of framed connections. */
export function streamListener<A>(
  server: Server,
  address: A,
  ends: (socket: Socket) => { local: A; remote: A },
  maxFrameSize: number,
): ConnListener<A> {
  const listener = new ConnListener<A>(address, () => new Promise<void>((resolve) => server.close(() => resolve())));
  server.on('connection', (socket) => {
    const { local, remote } = ends(socket);
    listener.offer(new StreamConn(socket, local, remote, maxFrameSize, listener));
  });
  // After listening, errors concern single accepts (EMFILE …); they must not take the listener down.
  server.on('error', () => {
    listener.stats.dropped++;
  });
  return listener;
}
