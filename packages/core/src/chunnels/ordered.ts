/**
 * ordered(): delivers each sender's messages in the order they were sent,
 * per ordering group, holding early arrivals in a reorder buffer.
 *
 * Wire format (big-endian):
 *
 *   u8   flags     bit 0: a group key follows; other bits must be 0
 *   u32  sender    random id of the sending Conn, so that many senders (or a
 *                  sender that reconnected) sharing one queue do not collide
 *   u32  seq       per (sender, group) sequence number, from 0, wrapping at 2^32
 *   [u16 len, len bytes of UTF-8]   the group key, when flag bit 0 is set
 *   payload        the rest of the frame
 *
 * Over a lossy link without reliable() a missing message would stall its
 * stream forever, so a gap threshold (buffered messages, and optionally time)
 * skips it; a message that arrives after it was skipped is dropped rather
 * than delivered out of order.
 */
import { randomInt } from 'node:crypto';
import { twoSided, type Capability } from '../capability.js';
import type { CallOptions, Conn } from '../conn/conn.js';
import { InvalidArgumentError } from '../errors.js';
import type { ChunnelWithConn } from './chunnel-with-conn.js';
import { PumpConn } from './pump-conn.js';
import { seqDiff, seqNext, viewOf } from './seq.js';

export interface GapThreshold {
  /** Skip the oldest gap once more than this many messages of one stream wait behind it. Default 1024. */
  readonly maxBuffered?: number;
  /** Skip a gap after waiting this long for it. Default: no time limit (right on top of reliable()). */
  readonly maxWaitMs?: number;
}

export interface OrderedOptions {
  /** The ordering group of an outgoing message; messages of different groups are not ordered with each other. */
  readonly group?: (msg: Uint8Array) => string | undefined;
  readonly gapThreshold?: GapThreshold;
  /** Forget an empty stream after this long without messages. Default 600 000 ms. */
  readonly streamIdleMs?: number;
  /** Stop reading from below while this many delivered messages wait unread. Default 4096. */
  readonly highWater?: number;
}

export interface OrderedStats {
  /** Messages never received and skipped over by the gap threshold. */
  skipped: number;
  /** Messages dropped because they arrived after being skipped, or twice. */
  late: number;
  /** Messages waiting in reorder buffers right now. */
  buffered: number;
}

const FLAG_GROUP = 1;
const HEADER = 9;
const MAX_GROUP_BYTES = 0xffff;

interface Stream {
  next: number;
  readonly buffer: Map<number, Uint8Array>;
  timer: NodeJS.Timeout | undefined;
  lastSeen: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The Conn `ordered()` returns; `orderStats` counts skipped and late messages. */
export class OrderedConn extends PumpConn<Uint8Array, Uint8Array> {
  readonly orderStats: OrderedStats = { skipped: 0, late: 0, buffered: 0 };
  readonly #sender = randomInt(2 ** 32 - 1);
  readonly #group: ((msg: Uint8Array) => string | undefined) | undefined;
  readonly #maxBuffered: number;
  readonly #maxWaitMs: number | undefined;
  readonly #idleMs: number;
  readonly #sendSeq = new Map<string, number>();
  readonly #streams = new Map<string, Stream>();
  #lastSweep = performance.now();

  constructor(inner: Conn<Uint8Array>, opts: OrderedOptions = {}) {
    super(inner, opts.highWater ?? 4096);
    this.#group = opts.group;
    this.#maxBuffered = opts.gapThreshold?.maxBuffered ?? 1024;
    this.#maxWaitMs = opts.gapThreshold?.maxWaitMs;
    this.#idleMs = opts.streamIdleMs ?? 600_000;
    this.startPump();
  }

