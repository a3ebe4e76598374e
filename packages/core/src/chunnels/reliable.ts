/**
 * reliable(): exactly-once (not ordered) delivery over a datagram Conn that
 * may lose, duplicate or reorder messages.
 *
 * Wire format (big-endian), one frame per message of the Conn below:
 *
 *   u8  flags          bit 0: DATA part present, bit 1: ACK part present
 *   DATA part:  u32 seq                  this message's sequence number
 *   ACK part:   u32 cum                  every seq before `cum` was received
 *               u8  n                    SACK ranges that follow (≤ 32)
 *               n × (u32 start, u32 end) received seqs after `cum`, end exclusive
 *   DATA part:  payload                  the rest of the frame
 *
 * Either end sends DATA and ACK; an ACK rides on outgoing data when one is
 * due (piggy-backing), otherwise it is delayed up to `ackDelayMs` so that
 * several frames are acknowledged at once. Retransmission timeouts follow
 * RFC 6298 (SRTT/RTTVAR, Karn's rule) with exponential backoff per message,
 * plus one early retransmission once three later messages were acknowledged.
 * Sequence numbers wrap at 2^32 (serial arithmetic).
 */
import { twoSided, type Capability } from '../capability.js';
import type { CallOptions, Conn } from '../conn/conn.js';
import { AbortError, ConnClosedError, InvalidArgumentError, MessageTooLargeError, TimeoutError } from '../errors.js';
import type { ChunnelWithConn } from './chunnel-with-conn.js';
import { PumpConn } from './pump-conn.js';
import { seqDiff, seqNext, viewOf } from './seq.js';

export interface ReliableOptions {
  /** Most messages in flight (sent, not yet acknowledged); sends wait beyond it. Default 256. */
  readonly window?: number;
  /** How far past the next expected seq the receiver accepts data; must be ≥ the peer's `window`. Default 4096. */
  readonly recvWindow?: number;
  /** Retransmission timeout before the first RTT sample. Default 1000 ms. */
  readonly initialRtoMs?: number;
  /** Lower bound of the retransmission timeout; lower it for in-memory links. Default 200 ms. */
  readonly minRtoMs?: number;
  /** Upper bound of the (backed-off) retransmission timeout. Default 60 000 ms. */
  readonly maxRtoMs?: number;
  /** Retransmissions of one message before the connection fails with `TimeoutError`. Default 10. */
  readonly maxRetransmits?: number;
  /** Longest an acknowledgement waits for more data to ride along. Default 10 ms. */
  readonly ackDelayMs?: number;
  /** Acknowledge at once when this many data frames are unacknowledged. Default 2. */
  readonly ackEvery?: number;
  /** How long `close()` waits for messages in flight to be acknowledged. Default 2000 ms. */
  readonly lingerMs?: number;
}

export interface ReliableStats {
  /** Messages sent again after a timeout or an early-retransmit signal. */
  retransmits: number;
  /** Data frames received again and suppressed. */
  duplicates: number;
  /** Acknowledgement-only frames sent. */
  acksSent: number;
  /** Smoothed round-trip time, once measured. */
  srttMs: number | undefined;
  /** Current retransmission timeout. */
  rtoMs: number;
}

const FLAG_DATA = 1;
const FLAG_ACK = 2;
const DATA_HEADER = 5;
const MAX_SACK_RANGES = 32;
/** A message is retransmitted early once this many later ones were acknowledged. */
const EARLY_RETRANSMIT_AFTER = 3;

interface InFlight {
  readonly seq: number;
  readonly payload: Uint8Array;
  sentAt: number;
  deadline: number;
  retransmits: number;
  /** Sent again before its timer expired; Karn's rule excludes it from RTT samples. */
  early: boolean;
}

interface Ack {
  readonly cum: number;
  /** Flattened [start, end) pairs. */
  readonly ranges: readonly number[];
}

interface Config {
  readonly window: number;
  readonly recvWindow: number;
  readonly initialRtoMs: number;
  readonly minRtoMs: number;
  readonly maxRtoMs: number;
  readonly maxRetransmits: number;
  readonly ackDelayMs: number;
  readonly ackEvery: number;
  readonly lingerMs: number;
}

