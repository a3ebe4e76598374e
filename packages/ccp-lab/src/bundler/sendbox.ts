/**
 * The sendbox: at the sending site, every packet of the bundle (all traffic
 * to the receiving site) goes through one rate limiter whose window and rate
 * a CCP algorithm in the agent sets, so the queue the bundle would build at
 * the bottleneck builds here instead, where `scheduler` (SFQ) can serve
 * short flows first. To the CCP datapath runtime the bundle is one flow: each
 * congestion ACK from the receivebox that matches an epoch boundary is one
 * "ACK" (`Datapath.invoke`) carrying the epoch's bytes, RTT and rates.
 *
 * The window counts the bytes sent in the last RTT (the sendbox's own
 * record, not the congestion ACKs, which come only a few times per RTT):
 * it reopens smoothly as sends age, so the bundle leaves at about cwnd/RTT
 * without bursts at each congestion ACK, which would read as queueing to a
 * delay-based algorithm.
 *
 * The algorithm is Copa by default, as published (give the host
 * `bundleCopa`). Bundler also ran Nimbus on top to detect elastic cross
 * traffic and switch Copa to a
 * TCP-competitive mode; an algorithm doing that plugs in here by name
 * (`algorithm`), with no change to the sendbox.
 */
import { InvalidArgumentError } from '@bertha/core';
import { copa, type Algorithm, type CcpHost, type Clock, type Timer } from '@bertha/ccp';
import type { Packet } from '../link/link.js';
import { EpochMeter, type EpochEstimate } from './epoch-meter.js';
import { periodFor, type InvariantHeader } from './header-hash.js';
import { PacedQueue } from './paced-queue.js';
import { PacketFifo } from './packet-fifo.js';
import type { EpochFeedback } from './receivebox.js';
import type { Scheduler } from './scheduler.js';

/**
 * Copa as the sendbox runs it (`ccp-sim bundler`, Bundler + SFQ's median
 * slowdown against the status quo's, seeds 1–4: 0.91/0.64/1.12/1.81× with
 * the hold alone, 0.64/0.53/0.93/0.72× with all of this):
 * - holding its window while the bundle is application-limited, and its
 *   velocity while a quarter of the window is unused: otherwise a bundle
 *   offered less than the path holds grew cwnd past two BDPs and passed
 *   the next surge straight into the bottleneck;
 * - within ½–2× the delivery rate × min RTT: the sendbox's feedback loop
 *   is an RTT long and Copa's velocity doubles every RTT it keeps one
 *   direction, so the bundle overshot to two BDPs (a full bottleneck
 *   buffer), then fell to a few packets in one report while its sendbox
 *   queue overflowed;
 * - paced at cwnd/RTT after slow start, the bundle's rate, not Copa's
 *   2·cwnd/RTT: at twice its window's rate the bundle leaves in bursts
 *   whose own queueing Copa reads as d_q, and it settled at 80 % of the
 *   link with its sendbox queue full.
 */
export const bundleCopa = (): Algorithm => copa({ holdWhenAppLimited: true, deliveryBounds: [0.5, 2], pacingGain: 1 });

/** A packet the boxes can measure: its size on the wire and its invariant headers. */
export interface BundlePacket extends Packet {
  readonly header: InvariantHeader;
}

export interface SendboxOptions<P extends BundlePacket> {
  readonly scheduler: Scheduler<P>;
  /** Sends a packet on towards the bottleneck. */
  readonly out: (p: P) => void;
  /** Tells the receivebox a new sampling period (out of band). */
  readonly sendPeriod: (n: number) => void;
  /** Default 'copa'. */
  readonly algorithm?: string;
  /** Default 1448. */
  readonly mss?: number;
  /** The bundle's window before the agent first answers, bytes. Default 10 × mss. */
  readonly initCwnd?: number;
  /** RTT assumed until the first measurement, µs. Default 100 ms. */
  readonly initialRttUs?: number;
  /** First sampling period. Default 1 (every packet) until rates are known. */
  readonly initialPeriod?: number;
  /** Passed to the `PacedQueue`: 0 (the default) in the simulator, a few ms on a real event loop. */
  readonly catchUpUs?: number;
  /** Called with each measurement (the accuracy benchmark records them). */
  readonly onEstimate?: (e: EpochEstimate) => void;
}

export interface SendboxStats {
  /** Packets dropped by the scheduler. */
  readonly drops: number;
  /** Periods sent to the receivebox. */
  readonly periodChanges: number;
}

/** One transmission, kept for an RTT to count what is in flight. */
interface Sent extends Packet {
  readonly atUs: number;
}

export class Sendbox<P extends BundlePacket> {
  readonly meter: EpochMeter;
  readonly queue: PacedQueue<P>;
  /** The bundle's window as the agent set it, bytes. */
  cwnd: number;
  /** Transmissions of the last RTT; their bytes are the window's measure of in-flight data. */
  readonly #recent = new PacketFifo<Sent>();
  /** The agent is unreachable: pass traffic through unlimited, as without Bundler. */
  #fallback = false;
  #rtt: number;
  #agentRate = Infinity;
  #periodChanges = 0;
  #closed = false;
  readonly #clock: Clock;
  readonly #host: CcpHost;
  readonly #sid: number;
  readonly #mss: number;
  readonly #out: (p: P) => void;
  readonly #sendPeriod: (n: number) => void;
  readonly #onEstimate: ((e: EpochEstimate) => void) | undefined;
  /** Kicks the queue when the oldest send of a full window ages out. */
  readonly #reopen: Timer;