  override sendBatch(msgs: readonly Uint8Array[], opts?: CallOptions): Promise<void> {
    this.assertOpen();
    // Check every group key before taking sequence numbers, so a bad key leaves no hole.
    const groups = msgs.map((m) => this.#groupOf(m));
    const frames = msgs.map((m, i) => this.#encode(m, groups[i]));
    this.stats.sent += frames.length;
    return this.inner.sendBatch(frames, opts);
  }

  protected override onInner(frames: Uint8Array[]): void {
    for (const bytes of frames) {
      if (bytes.byteLength < HEADER) {
        this.stats.dropped++;
        continue;
      }
      const view = viewOf(bytes);
      const flags = view.getUint8(0);
      const sender = view.getUint32(1);
      const seq = view.getUint32(5);
      let off = HEADER;
      let group = '';
      if (flags === FLAG_GROUP) {
        const len = bytes.byteLength >= off + 2 ? view.getUint16(off) : -1;
        try {
          if (len < 0 || bytes.byteLength < off + 2 + len) throw new RangeError('truncated group');
          group = decoder.decode(bytes.subarray(off + 2, off + 2 + len));
        } catch {
          this.stats.dropped++;
          continue;
        }
        off += 2 + len;
      } else if (flags !== 0) {
        this.stats.dropped++;
        continue;
      }
      this.#receive(`${sender}/${group}`, seq, bytes.subarray(off));
    }
  }

  protected override async onClose(): Promise<void> {
    for (const s of this.#streams.values()) clearTimeout(s.timer);
    this.#streams.clear();
    this.releasePump();
    await this.inner.close();
  }

  protected override onInnerEnded(err: Error): void {
    for (const s of this.#streams.values()) clearTimeout(s.timer);
    super.onInnerEnded(err);
  }

  #groupOf(payload: Uint8Array): { key: string; bytes: Uint8Array } | undefined {
    const key = this.#group?.(payload);
    if (key === undefined) return undefined;
    const bytes = encoder.encode(key);
    if (bytes.byteLength > MAX_GROUP_BYTES) {
      throw new InvalidArgumentError(`ordered(): group key of ${bytes.byteLength} bytes exceeds ${MAX_GROUP_BYTES}: use a shorter key`);
    }
    return { key, bytes };
  }

  #encode(payload: Uint8Array, group: { key: string; bytes: Uint8Array } | undefined): Uint8Array {
    const groupBytes = group?.bytes;
    const key = group?.key ?? '';
    const seq = this.#sendSeq.get(key) ?? 0;
    this.#sendSeq.set(key, seqNext(seq));
    const off = HEADER + (groupBytes === undefined ? 0 : 2 + groupBytes.byteLength);
    const frame = new Uint8Array(off + payload.byteLength);
    const view = viewOf(frame);
    view.setUint8(0, groupBytes === undefined ? 0 : FLAG_GROUP);
    view.setUint32(1, this.#sender);
    view.setUint32(5, seq);
    if (groupBytes !== undefined) {
      view.setUint16(HEADER, groupBytes.byteLength);
      frame.set(groupBytes, HEADER + 2);
    }
    frame.set(payload, off);
    return frame;
  }

  #receive(key: string, seq: number, payload: Uint8Array): void {
    const now = performance.now();
    let s = this.#streams.get(key);
    if (s === undefined) {
      this.#sweep(now);
      s = { next: 0, buffer: new Map(), timer: undefined, lastSeen: now };
      this.#streams.set(key, s);
    }
    s.lastSeen = now;
    const d = seqDiff(seq, s.next);
    if (d < 0 || s.buffer.has(seq)) {
      this.orderStats.late++;
      return;
    }
    if (d > 0) {
      s.buffer.set(seq, payload);
      this.orderStats.buffered++;
      if (s.buffer.size > this.#maxBuffered) this.#skipGap(s);
      else if (this.#maxWaitMs !== undefined && s.timer === undefined) this.#armGapTimer(s);
      return;
    }
    this.#deliver(payload);
    s.next = seqNext(s.next);
    this.#drain(s);
  }

  #deliver(payload: Uint8Array): void {
    this.stats.received++;
    this.inbox.push(payload);
  }

  /** Delivers the run of buffered messages that follows `next`. */
  #drain(s: Stream): void {
    for (let m = s.buffer.get(s.next); m !== undefined; m = s.buffer.get(s.next)) {
      s.buffer.delete(s.next);
      this.orderStats.buffered--;
      this.#deliver(m);
      s.next = seqNext(s.next);
    }
    if (s.buffer.size === 0 && s.timer !== undefined) {
      clearTimeout(s.timer);
      s.timer = undefined;
    }
  }

  /** Gives up on the gap at `next`: jumps to the oldest buffered message. */
  #skipGap(s: Stream): void {
    do {
      let lowest = Infinity;
      for (const seq of s.buffer.keys()) lowest = Math.min(lowest, seqDiff(seq, s.next));
      if (lowest === Infinity) break;
      this.orderStats.skipped += lowest;
      s.next = (s.next + lowest) >>> 0;
      this.#drain(s);
    } while (s.buffer.size > this.#maxBuffered);
    if (s.buffer.size > 0 && this.#maxWaitMs !== undefined) {
      clearTimeout(s.timer);
      s.timer = undefined;
      this.#armGapTimer(s);
    }
  }

  #armGapTimer(s: Stream): void {
    s.timer = setTimeout(() => {
      s.timer = undefined;
      this.#skipGap(s);
    }, this.#maxWaitMs);
  }

  /** Forgets idle streams with nothing buffered; runs at most every quarter of the idle time. */
  #sweep(now: number): void {
    if (now - this.#lastSweep < this.#idleMs / 4) return;
    this.#lastSweep = now;
    for (const [key, s] of this.#streams) {
      if (s.buffer.size === 0 && now - s.lastSeen > this.#idleMs) this.#streams.delete(key);
    }
  }
}

const capabilities: readonly Capability[] = [twoSided('ordering', 'ordered')];

export type OrderedChunnel = ChunnelWithConn<Uint8Array, Uint8Array, 'ordered', OrderedConn>;

export function ordered(opts: OrderedOptions = {}): OrderedChunnel {
  const { maxBuffered, maxWaitMs } = opts.gapThreshold ?? {};
  if (maxBuffered !== undefined && !(maxBuffered >= 1)) throw new InvalidArgumentError('ordered(): gapThreshold.maxBuffered must be at least 1');
  if (maxWaitMs !== undefined && !(maxWaitMs >= 0)) throw new InvalidArgumentError('ordered(): gapThreshold.maxWaitMs must be a non-negative number');
  return {
    name: 'ordered' as const,
    capabilities: () => capabilities,
    connectWrap: async (inner) => new OrderedConn(inner, opts),
  };
}