function config(opts: ReliableOptions): Config {
  const c: Config = {
    window: opts.window ?? 256,
    recvWindow: opts.recvWindow ?? 4096,
    initialRtoMs: opts.initialRtoMs ?? 1000,
    minRtoMs: opts.minRtoMs ?? 200,
    maxRtoMs: opts.maxRtoMs ?? 60_000,
    maxRetransmits: opts.maxRetransmits ?? 10,
    ackDelayMs: opts.ackDelayMs ?? 10,
    ackEvery: opts.ackEvery ?? 2,
    lingerMs: opts.lingerMs ?? 2000,
  };
  for (const [k, v] of Object.entries(c)) {
    if (typeof v !== 'number' || !(v >= 0)) throw new InvalidArgumentError(`reliable(): ${k} must be a non-negative number, got ${String(v)}`);
  }
  if (c.window < 1 || c.window >= 2 ** 30 || c.recvWindow >= 2 ** 30) {
    throw new InvalidArgumentError('reliable(): window must be at least 1 and both windows below 2^30');
  }
  if (c.minRtoMs > c.maxRtoMs) throw new InvalidArgumentError('reliable(): minRtoMs must not exceed maxRtoMs');
  return c;
}

function ackSize(ack: Ack): number {
  return 5 + ack.ranges.length * 4;
}

function encodeFrame(seq: number | undefined, ack: Ack | undefined, payload: Uint8Array | undefined): Uint8Array {
  const size = 1 + (seq === undefined ? 0 : 4) + (ack === undefined ? 0 : ackSize(ack)) + (payload?.byteLength ?? 0);
  const frame = new Uint8Array(size);
  const view = viewOf(frame);
  view.setUint8(0, (seq === undefined ? 0 : FLAG_DATA) | (ack === undefined ? 0 : FLAG_ACK));
  let off = 1;
  if (seq !== undefined) {
    view.setUint32(off, seq);
    off += 4;
  }
  if (ack !== undefined) {
    view.setUint32(off, ack.cum);
    view.setUint8(off + 4, ack.ranges.length / 2);
    off += 5;
    for (const s of ack.ranges) {
      view.setUint32(off, s);
      off += 4;
    }
  }
  if (payload !== undefined) frame.set(payload, off);
  return frame;
}

interface Frame {
  seq: number | undefined;
  ack: Ack | undefined;
  payload: Uint8Array;
}

/** Parses a frame; undefined when it is malformed. */
function decodeFrame(bytes: Uint8Array): Frame | undefined {
  if (bytes.byteLength < 1) return undefined;
  const view = viewOf(bytes);
  const flags = view.getUint8(0);
  if (flags === 0 || (flags & ~(FLAG_DATA | FLAG_ACK)) !== 0) return undefined;
  let off = 1;
  let seq: number | undefined;
  let ack: Ack | undefined;
  if (flags & FLAG_DATA) {
    if (bytes.byteLength < off + 4) return undefined;
    seq = view.getUint32(off);
    off += 4;
  }
  if (flags & FLAG_ACK) {
    if (bytes.byteLength < off + 5) return undefined;
    const cum = view.getUint32(off);
    const n = view.getUint8(off + 4);
    off += 5;
    if (n > MAX_SACK_RANGES || bytes.byteLength < off + n * 8) return undefined;
    const ranges: number[] = [];
    for (let i = 0; i < n * 2; i++, off += 4) ranges.push(view.getUint32(off));
    ack = { cum, ranges };
  }
  if (seq === undefined && off !== bytes.byteLength) return undefined;
  return { seq, ack, payload: bytes.subarray(off) };
}

/** The Conn `reliable()` returns; `reliableStats` shows what recovery cost. */
export class ReliableConn extends PumpConn<Uint8Array, Uint8Array> {
  readonly reliableStats: ReliableStats;
  /** Largest payload one `send` carries, when the Conn below declares its own limit. */
  readonly maxMessageSize: number | undefined;
  readonly #cfg: Config;
  readonly #innerMax: number | undefined;

  // Send side.
  #nextSeq = 0;
  readonly #inFlight = new Map<number, InFlight>(); // insertion order is seq order
  #windowWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  #srtt: number | undefined;
  #rttvar = 0;
  #rto: number;
  #rtxTimer: NodeJS.Timeout | undefined;
  #failure: Error | undefined;
  #drained: (() => void) | undefined;

