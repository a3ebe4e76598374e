import { InvalidArgumentError, mulberry32 } from '@bertha/core';
import type { Clock, Timer } from '@bertha/ccp';
import { TRACE_MTU_BYTES, type Trace } from './trace.js';

/** What a link needs of a packet: its size on the wire. `ce` is set when the link ECN-marks it. */
export interface Packet {
  readonly bytes: number;
  ce?: boolean;
}

export interface LinkOptions {
  /** Capacity in bits per second. Omit both this and `trace` for an infinitely fast link (pure delay). */
  rateBps?: number;
  /** Time-varying capacity as a mahimahi trace, instead of `rateBps`. */
  trace?: Trace;
  /** One-way propagation delay added after a packet leaves the queue, µs. Default 0. */
  delayUs?: number;
  /** Drop-tail limit on queued bytes (the packet in transmission included). Default: unlimited. */
  bufferBytes?: number;
  /** Drop-tail limit on queued packets (the packet in transmission included). Default: unlimited. */
  bufferPackets?: number;
  /** Probability that an arriving packet is lost at random, before the queue. Default 0. */
  loss?: number;
  /** Seed of the loss generator. Default 1. */
  seed?: number;
  /** Sets `ce` on a packet that arrives while more than this many bytes are queued (DCTCP's K). */
  ecnThresholdBytes?: number;
  /** Sets `ce` on a packet that arrives while more than this many packets are queued. */
  ecnThresholdPackets?: number;
  /** Keeps one `QueueDelaySample` per packet in `queueDelays`. Default false: only the summary in `stats`. */
  recordQueueDelay?: boolean;
}

export interface LinkStats {
  /** Packets accepted into the queue. */
  enqueued: number;
  /** Packets that left the queue (transmitted), and their bytes. */
  departed: number;
  bytesDeparted: number;
  /** Packets handed to the receiver after the propagation delay, and their bytes. */
  delivered: number;
  bytesDelivered: number;
  /** Packets refused because the buffer was full. */
  dropped: number;
  /** Packets lost at random. */
  lost: number;
  /** Packets ECN-marked. */
  marked: number;
  /** Sum and maximum of the time departed packets spent queued (their transmission included), µs. */
  queueDelaySumUs: number;
  queueDelayMaxUs: number;
}

export interface QueueDelaySample {
  /** When the packet left the queue, µs. */
  readonly atUs: number;
  /** How long it was queued, its transmission included, µs. */
  readonly delayUs: number;
}

/** Per packet in the ring: when it was enqueued, when its transmission ends, when it is delivered (µs). */
const ENQUEUED = 0;
const FINISH = 1;
const DELIVER = 2;
const TIMES = 3;

/**
 * One direction of a network link: a drop-tail FIFO drained at a fixed rate
 * or by a mahimahi trace, then a propagation delay.
 *
 * Each packet's departure time is computed when it arrives (the time the
 * packets ahead of it finish, plus its own transmission), so the link needs
 * one timer, for the next delivery, and stays exact even on a real clock that
 * fires late. A trace link follows mahimahi: every opportunity carries up to
 * 1500 bytes, shared by several small packets or split across opportunities
 * by a large one; bytes of an opportunity with nothing queued are lost.
 */
export class Link<P extends Packet> {
  readonly stats: LinkStats = {
    enqueued: 0,
    departed: 0,
    bytesDeparted: 0,
    delivered: 0,
    bytesDelivered: 0,
    dropped: 0,
    lost: 0,
    marked: 0,
    queueDelaySumUs: 0,
    queueDelayMaxUs: 0,
  };
  /** Per-packet queueing delays, in departure order, when `recordQueueDelay` is set. */
  readonly queueDelays: QueueDelaySample[] = [];

  readonly #clock: Clock;
  readonly #deliver: (p: P) => void;
  readonly #timer: Timer;
  readonly #rate: number;
  readonly #trace: Trace | undefined;
  readonly #delay: number;
  readonly #bufferBytes: number;
  readonly #bufferPackets: number;
  readonly #loss: number;
  readonly #rand: () => number;
  readonly #ecnBytes: number;
  readonly #ecnPackets: number;
  readonly #record: boolean;
  readonly #createdAt: number;

