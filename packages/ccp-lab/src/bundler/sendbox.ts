/**
 * The sendbox: at the sending site, every packet of the bundle (all traffic
 * to the receiving site) goes through one rate limiter whose rate and window
 * a CCP algorithm in the agent sets, so the queue the bundle would build at
 * the bottleneck builds here instead, where `scheduler` (SFQ) can serve
 * short flows first. To the CCP datapath runtime the bundle is one flow: each
 * congestion ACK from the receivebox that matches an epoch boundary is one
 * "ACK" (`Datapath.invoke`) carrying the epoch's bytes, RTT and rates.
 *
 * The algorithm is Copa by default, as published. Bundler also ran Nimbus
 * on top to detect elastic cross traffic and switch Copa to a
 * TCP-competitive mode; an algorithm doing that plugs in here by name
 * (`algorithm`), with no change to the sendbox.
 */
import { InvalidArgumentError } from '@bertha/core';
import type { CcpHost, Clock, Timer } from '@bertha/ccp';
import type { Packet } from '../link/link.js';
import { EpochMeter, type EpochEstimate } from './epoch-meter.js';
import { periodFor, type InvariantHeader } from './header-hash.js';
import { PacedQueue } from './paced-queue.js';
import type { EpochFeedback } from './receivebox.js';
import type { Scheduler } from './scheduler.js';

/** A packet the boxes can measure: its size on the wire and its invariant headers. */
export interface BundlePacket extends Packet {
  readonly header: InvariantHeader;
}

export interface SendboxOptions<P extends BundlePacket> {
  readonly host: CcpHost;
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
  /** First sampling period. Default 1 (every packet) until rates are known. */
  readonly initialPeriod?: number;
  /** Called with each measurement (the accuracy benchmark records them). */
  readonly onEstimate?: (e: EpochEstimate) => void;
}

export interface SendboxStats {
  /** Packets dropped by the scheduler. */
  readonly drops: number;
  /** Periods sent to the receivebox. */
  readonly periodChanges: number;
  /** Times no congestion ACK came back for a whole window and the window was written off as lost. */
  readonly stalls: number;
}

/** With no RTT measured yet, a closed window is written off after this long, µs. */
const INITIAL_STALL_US = 200_000;

export class Sendbox<P extends BundlePacket> {
  readonly meter: EpochMeter;
  readonly queue: PacedQueue<P>;
  /** The bundle's window and rate as the agent set them (bytes, bytes/s). */
  cwnd: number;
  /** Bytes sent after the latest acknowledged boundary: the window's measure of in-flight data. */
  #inflightBase = 0;
  /** The agent is unreachable: pass traffic through unlimited, as without Bundler. */
  #fallback = false;
  readonly #clock: Clock;
  readonly #host: CcpHost;
  readonly #sid: number;
  readonly #mss: number;
  readonly #out: (p: P) => void;
  readonly #sendPeriod: (n: number) => void;
  readonly #onEstimate: ((e: EpochEstimate) => void) | undefined;
  #closed = false;
  #periodChanges = 0;
  #stalls = 0;
  #lastRtt = 0;
  #agentRate = Infinity;
  readonly #stall: Timer;

  constructor(host: CcpHost, opts: Omit<SendboxOptions<P>, 'host'>) {
    this.#clock = host.clock;
    this.#host = host;
    this.#mss = opts.mss ?? 1448;
    if (!(this.#mss > 0)) throw new InvalidArgumentError(`mss must be positive, got ${this.#mss}`);
    this.cwnd = opts.initCwnd ?? 10 * this.#mss;
    this.#out = opts.out;
    this.#sendPeriod = opts.sendPeriod;
    this.#onEstimate = opts.onEstimate;
    this.meter = new EpochMeter({ initialPeriod: opts.initialPeriod });
    this.queue = new PacedQueue(this.#clock, opts.scheduler, (p) => this.#transmit(p), { gate: () => this.#open() });
    this.#stall = this.#clock.timer(() => this.#onStall());
    this.#sid = host.register(
      {
        setCwnd: (bytes) => {
          this.cwnd = bytes;
          this.#applyRate();
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
    return { drops: this.queue.scheduler.drops, periodChanges: this.#periodChanges, stalls: this.#stalls };
  }

  /** Bundle bytes sent after the latest acknowledged boundary. */
  get inflightBytes(): number {
    return this.meter.sentBytes - this.#inflightBase;
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
    this.#stall.cancel();
    this.#lastRtt = e.rttUs;
    this.#inflightBase = this.meter.sentBytes - e.inflightBytes;
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
      bytesInFlight: e.inflightBytes,
      packetsInFlight: Math.round(e.inflightBytes / mss),
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
    this.#applyRate();
  }

  /** Leaves the agent; queued packets stay where they are. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stall.cancel();
    this.#host.unregister(this.#sid);
  }

  /** The agent's rate (Copa: 2·cwnd/RTT), unlimited while the agent is away. */
  #applyRate(): void {
    const r = this.#fallback ? Infinity : this.#agentRate;
    if (r !== this.queue.rate) this.queue.rate = r;
    else this.queue.kick();
  }

  /** The window has room (or the agent is away). A closed window arms the stall timer. */
  #open(): boolean {
    if (this.#fallback || this.inflightBytes < this.cwnd) return true;
    if (!this.#stall.armed) this.#stall.arm(this.#lastRtt > 0 ? 2 * this.#lastRtt : INITIAL_STALL_US);
    return false;
  }

  /** No boundary of the window came back (all lost, or the receivebox is gone): start a new window. */
  #onStall(): void {
    if (this.#closed) return;
    this.#stalls++;
    this.#inflightBase = this.meter.sentBytes;
    this.queue.kick();
  }

  #transmit(p: P): void {
    this.meter.onSend(p.header, p.bytes, this.#clock.now());
    this.#out(p);
  }
}
