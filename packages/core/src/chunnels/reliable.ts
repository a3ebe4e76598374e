/**
 * reliable(): exactly-once (not ordered) delivery over a datagram Conn that
 * may lose, duplicate or reorder messages.
 *
 * Wire format (big-endian), one frame per message of the Conn below:
 *
 *   u8  flags          bit 0: DATA part present, bit 1: ACK part present
 *   DATA part:  u32 seq                  this message's sequence number
 *   ACK part:   u32 cum                  every seq before `cum` was received
 *               u32 wnd                  messages past `cum` the receiver takes now
 *               u8  n                    SACK ranges that follow (≤ 32)
 *               n × (u32 start, u32 end) received seqs after `cum`, end exclusive
 *   DATA part:  payload                  the rest of the frame
 *
 * Either end sends DATA and ACK; an ACK rides on outgoing data when one is
 * due (piggy-backing), otherwise it is delayed up to `ackDelayMs` so that
 * several frames are acknowledged at once. Sequence numbers wrap at 2^32
 * (serial arithmetic).
 *
 * What is in flight is bounded three ways, so a fast sender cannot flood a
 * socket buffer and then resend the flood (congestion collapse): `window`
 * messages; the receiver's advertised `wnd` (flow control: what it buffers
 * unread); and a congestion window in bytes, NewReno-like (RFC 5681, 6582):
 * slow start, additive increase, halved once per loss episode, one message
 * after a retransmission timeout. A message is lost once one sent after it
 * was acknowledged and a round trip (plus a reordering allowance) has
 * passed, or three sent after it were acknowledged (RACK, RFC 8985: in
 * send order, so lost retransmissions and losses in a small window are
 * found without a timeout), or when the timeout (RFC 6298 with backoff) expires;
 * lost messages are resent first, within the congestion window, so
 * retransmissions are clocked out by acknowledgements rather than sent
 * together.
 */
import { twoSided, type Capability } from '../capability.js';
import type { CallOptions, Conn } from '../conn/conn.js';
import { AbortError, ConnClosedError, InvalidArgumentError, MessageTooLargeError, TimeoutError } from '../errors.js';
import type { ChunnelWithConn } from './chunnel-with-conn.js';
import { PumpConn } from './pump-conn.js';
import { RttEstimator } from './rtt-estimator.js';
import { seqDiff, seqNext, viewOf } from './seq.js';

export interface ReliableOptions {
  /** Most messages in flight (sent, not yet acknowledged); sends wait beyond it. Default 256. */
  readonly window?: number;
  /** How far past the next expected seq the receiver accepts data, and most messages it holds unread; must be ≥ the peer's `window`. Default 4096. */
  readonly recvWindow?: number;
  /** Initial congestion window, bytes (RFC 6928: ten 1,472-byte datagrams). Default 14,720. */
  readonly initialCwndBytes?: number;
  /** Retransmission timeout before the first RTT sample. Default 1000 ms. */
  readonly initialRtoMs?: number;
  /** Lower bound of the retransmission timeout; lower it for in-memory links. Default 200 ms. */
  readonly minRtoMs?: number;
  /** Upper bound of the (backed-off) retransmission timeout. Default 60 000 ms. */
  readonly maxRtoMs?: number;
  /**
   * Retransmission timeouts (each after its tail-loss probes) the oldest
   * message may see before the connection fails with `TimeoutError`, as
   * TCP's tcp_retries2. Default 10.
   */
  readonly maxRetransmits?: number;
  /** Longest an acknowledgement waits for more data to ride along. Default 10 ms. */
  readonly ackDelayMs?: number;
  /** Acknowledge at once when this many data frames are unacknowledged. Default 2. */
  readonly ackEvery?: number;
  /** How long `close()` waits for messages in flight to be acknowledged. Default 2000 ms. */
  readonly lingerMs?: number;
}

export interface ReliableStats {
  /** Messages sent again after a timeout or a loss signal. */
  retransmits: number;
  /** Retransmission timeouts that fired. */
  timeouts: number;
  /** Data frames received again and suppressed. */
  duplicates: number;
  /** Acknowledgement-only frames sent. */
  acksSent: number;
  /** Smoothed round-trip time, once measured. */
  srttMs: number | undefined;
  /** Current retransmission timeout. */
  rtoMs: number;
  /** Congestion window, bytes. */
  cwndBytes: number;
}

