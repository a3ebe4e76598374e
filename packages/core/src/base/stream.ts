import { connect as netConnect, Socket, type NetConnectOpts, type OnReadOpts, type Server } from 'node:net';
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

/** Size of the buffer that reads of small frames land in. */
const READ_SIZE = 64 * 1024;
/** Frames from this size on are read straight into their own buffer. */
const DIRECT_MIN = 16 * 1024;
/**
 * One read buffer for every stream connection of this thread: a read's
 * frames are copied out of it before the callback returns, and no other read
 * runs in between.
 */
const shared = Buffer.allocUnsafe(READ_SIZE);

/**
 * Splits a byte stream into frames, telling the socket where to put each
 * read (`net.Socket`'s `onread`) so that a large frame is read straight into
 * its own buffer and is never copied. Small frames are read many at a time
 * into a shared buffer and copied out; the first part of a frame that
 * straddles two reads is copied once, the rest read in place. After a large
 * frame the reader bets that the next one has the same size and reads header
 * and body into one buffer: a stream of equal large frames takes one read per
 * frame and no copy; a lost bet costs one copy of what that read brought.
 */
export class FrameReader {
  readonly #max: number;
  readonly #header = Buffer.alloc(HEADER);
  #headerLen = 0;
  /**
   * The frame being read in place: its buffer (with room for the header
   * after it), where its bytes start, its length, and how much has arrived.
   */
  #frame: Buffer | undefined;
  #at = 0;
  #len = 0;
  #filled = 0;
  /** The length bet on when the next read goes to a buffer for a header and a frame of that length; 0 otherwise. */
  #bet = 0;
  /** Where the next read lands: the shared buffer, the rest of the header, the rest of `#frame`, or a bet. */
  #next: Uint8Array = shared;
  /** Frames read before `attach`, and the consumer after. */
  #early: Buffer[] | undefined = [];
  #onFrame: (frame: Buffer) => void = (frame) => this.#early?.push(frame);
  #failed: unknown;
  #onError: ((err: unknown) => void) | undefined;

  /** The `onread` option of the socket read through this reader. */
  readonly onread: OnReadOpts = {
    buffer: () => this.#next,
    callback: (n) => {
      try {
        this.filled(n);
      } catch (err) {
        if (this.#onError) this.#onError(err);
        else this.#failed = err;
      }
      return true;
    },
  };

  constructor(maxFrameSize: number) {
    this.#max = maxFrameSize;
  }

  /**
   * Hands every frame to `onFrame`, those read so far first, and a socket's
   * `DecodeError` to `onError`. Reads may start before this (a socket reads
   * as soon as it exists); nothing is lost.
   */
  attach(onFrame: (frame: Buffer) => void, onError: (err: unknown) => void): void {
    const early = this.#early ?? [];
    this.#early = undefined;
    this.#onFrame = onFrame;
    this.#onError = onError;
    for (const frame of early) onFrame(frame);
    if (this.#failed !== undefined) onError(this.#failed);
  }

  /** Where the next read must put its bytes. */
  buffer(): Uint8Array {
    return this.#next;
  }

  /**
   * Records that a read put `n` bytes at the start of `buffer()`. Throws
   * `DecodeError` on a frame over the limit, after which the stream is unusable.
   */
  filled(n: number): void {
    if (this.#bet > 0) {
      this.#settleBet(n);
    } else if (this.#frame !== undefined) {
      this.#filled += n;
      this.#frameProgress();
    } else if (this.#next === shared) {
      this.#parse(shared, n);
    } else {
      this.#headerLen += n;
      if (this.#headerLen < HEADER) this.#next = this.#header.subarray(this.#headerLen);
      else this.#start(this.#header.readUInt32BE(0));
    }
  }

  /** The read went to a buffer for a header and a frame of the length bet on. */
  #settleBet(n: number): void {
    const buf = this.#next as Buffer;
    const bet = this.#bet;
    this.#bet = 0;
    this.#next = shared;
    if (n >= HEADER && buf.readUInt32BE(0) === bet) {
      this.#frame = buf;
      this.#at = HEADER;
      this.#len = bet;
      this.#filled = n - HEADER;
      this.#frameProgress();
    } else {
      this.#parse(buf, n);
    }
  }

  /** Frames in the first `end` bytes of `src` (the shared buffer, or a lost bet's). */
  #parse(src: Buffer, end: number): void {
    let off = 0;
    while (end - off >= HEADER) {
      const len = this.#checked(src.readUInt32BE(off));
      off += HEADER;
      if (end - off < len) {
        const frame = this.#begin(len);
        src.copy(frame, 0, off, end);
        this.#filled = end - off;
        this.#next = frame.subarray(this.#filled);
        return;
      }
      const frame = Buffer.allocUnsafe(len);
      src.copy(frame, 0, off, off + len);
      off += len;
      this.#onFrame(frame);
    }
    this.#headerLen = end - off;
    if (this.#headerLen > 0) {
      src.copy(this.#header, 0, off, end);
      this.#next = this.#header.subarray(this.#headerLen);
    }
  }

  /**
   * A frame to read in place, with room for the next frame's header after it:
   * when the peer keeps sending, the read that completes a frame brings the
   * next header along.
   */
  #begin(len: number): Buffer {
    this.#frame = Buffer.allocUnsafe(len + HEADER);
    this.#at = 0;
    this.#len = len;
    this.#filled = 0;
    return this.#frame;
  }

  /** A header has been read on its own: read its frame in place. */
  #start(len: number): void {
    this.#headerLen = 0;
    this.#begin(this.#checked(len));
    this.#frameProgress();
  }