  /**
   * Packets not yet delivered, oldest first, in a ring that doubles when full
   * (a link carrying a steady window allocates nothing per packet): the first
   * `#size - #queued` are propagating, the last `#queued` queued. Their times
   * are `#times[TIMES * slot + ENQUEUED | FINISH | DELIVER]`.
   */
  #ring: (P | undefined)[] = new Array<P | undefined>(16).fill(undefined);
  #times = new Float64Array(TIMES * 16);
  #mask = 15;
  #head = 0;
  #size = 0;
  #queued = 0;
  #queueBytes = 0;
  #lastFinish = -Infinity;
  /** Trace links: the next unused opportunity, and bytes left in the one used at `#lastFinish`. */
  #nextOpp = 0;
  #leftover = 0;
  #closed = false;

  constructor(clock: Clock, opts: LinkOptions, deliver: (p: P) => void) {
    if (opts.rateBps !== undefined && opts.trace !== undefined) {
      throw new InvalidArgumentError('a link takes either rateBps or trace, not both');
    }
    this.#rate = positive('rateBps', opts.rateBps, Infinity);
    this.#trace = opts.trace;
    this.#delay = atLeastZero('delayUs', opts.delayUs, 0);
    this.#bufferBytes = atLeastZero('bufferBytes', opts.bufferBytes, Infinity);
    this.#bufferPackets = atLeastZero('bufferPackets', opts.bufferPackets, Infinity);
    this.#ecnBytes = atLeastZero('ecnThresholdBytes', opts.ecnThresholdBytes, Infinity);
    this.#ecnPackets = atLeastZero('ecnThresholdPackets', opts.ecnThresholdPackets, Infinity);
    const loss = opts.loss ?? 0;
    if (!(loss >= 0 && loss <= 1)) throw new InvalidArgumentError(`loss must be a probability in [0, 1], got ${loss}`);
    this.#loss = loss;
    this.#rand = mulberry32(opts.seed ?? 1);
    this.#record = opts.recordQueueDelay ?? false;
    this.#clock = clock;
    this.#deliver = deliver;
    this.#timer = clock.timer(this.#onTimer);
    this.#createdAt = clock.now();
  }

  /** Bytes queued now, the packet in transmission included. */
  get queueBytes(): number {
    this.#retire(this.#clock.now());
    return this.#queueBytes;
  }

  /** Packets queued now, the packet in transmission included. */
  get queuePackets(): number {
    this.#retire(this.#clock.now());
    return this.#queued;
  }

  /** Packets that left the queue and are still propagating. */
  get inFlight(): number {
    this.#retire(this.#clock.now());
    return this.#size - this.#queued;
  }

