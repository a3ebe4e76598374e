/**
 * atMostOnce(): the receiver delivers each message at most once, even when
 * the layer below (a queue with at-least-once delivery, a datagram link)
 * duplicates it.
 *
 * Wire format (big-endian):
 *
 *   u16  sender-hi  } a random 48-bit id of the sending Conn
 *   u32  sender-lo  }
 *   u32  seq        per-sender sequence number, from 0, wrapping at 2^32
 *   payload         the rest of the frame
 *
 * The receiver remembers (sender, seq) pairs for `windowMs`, and at most
 * `maxEntries` of them. When it forgets a pair it raises that sender's floor
 * to the pair's seq and drops anything at or below the floor: a message
 * delayed past the window may be lost, never delivered twice. A sender none
 * of whose pairs is remembered any more is forgotten entirely, so memory stays
 * bounded and the window covers the last `windowMs` and at most `maxEntries`
 * messages. Forgetting happens as messages arrive, so there is no timer.
 */
import { randomInt } from 'node:crypto';
import { twoSided, type Capability } from '../capability.js';
import type { CallOptions, Conn } from '../conn/conn.js';
import { InvalidArgumentError } from '../errors.js';
import type { ChunnelWithConn } from './chunnel-with-conn.js';
import { PumpConn } from './pump-conn.js';
import { seqDiff, seqNext, viewOf } from './seq.js';

export interface AtMostOnceOptions {
  /** How long a received message is remembered. Default 600 000 ms (the reference's 600 s). */
  readonly windowMs?: number;
  /** Most messages remembered at once; the oldest are forgotten early beyond it. Default 262 144. */
  readonly maxEntries?: number;
  /** Stop reading from below while this many delivered messages wait unread. Default 4096. */
  readonly highWater?: number;
  /** Clock in milliseconds; for tests. Default `performance.now`. */
  readonly now?: () => number;
}

export interface AtMostOnceStats {
  /** Messages dropped as already delivered (or older than what the window remembers). */
  duplicates: number;
  /** (sender, seq) pairs remembered right now. */
  remembered: number;
}

const HEADER = 10;

interface SenderState {
  readonly seen: Set<number>;
  /** Every seq at or below this one is treated as seen. */
  floor: number | undefined;
}

interface Entry {
  readonly sender: number;
  readonly seq: number;
  readonly at: number;
}

/** The Conn `atMostOnce()` returns; `dedupStats` counts suppressed duplicates. */
export class AtMostOnceConn extends PumpConn<Uint8Array, Uint8Array> {
  readonly dedupStats: AtMostOnceStats = { duplicates: 0, remembered: 0 };
  readonly #senderHi = randomInt(0x10000);
  readonly #senderLo = randomInt(2 ** 32 - 1);
  #nextSeq = 0;
  readonly #windowMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #senders = new Map<number, SenderState>();
  /** Remembered pairs, oldest first, from `#head` on. */
  #entries: Entry[] = [];
  #head = 0;

  constructor(inner: Conn<Uint8Array>, opts: AtMostOnceOptions = {}) {
    super(inner, opts.highWater ?? 4096);
    this.#windowMs = opts.windowMs ?? 600_000;
    this.#maxEntries = opts.maxEntries ?? 262_144;
    this.#now = opts.now ?? (() => performance.now());
    this.startPump();
  }

  override sendBatch(msgs: readonly Uint8Array[], opts?: CallOptions): Promise<void> {
    this.assertOpen();
    const frames = msgs.map((payload) => {
      const frame = new Uint8Array(HEADER + payload.byteLength);
      const view = viewOf(frame);
      view.setUint16(0, this.#senderHi);
      view.setUint32(2, this.#senderLo);
      view.setUint32(6, this.#nextSeq);
      this.#nextSeq = seqNext(this.#nextSeq);
      frame.set(payload, HEADER);
      return frame;
    });
    this.stats.sent += frames.length;
    return this.inner.sendBatch(frames, opts);
  }

  protected override onInner(frames: Uint8Array[]): void {
    const now = this.#now();
    this.#expire(now - this.#windowMs);
    for (const bytes of frames) {
      if (bytes.byteLength < HEADER) {
        this.stats.dropped++;
        continue;
      }
      const view = viewOf(bytes);
      const sender = view.getUint16(0) * 2 ** 32 + view.getUint32(2);
      const seq = view.getUint32(6);
      let s = this.#senders.get(sender);
      if (s === undefined) {
        s = { seen: new Set(), floor: undefined };
        this.#senders.set(sender, s);
      }
      if (s.seen.has(seq) || (s.floor !== undefined && seqDiff(seq, s.floor) <= 0)) {
        this.dedupStats.duplicates++;
        continue;
      }
      s.seen.add(seq);
      this.#entries.push({ sender, seq, at: now });
      if (this.#entries.length - this.#head > this.#maxEntries) this.#forgetOldest();
      this.stats.received++;
      this.inbox.push(bytes.subarray(HEADER));
    }
    this.dedupStats.remembered = this.#entries.length - this.#head;
  }

  protected override async onClose(): Promise<void> {
    this.#senders.clear();
    this.#entries = [];
    this.#head = 0;
    this.releasePump();
    await this.inner.close();
  }

  /** Forgets every pair received before `cutoff`. */
  #expire(cutoff: number): void {
    for (let e = this.#entries[this.#head]; e !== undefined && e.at < cutoff; e = this.#entries[this.#head]) this.#forgetOldest();
  }

  #forgetOldest(): void {
    const e = this.#entries[this.#head++] as Entry;
    const s = this.#senders.get(e.sender);
    if (s !== undefined) {
      s.seen.delete(e.seq);
      if (s.floor === undefined || seqDiff(e.seq, s.floor) > 0) s.floor = e.seq;
      // Once a sender's last pair is forgotten, so is the sender: the window no longer covers anything it sent.
      if (s.seen.size === 0) this.#senders.delete(e.sender);
    }
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }
}

const capabilities: readonly Capability[] = [twoSided('delivery', 'at-most-once')];

export type AtMostOnceChunnel = ChunnelWithConn<Uint8Array, Uint8Array, 'at-most-once', AtMostOnceConn>;

export function atMostOnce(opts: AtMostOnceOptions = {}): AtMostOnceChunnel {
  if (opts.windowMs !== undefined && !(opts.windowMs > 0)) throw new InvalidArgumentError('atMostOnce(): windowMs must be a positive number');
  if (opts.maxEntries !== undefined && !(opts.maxEntries >= 1)) throw new InvalidArgumentError('atMostOnce(): maxEntries must be at least 1');
  return {
    name: 'at-most-once' as const,
    capabilities: () => capabilities,
    connectWrap: async (inner) => new AtMostOnceConn(inner, opts),
  };
}