  // Receive side.
  #cum = 0;
  readonly #above = new Set<number>();
  #unackedFrames = 0;
  #ackAtOnce = false;
  #ackTimer: NodeJS.Timeout | undefined;

  constructor(inner: Conn<Uint8Array>, opts: ReliableOptions = {}) {
    super(inner);
    this.#cfg = config(opts);
    this.#rto = Math.min(Math.max(this.#cfg.initialRtoMs, this.#cfg.minRtoMs), this.#cfg.maxRtoMs);
    this.reliableStats = { retransmits: 0, duplicates: 0, acksSent: 0, srttMs: undefined, rtoMs: this.#rto };
    const innerMax = (inner as Partial<{ maxMessageSize: number }>).maxMessageSize;
    this.#innerMax = typeof innerMax === 'number' ? innerMax : undefined;
    this.maxMessageSize = this.#innerMax === undefined ? undefined : this.#innerMax - DATA_HEADER;
    this.startPump();
  }

  override async sendBatch(msgs: readonly Uint8Array[], opts?: CallOptions): Promise<void> {
    if (this.#failure) throw this.#failure;
    this.assertOpen();
    if (this.maxMessageSize !== undefined) {
      for (const m of msgs) if (m.byteLength > this.maxMessageSize) throw new MessageTooLargeError(m.byteLength, this.maxMessageSize);
    }
    let i = 0;
    while (i < msgs.length) {
      if (!this.#windowOpen()) await this.#waitForWindow(opts?.signal);
      const frames: Uint8Array[] = [];
      const now = performance.now();
      while (i < msgs.length && this.#windowOpen()) {
        const payload = msgs[i++] as Uint8Array;
        const seq = this.#nextSeq;
        this.#nextSeq = seqNext(seq);
        this.#inFlight.set(seq, { seq, payload, sentAt: now, deadline: now + this.#rto, retransmits: 0, early: false });
        frames.push(this.#dataFrame(seq, payload));
      }
      if (frames.length === 0) continue;
      this.#armRtx(this.#rto);
      this.stats.sent += frames.length;
      await this.inner.sendBatch(frames, opts);
    }
  }

  protected override onInner(frames: Uint8Array[]): void {
    let delivered = false;
    for (const bytes of frames) {
      const frame = decodeFrame(bytes);
      if (frame === undefined) {
        this.stats.dropped++;
        continue;
      }
      if (frame.ack !== undefined && !this.#onAck(frame.ack)) this.stats.dropped++;
      if (frame.seq !== undefined) delivered = this.#onData(frame.seq, frame.payload) || delivered;
    }
    if (this.#failure) return;
    if (this.#ackAtOnce || this.#unackedFrames >= this.#cfg.ackEvery) this.#sendAck();
    else if (delivered && this.#ackTimer === undefined) {
      this.#ackTimer = setTimeout(() => this.#sendAck(), this.#cfg.ackDelayMs);
    }
  }

  protected override onInnerEnded(err: Error): void {
    this.#stop(err);
    super.onInnerEnded(err);
  }

  protected override async onClose(): Promise<void> {
    this.#rejectWaiters(new ConnClosedError('connection closed while the send waited for window space'));
    if (this.#inFlight.size > 0 && this.#failure === undefined && this.#cfg.lingerMs > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.#cfg.lingerMs);
        this.#drained = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    if (this.#unackedFrames > 0 && this.#failure === undefined) this.#sendAck();
    this.#stop(new ConnClosedError());
    this.releasePump();
    await this.inner.close();
  }

  // ---- receive side ----

  /** Returns true when the payload was new and delivered. */
  #onData(seq: number, payload: Uint8Array): boolean {
    const d = seqDiff(seq, this.#cum);
    if (d < 0 || this.#above.has(seq)) {
      this.reliableStats.duplicates++;
      // The peer resent it, so our ack was probably lost: answer at once.
      this.#ackAtOnce = true;
      return false;
    }
    if (d >= this.#cfg.recvWindow) {
      this.stats.dropped++;
      return false;
    }
    if (d === 0) {
      this.#cum = seqNext(this.#cum);
      while (this.#above.delete(this.#cum)) this.#cum = seqNext(this.#cum);
    } else {
      this.#above.add(seq);
      // Out of order: a hole means a loss the sender should hear about soon.
      this.#ackAtOnce = true;
    }
    this.#unackedFrames++;
    this.stats.received++;
    this.inbox.push(payload);
    return true;
  }

  #currentAck(): Ack {
    const cum = this.#cum;
    const ranges: number[] = [];
    if (this.#above.size > 0) {
      const offsets = [...this.#above].map((s) => seqDiff(s, cum)).sort((a, b) => a - b);
      let start = offsets[0] as number;
      let end = start + 1;
      for (let i = 1; i <= offsets.length && ranges.length < MAX_SACK_RANGES * 2; i++) {
        const o = offsets[i];
        if (o === end) {
          end++;
          continue;
        }
        ranges.push((cum + start) >>> 0, (cum + end) >>> 0);
        if (o === undefined) break;
        start = o;
        end = o + 1;
      }
    }
    return { cum, ranges };
  }

  #ackTaken(): void {
    this.#unackedFrames = 0;
    this.#ackAtOnce = false;
    if (this.#ackTimer !== undefined) {
      clearTimeout(this.#ackTimer);
      this.#ackTimer = undefined;
    }
  }

  #sendAck(): void {
    const ack = this.#currentAck();
    this.#ackTaken();
    this.reliableStats.acksSent++;
    this.#sendQuietly([encodeFrame(undefined, ack, undefined)]);
  }

  /** A data frame, carrying the pending ack when one is due and fits. */
  #dataFrame(seq: number, payload: Uint8Array): Uint8Array {
    if (this.#unackedFrames > 0 || this.#ackAtOnce) {
      const ack = this.#currentAck();
      if (this.#innerMax === undefined || DATA_HEADER + ackSize(ack) + payload.byteLength <= this.#innerMax) {
        this.#ackTaken();
        return encodeFrame(seq, ack, payload);
      }
    }
    return encodeFrame(seq, undefined, payload);
  }

  // ---- send side ----

  #windowOpen(): boolean {
    const first = this.#inFlight.keys().next();
    return first.done === true || seqDiff(this.#nextSeq, first.value) < this.#cfg.window;
  }

  #waitForWindow(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(new AbortError(signal.reason));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.#windowWaiters = this.#windowWaiters.filter((w) => w !== waiter);
        reject(new AbortError(signal?.reason));
      };
      const waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (err: Error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#windowWaiters.push(waiter);
    });
  }

  /** Applies an ack from the peer; false when it acknowledges what was never sent. */
  #onAck(ack: Ack): boolean {
    const first = this.#inFlight.keys().next();
    if (first.done === true) return seqDiff(ack.cum, this.#nextSeq) <= 0;
    const base = first.value;
    const limit = seqDiff(this.#nextSeq, base);
    if (seqDiff(ack.cum, this.#nextSeq) > 0) return false;
    const now = performance.now();
    let sample: number | undefined;
    const take = (e: InFlight): void => {
      this.#inFlight.delete(e.seq);
      if (e.retransmits === 0 && !e.early) sample = now - e.sentAt;
    };
    for (const e of this.#inFlight.values()) {
      if (seqDiff(e.seq, ack.cum) >= 0) break;
      take(e);
    }
    let highestSacked: number | undefined;
    for (let i = 0; i + 1 < ack.ranges.length; i += 2) {
      // Clamp to what is in flight so a hostile range cannot make us loop for long.
      const from = Math.max(seqDiff(ack.ranges[i] as number, base), 0);
      const to = Math.min(seqDiff(ack.ranges[i + 1] as number, base), limit);
      for (let o = from; o < to; o++) {
        const e = this.#inFlight.get((base + o) >>> 0);
        if (e !== undefined) take(e);
      }
      if (to > from && (highestSacked === undefined || to - 1 > highestSacked)) highestSacked = to - 1;
    }
    if (sample !== undefined) this.#rttSample(sample);
    if (highestSacked !== undefined) this.#earlyRetransmit((base + highestSacked) >>> 0, now);
    if (this.#inFlight.size === 0) {
      this.#clearRtx();
      this.#drained?.();
    }
    if (this.#windowWaiters.length > 0 && this.#windowOpen()) {
      for (const w of this.#windowWaiters.splice(0)) w.resolve();
    }
    return true;
  }

  /** RFC 6298 §2. */
  #rttSample(r: number): void {
    if (this.#srtt === undefined) {
      this.#srtt = r;
      this.#rttvar = r / 2;
    } else {
      this.#rttvar = 0.75 * this.#rttvar + 0.25 * Math.abs(this.#srtt - r);
      this.#srtt = 0.875 * this.#srtt + 0.125 * r;
    }
    this.#rto = Math.min(Math.max(this.#srtt + Math.max(1, 4 * this.#rttvar), this.#cfg.minRtoMs), this.#cfg.maxRtoMs);
    this.reliableStats.srttMs = this.#srtt;
    this.reliableStats.rtoMs = this.#rto;
  }

  #earlyRetransmit(highestSacked: number, now: number): void {
    const resend: Uint8Array[] = [];
    for (const e of this.#inFlight.values()) {
      if (seqDiff(highestSacked, e.seq) < EARLY_RETRANSMIT_AFTER) break;
      if (e.early || e.retransmits > 0) continue;
      e.early = true;
      e.sentAt = now;
      e.deadline = now + this.#rto;
      resend.push(encodeFrame(e.seq, undefined, e.payload));
    }
    if (resend.length > 0) {
      this.reliableStats.retransmits += resend.length;
      this.#sendQuietly(resend);
    }
  }

  #armRtx(delay: number): void {
    if (this.#rtxTimer !== undefined || this.#inFlight.size === 0) return;
    this.#rtxTimer = setTimeout(() => this.#onRtxTimer(), Math.max(1, delay));
  }

  #clearRtx(): void {
    if (this.#rtxTimer !== undefined) clearTimeout(this.#rtxTimer);
    this.#rtxTimer = undefined;
  }

  #onRtxTimer(): void {
    this.#rtxTimer = undefined;
    const now = performance.now();
    const resend: Uint8Array[] = [];
    let next = Infinity;
    for (const e of this.#inFlight.values()) {
      if (e.deadline > now) {
        next = Math.min(next, e.deadline);
        continue;
      }
      if (e.retransmits >= this.#cfg.maxRetransmits) {
        this.#fail(
          new TimeoutError(
            `reliable(): message ${e.seq} was not acknowledged after ${e.retransmits} retransmissions: the peer is unreachable or gone; open a new connection`,
          ),
        );
        return;
      }
      e.retransmits++;
      e.sentAt = now;
      // RFC 6298 §5.5: back off, here per message so one bad message does not slow the rest.
      e.deadline = now + Math.min(this.#rto * 2 ** e.retransmits, this.#cfg.maxRtoMs);
      next = Math.min(next, e.deadline);
      resend.push(encodeFrame(e.seq, undefined, e.payload));
    }
    if (resend.length > 0) {
      this.reliableStats.retransmits += resend.length;
      this.#sendQuietly(resend);
    }
    if (next !== Infinity) this.#armRtx(next - now);
  }

  /** Sends frames nobody awaits (acks, retransmissions); a failure is retried by the timers unless the Conn below closed. */
  #sendQuietly(frames: Uint8Array[]): void {
    this.inner.sendBatch(frames).catch((err: unknown) => {
      if (this.inner.closed && !this.closed) this.#fail(new ConnClosedError('the connection below closed', { cause: err }));
    });
  }

  #rejectWaiters(err: Error): void {
    for (const w of this.#windowWaiters.splice(0)) w.reject(err);
  }

  #stop(err: Error): void {
    this.#clearRtx();
    this.#ackTaken();
    this.#rejectWaiters(err);
    this.#drained?.();
    this.#drained = undefined;
  }

  #fail(err: Error): void {
    if (this.#failure !== undefined) return;
    this.#failure = err;
    this.#inFlight.clear();
    this.#stop(err);
    this.ended(err);
    this.releasePump();
    this.inner.close().catch(() => undefined);
  }
}

const capabilities: readonly Capability[] = [twoSided('reliability', 'acked')];

export type ReliableChunnel = ChunnelWithConn<Uint8Array, Uint8Array, 'reliable', ReliableConn>;

export function reliable(opts: ReliableOptions = {}): ReliableChunnel {
  config(opts);
  return {
    name: 'reliable' as const,
    capabilities: () => capabilities,
    connectWrap: async (inner) => new ReliableConn(inner, opts),
  };
}