  /**
   * Offers a packet to the link. Returns false if it was lost or dropped;
   * otherwise `deliver` receives it once it has crossed.
   */
  enqueue(p: P): boolean {
    const bytes = p.bytes;
    if (!(bytes >= 0 && bytes < Infinity)) throw new InvalidArgumentError(`packet size must be a finite number of bytes >= 0, got ${bytes}`);
    if (this.#closed) return false;
    const now = this.#clock.now();
    this.#retire(now);
    if (this.#loss > 0 && this.#rand() < this.#loss) {
      this.stats.lost++;
      return false;
    }
    const queued = this.#queued;
    if (this.#queueBytes + bytes > this.#bufferBytes || queued + 1 > this.#bufferPackets) {
      this.stats.dropped++;
      return false;
    }
    if (this.#queueBytes > this.#ecnBytes || queued > this.#ecnPackets) {
      p.ce = true;
      this.stats.marked++;
    }
    const start = now > this.#lastFinish ? now : this.#lastFinish;
    const finish = this.#trace !== undefined ? this.#serveTrace(this.#trace, start, bytes) : start + (bytes * 8e6) / this.#rate;
    this.#lastFinish = finish;
    const deliverAt = finish + this.#delay;
    if (this.#size === this.#ring.length) this.#grow();
    const slot = (this.#head + this.#size) & this.#mask;
    this.#ring[slot] = p;
    const t = this.#times;
    t[TIMES * slot + ENQUEUED] = now;
    t[TIMES * slot + FINISH] = finish;
    t[TIMES * slot + DELIVER] = deliverAt;
    this.#size++;
    this.#queued++;
    this.#queueBytes += bytes;
    this.stats.enqueued++;
    // The timer is armed exactly while packets are undelivered; a new one is never first otherwise.
    if (!this.#timer.armed) this.#timer.arm(deliverAt - now);
    return true;
  }

  /**
   * The share of the link's capacity used since it was created: bytes
   * transmitted over bytes it could have transmitted (0 for an infinitely fast link).
   */
  utilisation(): number {
    const now = this.#clock.now();
    this.#retire(now);
    const capacityBytes =
      this.#trace !== undefined
        ? this.#trace.countBetween(this.#createdAt, now) * TRACE_MTU_BYTES
        : (this.#rate * (now - this.#createdAt)) / 8e6;
    return capacityBytes > 0 && capacityBytes < Infinity ? this.stats.bytesDeparted / capacityBytes : 0;
  }

  /** Stops the link: packets queued or propagating are discarded, later ones refused. */
  close(): void {
    this.#closed = true;
    this.#timer.cancel();
    this.#ring.fill(undefined);
    this.#head = 0;
    this.#size = 0;
    this.#queued = 0;
    this.#queueBytes = 0;
  }

  /** Consumes trace opportunities from `start` for `bytes`; returns when the last byte leaves. */
  #serveTrace(trace: Trace, start: number, bytes: number): number {
    let need = bytes;
    // The rest of the opportunity the previous packet finished in, if this one was already queued then.
    if (start === this.#lastFinish && this.#leftover > 0) {
      const use = need < this.#leftover ? need : this.#leftover;
      need -= use;
      this.#leftover -= use;
    }
    if (need === 0) return start;
    let k = trace.firstAtOrAfter(start);
    if (k < this.#nextOpp) k = this.#nextOpp;
    while (need > TRACE_MTU_BYTES) {
      need -= TRACE_MTU_BYTES;
      k++;
    }
    this.#leftover = TRACE_MTU_BYTES - need;
    this.#nextOpp = k + 1;
    return trace.opportunityUs(k);
  }

  /** Moves packets whose transmission ended by `now` out of the queue. */
  #retire(now: number): void {
    const t = this.#times;
    const stats = this.stats;
    while (this.#queued > 0) {
      const slot = (this.#head + this.#size - this.#queued) & this.#mask;
      const finish = t[TIMES * slot + FINISH]!;
      if (finish > now) return;
      this.#queued--;
      const bytes = this.#ring[slot]!.bytes;
      this.#queueBytes -= bytes;
      stats.departed++;
      stats.bytesDeparted += bytes;
      const delay = finish - t[TIMES * slot + ENQUEUED]!;
      stats.queueDelaySumUs += delay;
      if (delay > stats.queueDelayMaxUs) stats.queueDelayMaxUs = delay;
      if (this.#record) this.queueDelays.push({ atUs: finish, delayUs: delay });
    }
  }

  readonly #onTimer = (): void => {
    const now = this.#clock.now();
    this.#retire(now);
    const stats = this.stats;
    // `#deliver` may enqueue on this link again and grow the ring: nothing of it is held across the call.
    while (this.#size > 0) {
      const slot = this.#head;
      if (this.#times[TIMES * slot + DELIVER]! > now) break;
      const p = this.#ring[slot]!;
      this.#ring[slot] = undefined;
      this.#head = (slot + 1) & this.#mask;
      this.#size--;
      stats.delivered++;
      stats.bytesDelivered += p.bytes;
      this.#deliver(p);
      if (this.#closed) return;
    }
    if (this.#size > 0) this.#timer.arm(this.#times[TIMES * this.#head + DELIVER]! - now);
  };

  #grow(): void {
    const cap = this.#ring.length;
    const ring = new Array<P | undefined>(2 * cap).fill(undefined);
    const times = new Float64Array(TIMES * 2 * cap);
    for (let i = 0; i < this.#size; i++) {
      const from = (this.#head + i) & this.#mask;
      ring[i] = this.#ring[from];
      times.set(this.#times.subarray(TIMES * from, TIMES * from + TIMES), TIMES * i);
    }
    this.#ring = ring;
    this.#times = times;
    this.#mask = 2 * cap - 1;
    this.#head = 0;
  }
}

function positive(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!(v > 0)) throw new InvalidArgumentError(`${name} must be a positive number, got ${v}`);
  return v;
}

function atLeastZero(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!(v >= 0)) throw new InvalidArgumentError(`${name} must be a number >= 0, got ${v}`);
  return v;
}