const FLAG_DATA = 1;
const FLAG_ACK = 2;
const DATA_HEADER = 5;
const ACK_HEADER = 9;
const MAX_SACK_RANGES = 32;
/** A message is lost once this many later ones were acknowledged (RFC 5681's duplicate-ACK threshold). */
const DUP_THRESH = 3;
/** Bytes a message costs the congestion window besides its payload: our header and IPv4 + UDP. */
const FRAME_OVERHEAD = DATA_HEADER + 28;
/** The congestion window's unit while messages are small: a 1,500-byte Ethernet frame's UDP payload. */
const MIN_SMSS = 1472;
/** Tail-loss probes (each after twice the last wait) before a timeout collapses the window, as QUIC's PTO does before persistent congestion. */
const MAX_PROBES = 2;
/** Clock granularity G of RFC 6298, ms. */
const CLOCK_G_MS = 1;

interface InFlight {
  readonly seq: number;
  readonly payload: Uint8Array;
  /** What it occupies in the congestion window. */
  readonly cost: number;
  sentAt: number;
  /** Order of its latest transmission among all transmissions. */
  xmit: number;
  retransmits: number;
  /** Retransmission timeouts it was the oldest message at: what `maxRetransmits` bounds. */
  timeouts: number;
  /** Declared lost and waiting to be resent: not counted in flight. */
  lost: boolean;
}

interface Ack {
  readonly cum: number;
  readonly wnd: number;
  /** Flattened [start, end) pairs. */
  readonly ranges: readonly number[];
}

interface Config {
  readonly window: number;
  readonly recvWindow: number;
  readonly initialCwndBytes: number;
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
    initialCwndBytes: opts.initialCwndBytes ?? 10 * MIN_SMSS,
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
  if (c.window < 1 || c.window >= 2 ** 30 || c.recvWindow < 1 || c.recvWindow >= 2 ** 30) {
    throw new InvalidArgumentError('reliable(): window and recvWindow must be at least 1 and below 2^30');
  }
  if (c.minRtoMs > c.maxRtoMs) throw new InvalidArgumentError('reliable(): minRtoMs must not exceed maxRtoMs');
  return c;
}