  #frameProgress(): void {
    const frame = this.#frame as Buffer;
    const at = this.#at;
    const len = this.#len;
    const filled = this.#filled;
    if (filled < len) {
      this.#next = frame.subarray(at + filled);
      return;
    }
    this.#frame = undefined;
    this.#onFrame(frame.subarray(at, at + len));
    const extra = filled - len;
    if (extra === 0) {
      if (len < DIRECT_MIN) {
        this.#next = shared;
      } else {
        this.#bet = len;
        this.#next = Buffer.allocUnsafe(HEADER + len + HEADER);
      }
      return;
    }
    frame.copy(this.#header, 0, at + len, at + filled);
    this.#headerLen = extra;
    if (extra < HEADER) this.#next = this.#header.subarray(extra);
    else this.#start(this.#header.readUInt32BE(0));
  }

  #checked(len: number): number {
    if (len > this.#max) {
      throw new DecodeError(`incoming frame of ${len} bytes exceeds the limit of ${this.#max} bytes: raise maxFrameSize on this end if the peer is right`);
    }
    return len;
  }
}

/** A message connection over a stream socket. */
export class StreamConn<A> extends AbstractConn<Uint8Array> implements BaseConn<A> {
  readonly local: A;
  readonly remote: A;
  readonly maxMessageSize: number;
  readonly #socket: Socket;
  readonly #listener: ConnListener<A> | undefined;

  /** `reader` is the one the socket was created with (its `onread`). */
  constructor(socket: Socket, reader: FrameReader, local: A, remote: A, maxFrameSize: number, listener?: ConnListener<A>) {
    super();
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

  /** The socket went away; the error is made only if it is news (a closed socket reports 'end' and 'close'). */
  #gone(reason: () => Error): void {
    if (!this.closed) this.ended(reason());
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

/** What `started` drives: a `net.Server` or a `dgram` socket. */
export interface Startable {
  once(event: 'error', listener: (err: NodeJS.ErrnoException) => void): unknown;
  off(event: 'error', listener: (err: NodeJS.ErrnoException) => void): unknown;
  close(): unknown;
}

/**
 * Runs `start` (a listen, bind or connect that calls `done` when it
 * succeeds) and resolves once it does. Its error becomes ours through
 * `toError`; on failure or abort `target` is closed.
 */
export function started(
  target: Startable,
  start: (done: () => void) => void,
  toError: (err: NodeJS.ErrnoException) => Error,
  signal: AbortSignal | undefined,
): Promise<void> {
  throwIfAborted(signal);
  return new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      signal?.removeEventListener('abort', onAbort);
      target.close();
      reject(toError(err));
    };
    const onAbort = (): void => {
      target.off('error', onError);
      target.close();
      reject(new AbortError(signal?.reason));
    };
    target.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    start(() => {
      target.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

/**
 * Turns a listening server into a `Listener` of framed connections. The
 * server must be created with `pauseOnConnect`: an accepted socket cannot be
 * given an `onread` reader, so its handle, not yet reading, moves to a new
 * socket that has one.
 */
export function streamListener<A>(
  server: Server,
  address: A,
  ends: (socket: Socket) => { local: A; remote: A },
  maxFrameSize: number,
): ConnListener<A> {
  const listener = new ConnListener<A>(address, () => new Promise<void>((resolve) => server.close(() => resolve())));
  server.on('connection', (accepted) => {
    const { local, remote } = ends(accepted);
    const reader = new FrameReader(maxFrameSize);
    const socket = adopt(accepted, reader.onread);
    listener.offer(new StreamConn(socket, reader, local, remote, maxFrameSize, listener));
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
