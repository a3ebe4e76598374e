import type { OnReadOpts } from 'node:net';
import { DecodeError, InvalidArgumentError } from '../errors.js';

/**
 * Message framing for stream sockets (TCP, Unix): every message is a frame,
 * a u32 big-endian length followed by that many bytes.
 */

export const DEFAULT_MAX_FRAME_SIZE = 64 * 1024 * 1024;
/** Bytes of a frame's length prefix. */
export const FRAME_HEADER = 4;

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
  readonly #header = Buffer.alloc(FRAME_HEADER);
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
      if (this.#headerLen < FRAME_HEADER) this.#next = this.#header.subarray(this.#headerLen);
      else this.#start(this.#header.readUInt32BE(0));
    }
  }

  /** The read went to a buffer for a header and a frame of the length bet on. */
  #settleBet(n: number): void {
    const buf = this.#next as Buffer;
    const bet = this.#bet;
    this.#bet = 0;
    this.#next = shared;
    if (n >= FRAME_HEADER && buf.readUInt32BE(0) === bet) {
      this.#frame = buf;
      this.#at = FRAME_HEADER;
      this.#len = bet;
      this.#filled = n - FRAME_HEADER;
      this.#frameProgress();
    } else {
      this.#parse(buf, n);
    }
  }

  /** Frames in the first `end` bytes of `src` (the shared buffer, or a lost bet's). */
  #parse(src: Buffer, end: number): void {
    let off = 0;
    while (end - off >= FRAME_HEADER) {
      const len = this.#checked(src.readUInt32BE(off));
      off += FRAME_HEADER;
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
    this.#frame = Buffer.allocUnsafe(len + FRAME_HEADER);
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
        this.#next = Buffer.allocUnsafe(FRAME_HEADER + len + FRAME_HEADER);
      }
      return;
    }
    frame.copy(this.#header, 0, at + len, at + filled);
    this.#headerLen = extra;
    if (extra < FRAME_HEADER) this.#next = this.#header.subarray(extra);
    else this.#start(this.#header.readUInt32BE(0));
  }

  #checked(len: number): number {
    if (len > this.#max) {
      throw new DecodeError(`incoming frame of ${len} bytes exceeds the limit of ${this.#max} bytes: raise maxFrameSize on this end if the peer is right`);
    }
    return len;
  }
}