function ackSize(ack: Ack): number {
  return ACK_HEADER + ack.ranges.length * 4;
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
    view.setUint32(off + 4, ack.wnd);
    view.setUint8(off + 8, ack.ranges.length / 2);
    off += ACK_HEADER;
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
    if (bytes.byteLength < off + ACK_HEADER) return undefined;
    const cum = view.getUint32(off);
    const wnd = view.getUint32(off + 4);
    const n = view.getUint8(off + 8);
    off += ACK_HEADER;
    if (n > MAX_SACK_RANGES || bytes.byteLength < off + n * 8) return undefined;
    const ranges: number[] = [];
    for (let i = 0; i < n * 2; i++, off += 4) ranges.push(view.getUint32(off));
    ack = { cum, wnd, ranges };
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
  /** Messages declared lost, to resend before anything new, oldest first. */
  #lost: InFlight[] = [];
  /** Transmissions so far; the latest one acknowledged and its round trip (RACK). */
  #xmits = 0;
  #ackedXmit = 0;
  #rackRtt = 0;
  #reorderTimer: NodeJS.Timeout | undefined;
  /** Bytes sent and neither acknowledged nor declared lost. */
  #flightBytes = 0;
  #cwnd: number;
  #ssthresh = Infinity;
  /** Congestion window unit: a full-size datagram, or the largest message sent. */
  #smss = MIN_SMSS;
  /** While set, losses of messages sent before this seq belong to the episode already answered. */
  #recoveryEnd: number | undefined;
  /** The peer's flow-control window: it takes seqs below `peerCum + peerWnd`. */
  #peerCum = 0;
  #peerWnd: number;
  /** A zero-window probe may go out (set by the persist timer). */
  #zeroWindowProbe = false;
  #persistTimer: NodeJS.Timeout | undefined;
  #windowWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  readonly #rtt: RttEstimator;
  #rtxTimer: NodeJS.Timeout | undefined;
  /** Tail-loss probes sent since the last acknowledgement of new data. */
  #probes = 0;
  #failure: Error | undefined;
  #drained: (() => void) | undefined;

  // Receive side.
  #cum = 0;
  readonly #above = new Set<number>();
  #unackedFrames = 0;
  #ackAtOnce = false;
  #ackTimer: NodeJS.Timeout | undefined;
  /** The window we last told the peer. */
  #advertised: number;

  constructor(inner: Conn<Uint8Array>, opts: ReliableOptions = {}) {
    super(inner);
    this.#cfg = config(opts);
    this.#rtt = new RttEstimator({ initialRto: this.#cfg.initialRtoMs, minRto: this.#cfg.minRtoMs, maxRto: this.#cfg.maxRtoMs, granularity: CLOCK_G_MS });
    this.#cwnd = Math.max(this.#cfg.initialCwndBytes, MIN_SMSS);
    this.#peerWnd = this.#cfg.window;
    this.#advertised = this.#cfg.recvWindow;
    this.reliableStats = { retransmits: 0, timeouts: 0, duplicates: 0, acksSent: 0, srttMs: undefined, rtoMs: this.#rtt.rto, cwndBytes: this.#cwnd };
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
      if (!this.#mayAdd(msgs[i] as Uint8Array)) await this.#waitForWindow(opts?.signal);
      const frames: Uint8Array[] = [];
      const now = performance.now();
      while (i < msgs.length && this.#mayAdd(msgs[i] as Uint8Array)) {
        const payload = msgs[i++] as Uint8Array;
        const seq = this.#nextSeq;
        this.#nextSeq = seqNext(seq);
        const e: InFlight = { seq, payload, cost: payload.byteLength + FRAME_OVERHEAD, sentAt: now, xmit: ++this.#xmits, retransmits: 0, timeouts: 0, lost: false };
        this.#zeroWindowProbe = false;
        this.#inFlight.set(seq, e);
        this.#flightBytes += e.cost;
        if (e.cost > this.#smss) this.#smss = Math.min(e.cost, 65_535);
        frames.push(this.#dataFrame(seq, payload));
      }
      if (frames.length === 0) continue;
      this.#armRtx();
      this.stats.sent += frames.length;
      await this.inner.sendBatch(frames, opts);
    }
  }

  override async recv(opts?: CallOptions): Promise<Uint8Array> {
    const msg = await super.recv(opts);
    this.#windowUpdate();
    return msg;
  }

  override async recvBatch(max: number, opts?: CallOptions): Promise<Uint8Array[]> {
    const msgs = await super.recvBatch(max, opts);
    this.#windowUpdate();
    return msgs;
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
    this.#sendLost();
    this.#wakeWriters();
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

  /** Messages past `cum` we take now: the receive window less what waits unread. */
  #recvWnd(): number {
    return Math.max(0, this.#cfg.recvWindow - this.inbox.size);
  }

  /** The reader made room: tell a peer that was told to slow down (receiver-side silly-window avoidance). */
  #windowUpdate(): void {
    if (this.#failure !== undefined || this.closed) return;
    const quarter = Math.max(1, Math.floor(this.#cfg.recvWindow / 4));
    if (this.#advertised < this.#cfg.recvWindow / 2 && this.#recvWnd() >= this.#advertised + quarter) this.#sendAck();
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
    const wnd = this.#recvWnd();
    this.#advertised = wnd;
    return { cum, wnd, ranges };
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

  /** Whether the congestion window has room for `cost` more bytes (always for the first). */
  #cwndRoom(cost: number): boolean {
    return this.#flightBytes === 0 || this.#flightBytes + cost <= this.#cwnd;
  }

  /** Whether a new message may go out now: lost ones first, then every window. */
  #mayAdd(payload: Uint8Array): boolean {
    if (this.#lost.length > 0) return false;
    const first = this.#inFlight.keys().next();
    if (first.done !== true && seqDiff(this.#nextSeq, first.value) >= this.#cfg.window) return false;
    if (seqDiff(this.#nextSeq, this.#peerCum) >= this.#peerWnd && !this.#zeroWindowProbe) {
      this.#armPersist();
      return false;
    }
    return this.#cwndRoom(payload.byteLength + FRAME_OVERHEAD);
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

  /** Lets waiting sends re-check the windows (each takes what fits and waits again). */
  #wakeWriters(): void {
    if (this.#windowWaiters.length > 0 && this.#lost.length === 0) {
      for (const w of this.#windowWaiters.splice(0)) w.resolve();
    }
  }

  /** Applies an ack from the peer; false when it acknowledges what was never sent. */
  #onAck(ack: Ack): boolean {
    if (seqDiff(ack.cum, this.#nextSeq) > 0) return false;
    if (seqDiff(ack.cum, this.#peerCum) >= 0) {
      this.#peerCum = ack.cum;
      this.#peerWnd = ack.wnd;
      if (ack.wnd > 0) this.#clearPersist();
    }
    const first = this.#inFlight.keys().next();
    if (first.done === true) return true;
    const base = first.value;
    const limit = seqDiff(this.#nextSeq, base);
    const now = performance.now();
    let sample: number | undefined;
    let ackedBytes = 0;
    const flightBefore = this.#flightBytes;
    const take = (e: InFlight): void => {
      this.#inFlight.delete(e.seq);
      if (!e.lost) this.#flightBytes -= e.cost;
      ackedBytes += e.cost;
      if (e.xmit > this.#ackedXmit) {
        this.#ackedXmit = e.xmit;
        this.#rackRtt = now - e.sentAt;
      }
      // Karn's rule: a retransmitted message's ack is ambiguous.
      if (e.retransmits === 0) sample = now - e.sentAt;
    };
    for (const e of this.#inFlight.values()) {
      if (seqDiff(e.seq, ack.cum) >= 0) break;
      take(e);
    }
    for (let i = 0; i + 1 < ack.ranges.length; i += 2) {
      // Clamp to what is in flight so a hostile range cannot make us loop for long.
      const from = Math.max(seqDiff(ack.ranges[i] as number, base), 0);
      const to = Math.min(seqDiff(ack.ranges[i + 1] as number, base), limit);
      for (let o = from; o < to; o++) {
        const e = this.#inFlight.get((base + o) >>> 0);
        if (e !== undefined) take(e);
      }
    }
    if (sample !== undefined) this.#rttSample(sample);
    if (this.#recoveryEnd !== undefined && seqDiff(ack.cum, this.#recoveryEnd) >= 0) this.#recoveryEnd = undefined;
    if (ackedBytes > 0) {
      this.#probes = 0;
      this.#grow(ackedBytes, flightBefore);
      // New data acknowledged: restart the timer for what remains (RFC 6298 §5.3).
      this.#clearRtx();
      this.#armRtx();
    }
    if (ackedBytes > 0) this.#detectLoss(now);
    if (this.#inFlight.size === 0) {
      this.#clearRtx();
      this.#drained?.();
    }
    return true;
  }

  /** Window growth for `acked` bytes (RFC 5681 §3.1 with byte counting), only while the window was in use. */
  #grow(acked: number, flightBefore: number): void {
    if (this.#recoveryEnd !== undefined || flightBefore * 2 < this.#cwnd) return;
    if (this.#cwnd < this.#ssthresh) this.#cwnd += Math.min(acked, this.#smss);
    else this.#cwnd += (this.#smss * acked) / this.#cwnd;
    this.reliableStats.cwndBytes = this.#cwnd;
  }

  /** A loss episode: halve the window once per round trip (RFC 6582). */
  #onLoss(): void {
    if (this.#recoveryEnd !== undefined) return;
    this.#recoveryEnd = this.#nextSeq;
    this.#ssthresh = Math.max(this.#flightBytes / 2, 2 * this.#smss);
    this.#cwnd = this.#ssthresh;
    this.reliableStats.cwndBytes = this.#cwnd;
  }

  #rttSample(r: number): void {
    this.#rtt.sample(r);
    this.reliableStats.srttMs = this.#rtt.srtt;
    this.reliableStats.rtoMs = this.#rtt.rto;
  }

  /** RACK: a message sent before the latest acknowledged one is lost `DUP_THRESH` transmissions or a round trip later. */
  #detectLoss(now: number): void {
    let found = false;
    let next = Infinity;
    const wait = this.#rackRtt + (Number.isFinite(this.#rtt.minRtt) ? this.#rtt.minRtt / 4 : 0);
    for (const e of this.#inFlight.values()) {
      if (e.lost || e.xmit >= this.#ackedXmit) continue;
      if (this.#ackedXmit - e.xmit >= DUP_THRESH || now - e.sentAt >= wait) {
        this.#markLost(e);
        found = true;
      } else {
        next = Math.min(next, e.sentAt + wait);
      }
    }
    if (found) this.#onLoss();
    if (next !== Infinity && this.#reorderTimer === undefined) {
      this.#reorderTimer = setTimeout(() => {
        this.#reorderTimer = undefined;
        if (this.#failure !== undefined) return;
        this.#detectLoss(performance.now());
        this.#sendLost();
      }, Math.max(1, next - now));
    }
  }

  #markLost(e: InFlight): void {
    e.lost = true;
    this.#flightBytes -= e.cost;
    this.#lost.push(e);
  }

  /** Resends lost messages, oldest first, as far as the congestion window allows. */
  #sendLost(): void {
    if (this.#lost.length === 0 || this.#failure !== undefined) return;
    const resend: Uint8Array[] = [];
    const now = performance.now();
    let i = 0;
    for (; i < this.#lost.length; i++) {
      const e = this.#lost[i] as InFlight;
      if (!e.lost || this.#inFlight.get(e.seq) !== e) continue; // acknowledged meanwhile
      if (!this.#cwndRoom(e.cost)) break;
      e.lost = false;
      e.retransmits++;
      e.sentAt = now;
      e.xmit = ++this.#xmits;
      this.#flightBytes += e.cost;
      resend.push(encodeFrame(e.seq, undefined, e.payload));
    }
    this.#lost = this.#lost.slice(i);
    if (resend.length > 0) {
      this.reliableStats.retransmits += resend.length;
      this.#armRtx();
      this.#sendQuietly(resend);
    }
  }

  /** Arms the probe timeout (two round trips and the peer's ack delay, RFC 8985 §7.2, doubling per probe) or, after the probes, the retransmission timeout. */
  #armRtx(): void {
    if (this.#rtxTimer !== undefined || this.#inFlight.size === 0) return;
    const srtt = this.#rtt.srtt;
    const delay = this.#probes >= MAX_PROBES || srtt === undefined ? this.#rtt.rto : Math.min(this.#rtt.rto, (2 * srtt + this.#cfg.ackDelayMs) * 2 ** this.#probes);
    this.#rtxTimer = setTimeout(() => this.#onRtxTimer(), Math.max(1, delay));
  }

  #clearRtx(): void {
    if (this.#rtxTimer !== undefined) clearTimeout(this.#rtxTimer);
    this.#rtxTimer = undefined;
  }

  /** RFC 6298 §5.4–5.7 with RFC 5681 §3.1: everything outstanding is lost, the window drops to one message, the timer backs off. */
  #onRtxTimer(): void {
    this.#rtxTimer = undefined;
    if (this.#inFlight.size === 0) return;
    if (this.#probes < MAX_PROBES) {
      this.#probe();
      return;
    }
    const oldest = this.#inFlight.values().next().value as InFlight;
    if (oldest.timeouts >= this.#cfg.maxRetransmits) {
      this.#fail(
        new TimeoutError(
          `reliable(): message ${oldest.seq} was not acknowledged after ${oldest.retransmits} retransmissions and ${oldest.timeouts} timeouts: the peer is unreachable or gone; open a new connection`,
        ),
      );
      return;
    }
    oldest.timeouts++;
    this.#rtt.backoff();
    this.reliableStats.rtoMs = this.#rtt.rto;
    this.reliableStats.timeouts++;
    this.#ssthresh = Math.max(this.#flightBytes / 2, 2 * this.#smss);
    this.#cwnd = this.#smss;
    this.reliableStats.cwndBytes = this.#cwnd;
    this.#recoveryEnd = this.#nextSeq;
    this.#lost = [];
    for (const e of this.#inFlight.values()) {
      if (!e.lost) {
        e.lost = true;
        this.#flightBytes -= e.cost;
      }
      this.#lost.push(e);
    }
    this.#sendLost();
    this.#armRtx();
  }

  /**
   * The first `MAX_PROBES` expiries since the last acknowledgement resend
   * only the oldest message and keep the window (tail-loss probes, RFC 8985
   * §7): an ack lets RACK find what was lost, and a lost ack costs no collapse.
   */
  #probe(): void {
    this.#probes++;
    const e = this.#inFlight.values().next().value as InFlight;
    e.retransmits++;
    e.sentAt = performance.now();
    e.xmit = ++this.#xmits;
    this.reliableStats.retransmits++;
    this.#armRtx();
    this.#sendQuietly([encodeFrame(e.seq, undefined, e.payload)]);
  }

  /** The peer's window is closed with nothing in flight: probe it after a timeout, as TCP's persist timer does. */
  #armPersist(): void {
    if (this.#persistTimer !== undefined || this.#inFlight.size > 0) return;
    this.#persistTimer = setTimeout(() => {
      this.#persistTimer = undefined;
      this.#zeroWindowProbe = true;
      this.#wakeWriters();
    }, Math.max(1, this.#rtt.rto));
  }

  #clearPersist(): void {
    if (this.#persistTimer !== undefined) clearTimeout(this.#persistTimer);
    this.#persistTimer = undefined;
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
    this.#clearPersist();
    if (this.#reorderTimer !== undefined) clearTimeout(this.#reorderTimer);
    this.#reorderTimer = undefined;
    this.#ackTaken();
    this.#rejectWaiters(err);
    this.#drained?.();
    this.#drained = undefined;
  }

  #fail(err: Error): void {
    if (this.#failure !== undefined) return;
    this.#failure = err;
    this.#inFlight.clear();
    this.#lost = [];
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