  constructor(host: CcpHost, opts: SendboxOptions<P>) {
    this.#clock = host.clock;
    this.#host = host;
    this.#mss = opts.mss ?? 1448;
    if (!(this.#mss > 0)) throw new InvalidArgumentError(`mss must be positive, got ${this.#mss}`);
    this.cwnd = opts.initCwnd ?? 10 * this.#mss;
    this.#rtt = opts.initialRttUs ?? 100_000;
    this.#out = opts.out;
    this.#sendPeriod = opts.sendPeriod;
    this.#onEstimate = opts.onEstimate;
    this.meter = new EpochMeter({ initialPeriod: opts.initialPeriod });
    this.queue = new PacedQueue(this.#clock, opts.scheduler, (p) => this.#transmit(p), { gate: () => this.#open(), catchUpUs: opts.catchUpUs });
    this.#reopen = this.#clock.timer(() => this.queue.kick());
    this.#sid = host.register(
      {
        setCwnd: (bytes) => {
          this.cwnd = bytes;
          this.queue.kick();
        },
        setRate: (r) => {
          this.#agentRate = r;
          this.#applyRate();
        },
        fallback: (active) => {
          this.#fallback = active;
          this.#applyRate();
        },
      },
      { initCwnd: this.cwnd, mss: this.#mss, srcIp: 0, srcPort: 0, dstIp: 0, dstPort: 0, algorithm: opts.algorithm ?? 'copa' },
    );
  }

  get stats(): SendboxStats {
    return { drops: this.queue.scheduler.drops, periodChanges: this.#periodChanges };
  }

  /** Bundle bytes sent in the last RTT. */
  get inflightBytes(): number {
    this.#age(this.#clock.now());
    return this.#recent.bytes;
  }

  /** A packet of flow `flow` from the sending site; false if the scheduler dropped it. */
  enqueue(p: P, flow: number): boolean {
    if (this.#closed) return false;
    return this.queue.enqueue(p, flow);
  }

  /** A congestion ACK from the receivebox. */
  onFeedback(fb: EpochFeedback): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    const e = this.meter.onFeedback(fb, now);
    if (e === undefined) return;
    this.#rtt = e.rttUs;
    this.#onEstimate?.(e);
    const mss = this.#mss;
    this.#host.datapath.invoke(this.#sid, {
      cwnd: this.cwnd,
      rate: this.queue.rate === Infinity ? 0 : this.queue.rate,
      bytesAcked: e.ackedBytes,
      packetsAcked: Math.round(e.ackedBytes / mss),
      lostPktsSample: Math.round(e.lostBytes / mss),
      rttSampleUs: e.rttUs,
      rateIncoming: e.recvRate,
      rateOutgoing: e.sendRate,
      bytesInFlight: this.inflightBytes,
      packetsInFlight: Math.round(this.inflightBytes / mss),
      bytesPending: this.queue.scheduler.bytes,
    });
    if (e.sendRate > 0) {
      const n = periodFor(e.minRttUs, e.sendRate, mss);
      if (n !== this.meter.period) {
        this.meter.setPeriod(n);
        this.#periodChanges++;
        this.#sendPeriod(n);
      }
    }
    this.queue.kick();
  }

  /** Leaves the agent; queued packets stay where they are. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#reopen.cancel();
    this.#host.unregister(this.#sid);
  }

  /** The agent's rate (`bundleCopa`: cwnd/RTT), unlimited while the agent is away. */
  #applyRate(): void {
    const r = this.#fallback ? Infinity : this.#agentRate;
    if (r !== this.queue.rate) this.queue.rate = r;
    else this.queue.kick();
  }

  /** Drops sends older than an RTT from the in-flight count. */
  #age(now: number): void {
    const from = now - this.#rtt;
    for (let s = this.#recent.peek(); s !== undefined && s.atUs <= from; s = this.#recent.peek()) this.#recent.shift();
  }

  /** Room in the window (or the agent is away); a full window reopens when its oldest send ages out. */
  #open(): boolean {
    if (this.#fallback) return true;
    const now = this.#clock.now();
    this.#age(now);
    if (this.#recent.bytes < this.cwnd) return true;
    // Whole µs, at least one: a float deadline a hair early would find the send not yet aged, again and again.
    if (!this.#reopen.armed) this.#reopen.arm(Math.max(1, Math.ceil(this.#recent.peek()!.atUs + this.#rtt - now)));
    return false;
  }

  #transmit(p: P): void {
    const now = this.#clock.now();
    this.meter.onSend(p.header, p.bytes, now);
    this.#recent.push({ bytes: p.bytes, atUs: now });
    this.#out(p);
  }
}
