/**
 * The sending half of the transport, a synchronous state machine: messages
 * in (`write`), packets out (`transmit`), ACKs in (`onAck`). It segments
 * messages, numbers packets, keeps a SACK scoreboard, samples RTT from
 * timestamp echoes (`RttEstimator`, only from echoes of packets it sent and
 * this ACK covers), detects loss (`RackLossDetector`) and a retransmission
 * timeout (RFC 6298, exponential backoff), estimates the delivery rate
 * (`DeliveryRateSampler`), paces at the rate set, never exceeds the window
 * set, and computes every congestion signal of CCP's primitive table for the
 * datapath runtime's per-ACK `invoke`. A peer that acknowledges nothing for
 * `userTimeoutUs` while data is outstanding is declared gone (`onFailure`).
 */
import { RttEstimator } from '@bertha/core';
import type { Primitives } from '../datapath/datapath.js';
import type { Clock, Timer } from './clock.js';
import type { CcpHost } from './ccp-host.js';
import { DeliveryRateSampler } from './delivery-rate.js';
import { Deque } from './deque.js';
import { PeerUnreachableError } from './errors.js';
import { NativeCongestionControl } from './native-cc.js';
import type { NativeControlOptions, ResolvedTransportOptions, TransportSample } from './options.js';
import { ACKED, LOST, OUT, SACKED, type Pkt } from './packet.js';
import { RackLossDetector } from './rack.js';
import { RangeSet } from './range-set.js';
import { decodeAck, encodeData, FLAG_FIRST, FLAG_LAST, type AckFrame, type DataFrame, type PacketSink } from './wire.js';

/** How the sender's window is controlled, once a CCP host is resolved. */
export type SenderControl = NativeControlOptions | { readonly kind: 'ccp'; readonly host: CcpHost; readonly algorithm: string };

/** Addresses reported to the agent in CREATE (IPv4 as a host-order u32). */
export interface FlowEndpoints {
  readonly srcIp: number;
  readonly srcPort: number;
  readonly dstIp: number;
  readonly dstPort: number;
}

export interface SenderStats {
  /** Packets and payload bytes transmitted, retransmissions included. */
  packetsSent: number;
  bytesSent: number;
  retransmits: number;
  /** Retransmission timeouts that fired. */
  timeouts: number;
  /** Packets declared lost (by RACK or a timeout). */
  lostPackets: number;
  acks: number;
  /** ACKs dropped because they did not decode or acknowledged packets never sent. */
  malformedAcks: number;
  /** ACKs whose timestamp echo matched no packet they cover: no RTT sample taken (forged, or echoing an earlier copy). */
  rejectedRttSamples: number;
  /** Payload bytes delivered (acked in order or SACKed). */
  deliveredBytes: number;
  ecnPackets: number;
  ecnBytes: number;
  /** Times the flow fell back to native Reno because the agent was unreachable. */
  fallbacks: number;
  /** RTT estimates, µs (0 before the first sample). */
  srttUs: number;
  minRttUs: number;
  latestRttUs: number;
}

const TWO32 = 2 ** 32;
/** Bulk data is cut into messages of this size, views of one zero-filled buffer. */
const BULK_CHUNK = 65_536;
const ZEROS = new Uint8Array(BULK_CHUNK);
/** Bulk payloads by size, views of `ZEROS` made once: all bulk bytes are zeros, so one view per size serves every packet. */
const zeroViews = new Map<number, Uint8Array>();

function zeroView(size: number): Uint8Array {
  let v = zeroViews.get(size);
  if (v === undefined) zeroViews.set(size, (v = ZEROS.subarray(0, size)));
  return v;
}
/** The pacer may send this far ahead of its schedule, so timer lateness does not cost throughput. */
const PACING_SLACK_US = 1000;
/** Clock granularity G of RFC 6298. */
const CLOCK_G_US = 1000;

export class TransportSender {
  readonly stats: SenderStats = {
    packetsSent: 0,
    bytesSent: 0,
    retransmits: 0,
    timeouts: 0,
    lostPackets: 0,
    acks: 0,
    malformedAcks: 0,
    rejectedRttSamples: 0,
    deliveredBytes: 0,
    ecnPackets: 0,
    ecnBytes: 0,
    fallbacks: 0,
    srttUs: 0,
    minRttUs: 0,
    latestRttUs: 0,
  };
  /** Congestion window and pacing rate in force (bytes, bytes/s; rate 0 = not paced). */
  cwnd: number;
  rate = 0;
  /** Called after each ACK is processed (progress for writers waiting on the buffer or on close). */
  onProgress: (() => void) | undefined;
  /** Called once when the peer is declared gone (user timeout); the sender is closed then. */
  onFailure: ((err: PeerUnreachableError) => void) | undefined;

  readonly #clock: Clock;
  /** Exactly one is set: packets leave encoded, or as frames. */
  readonly #transmit: ((packet: Uint8Array) => void) | undefined;
  readonly #transmitFrame: ((f: DataFrame) => void) | undefined;
  readonly #o: ResolvedTransportOptions;
  readonly #onSample: ((s: TransportSample) => void) | undefined;
  readonly #blocked: (() => boolean) | undefined;
  readonly #host: CcpHost | undefined;
  #sid = 0;
  /** Native control: the configured algorithm, or Reno while CCP is in fallback. */
  #native: NativeCongestionControl | undefined;

  // App data not yet segmented.
  readonly #queue = new Deque<Uint8Array>();
  #queueOffset = 0;
  /** The queue's head is bulk zeros: pushed only into an empty queue, so only ever at the head. */
  #headIsBulk = false;
  #pendingBytes = 0;
  #bulkRemaining = 0;

  // Packets [una, nextSeq), oldest first.
  readonly #pkts = new Deque<Pkt>();
  #una = 0;
  #nextSeq = 0;
  readonly #sacked = new RangeSet();
  #inflightBytes = 0;
  #inflightPkts = 0;
  readonly #lostQueue = new Deque<Pkt>();
  #xmitCounter = 0;
  /** Since when data has been outstanding without the cumulative ACK advancing, µs. */
  #stalledSince = 0;

  readonly #rack = new RackLossDetector();
  readonly #rtt: RttEstimator;
  readonly #rate = new DeliveryRateSampler();
  // Per-ACK scratch, reused rather than allocated per ACK; neither escapes an ACK's handling.
  readonly #ack: AckProgress = { now: 0, tsecr: 0, ackedBytes: 0, ackedPkts: 0, sackBytes: 0, sackPkts: 0, ackedSentUs: -Infinity, echoedSentUs: -Infinity };
  readonly #prims: AckPrimitives = {
    cwnd: 0,
    rate: 0,
    bytesAcked: 0,
    bytesMisordered: 0,
    ecnBytes: 0,
    ecnPackets: 0,
    lostPktsSample: 0,
    packetsAcked: 0,
    packetsMisordered: 0,
    bytesInFlight: 0,
    bytesPending: 0,
    packetsInFlight: 0,
    rateIncoming: 0,
    rateOutgoing: 0,
    rttSampleUs: 0,
    wasTimeout: false,
  };

  // ECN counters last echoed.
  #ceP = 0;
  #ceB = 0;

  #nextSendTime = -Infinity;
  readonly #rtoTimer: Timer;
  readonly #rackTimer: Timer;
  readonly #paceTimer: Timer;
  #pumping = false;
  #closed = false;

  constructor(clock: Clock, transmit: PacketSink<DataFrame>, control: SenderControl, o: ResolvedTransportOptions, extra: { onSample?: (s: TransportSample) => void; endpoints?: FlowEndpoints; blocked?: () => boolean } = {}) {
    this.#clock = clock;
    if (typeof transmit === 'function') this.#transmit = transmit;
    else this.#transmitFrame = transmit.frame;
    this.#o = o;
    this.#onSample = extra.onSample;
    this.#blocked = extra.blocked;
    this.cwnd = o.initCwnd;
    this.#rtt = new RttEstimator({ initialRto: o.initialRtoUs, minRto: o.minRtoUs, maxRto: o.maxRtoUs, granularity: CLOCK_G_US });
    this.#rtoTimer = clock.timer(this.#onRto);
    this.#rackTimer = clock.timer(this.#onRackTimer);
    this.#paceTimer = clock.timer(() => this.#pump());
    if (control.kind === 'native') {
      this.#native = new NativeCongestionControl(control.algorithm, o.mss, o.initCwnd, o.initCwnd, Infinity, control.hystart ?? true);
    } else {
      this.#host = control.host;
      const ep = extra.endpoints ?? { srcIp: 0, srcPort: 0, dstIp: 0, dstPort: 0 };
      this.#sid = control.host.register(
        {
          setCwnd: (bytes) => {
            this.cwnd = bytes;
          },
          setRate: (r) => {
            this.rate = r;
          },
          fallback: (active) => this.#setFallback(active),
        },
        { initCwnd: o.initCwnd, mss: o.mss, algorithm: control.algorithm, ...ep },
      );
    }
  }

  /** The flow's socket id at the CCP datapath (0 for native control). */
  get socketId(): number {
    return this.#sid;
  }

  /** Whether native Reno stands in for an unreachable agent. */
  get inFallback(): boolean {
    return this.#host !== undefined && this.#native !== undefined;
  }

  /** App bytes not yet sent once (Infinity while a backlogged bulk transfer runs). */
  get pendingBytes(): number {
    return this.#pendingBytes + this.#bulkRemaining;
  }

  get inflightBytes(): number {
    return this.#inflightBytes;
  }

  /** Nothing queued and everything sent was acknowledged. */
  get idle(): boolean {
    return this.#una === this.#nextSeq && this.pendingBytes === 0;
  }

  /** Current retransmission timeout, backoff included, µs. */
  get rtoUs(): number {
    return this.#rtt.rto;
  }

  /** Payload bytes written and not yet acknowledged (SACKed bytes count as received). */
  get unackedBytes(): number {
    let n = this.pendingBytes;
    for (let i = 0; i < this.#pkts.size; i++) {
      const p = this.#pkts.at(i);
      if (p.state !== SACKED) n += p.size;
    }
    return n;
  }

  /** Queues one message. The sender keeps `msg` (it is not copied) until it is acknowledged. */
  write(msg: Uint8Array): void {
    this.writeBatch([msg]);
  }

  /** Queues messages, then sends what is allowed once (not once per message). */
  writeBatch(msgs: readonly Uint8Array[]): void {
    if (this.#closed) return;
    for (const m of msgs) {
      this.#queue.push(m);
      this.#pendingBytes += m.byteLength;
    }
    this.#pump();
  }

  /** Queues `bytes` of zeros as 64 KiB messages without materialising them (Infinity: send forever). */
  writeBulk(bytes: number): void {
    if (this.#closed || !(bytes > 0)) return;
    this.#bulkRemaining += bytes;
    this.#pump();
  }

  /** Sends what is now allowed: the owner calls this when `blocked` stops holding. */
  resume(): void {
    this.#pump();
  }

  /** Handles one ACK packet; malformed ones are counted and dropped. */
  onAck(packet: Uint8Array): void {
    if (this.#closed) return;
    const a = decodeAck(packet);
    if (a === undefined) this.stats.malformedAcks++;
    else this.onAckFrame(a);
  }

  /** Handles one ACK handed over as a frame (see `PacketSink`); as `onAck` otherwise. */
  onAckFrame(a: AckFrame): void {
    if (this.#closed) return;
    if (!this.#acknowledgesSent(a)) {
      this.stats.malformedAcks++;
      return;
    }
    this.stats.acks++;
    const now = this.#clock.now();
    this.#rack.beginAck();
    this.#rate.beginAck();
    const ack = this.#ack;
    ack.now = now;
    ack.tsecr = a.tsecr;
    ack.ackedBytes = ack.ackedPkts = ack.sackBytes = ack.sackPkts = 0;
    ack.ackedSentUs = ack.echoedSentUs = -Infinity;
    const unaAdvanced = this.#applyCumAck(a.cumAck, ack);
    this.#applySacks(a.blocks);
    this.#rttFromEcho(now, ack);
    const p = this.#prims;
    this.#ecnDelta(a, p);
    if (this.#rate.endAck(this.#rtt.minRtt)) this.stats.deliveredBytes = this.#rate.delivered;

    const lost = this.#detectLosses(now);
    p.bytesAcked = ack.ackedBytes;
    p.bytesMisordered = ack.sackBytes;
    p.packetsAcked = ack.ackedPkts;
    p.packetsMisordered = ack.sackPkts;
    this.#control(now, this.#fillPrims(lost, false), ack.ackedSentUs);

    if (unaAdvanced) {
      this.#stalledSince = now;
      if (this.#una === this.#nextSeq) this.#rtoTimer.cancel();
      else this.#armRto(now);
    }
    this.#pump();
    this.onProgress?.();
  }

  /** Its blocks are non-empty and above its cumulative ACK (as `decodeAck` checks bytes), and it covers only packets sent. */
  #acknowledgesSent(a: AckFrame): boolean {
    const next = this.#nextSeq;
    const cum = a.cumAck;
    if (cum > next) return false;
    const b = a.blocks;
    for (let i = 0; i < b.length; i += 2) {
      const start = b[i]!;
      const end = b[i + 1]!;
      if (!(start > cum && end > start && end <= next)) return false;
    }
    return true;
  }

  /** Takes what the cumulative ACK newly covers; whether it advanced. */
  #applyCumAck(cum: number, ack: AckProgress): boolean {
    if (cum <= this.#una) return false;
    while (this.#una < cum) {
      const p = this.#pkts.shift()!;
      this.#una++;
      if (p.state === OUT) {
        this.#inflightBytes -= p.size;
        this.#inflightPkts--;
      }
      // As Linux's bytes_acked: everything the cumulative ACK newly covers, SACKed earlier or not.
      ack.ackedBytes += p.size;
      ack.ackedPkts++;
      this.#covered(p, ack);
      if (p.state !== SACKED) this.#delivered(p, ack.now);
      p.state = ACKED;
    }
    this.#sacked.dropBelow(cum);
    return true;
  }

  #applySacks(b: readonly number[]): void {
    for (let i = 0; i < b.length; i += 2) this.#sacked.add(Math.max(b[i]!, this.#una), b[i + 1]!, this.#onSacked);
  }

  // Bound once: called for each newly SACKed range of the ACK in `#ack`.
  readonly #onSacked = (s: number, e: number): void => {
    const ack = this.#ack;
    for (let seq = s; seq < e; seq++) {
      const p = this.#pkts.at(seq - this.#una);
      if (p.state === OUT) {
        this.#inflightBytes -= p.size;
        this.#inflightPkts--;
      }
      p.state = SACKED;
      ack.sackBytes += p.size;
      ack.sackPkts++;
      this.#covered(p, ack);
      this.#delivered(p, ack.now);
    }
  };

  /** `p` is newly covered by this ACK: its send time may end a recovery period, and may be what the ACK echoes. */
  #covered(p: Pkt, ack: AckProgress): void {
    if (p.xmitTime > ack.ackedSentUs) ack.ackedSentUs = p.xmitTime;
    if (tsval(p.xmitTime) === ack.tsecr && p.xmitTime > ack.echoedSentUs) ack.echoedSentUs = p.xmitTime;
  }

  #delivered(p: Pkt, now: number): void {
    this.#rate.onDelivered(p, now);
    this.#rack.onDelivered(p, now, this.#rtt.minRtt);
  }

  /**
   * An RTT sample from the timestamp echo (valid for retransmissions too),
   * taken only when the echo is the send time of a packet this ACK covers:
   * an echo never sent, in the future, or older than the packets it
   * acknowledges (a forged or garbage ACK) must not move the RTO.
   */
  #rttFromEcho(now: number, ack: AckProgress): void {
    if (ack.ackedPkts + ack.sackPkts === 0) return;
    if (ack.echoedSentUs === -Infinity) {
      this.stats.rejectedRttSamples++;
      return;
    }
    this.#rtt.sample(now - ack.echoedSentUs);
    const s = this.stats;
    s.srttUs = this.#rtt.srtt ?? 0;
    s.minRttUs = this.#rtt.minRtt;
    s.latestRttUs = this.#rtt.latest;
  }

  /** Sets the ACK's new ECN marks in `p`: the counts are cumulative, and a reordered (older) ACK reads as no change. */
  #ecnDelta(a: AckFrame, p: AckPrimitives): void {
    // Differences mod 2^32 of counts in [0, 2^32), without a floating-point `%` per ACK.
    let packets = a.cePackets - this.#ceP;
    if (packets < 0) packets += TWO32;
    let bytes = a.ceBytes - this.#ceB;
    if (bytes < 0) bytes += TWO32;
    if (packets >= TWO32 / 2 || bytes >= TWO32 / 2) {
      p.ecnPackets = p.ecnBytes = 0;
      return;
    }
    this.#ceP = a.cePackets;
    this.#ceB = a.ceBytes;
    this.stats.ecnPackets += packets;
    this.stats.ecnBytes += bytes;
    p.ecnPackets = packets;
    p.ecnBytes = bytes;
  }

  /** Stops timers and ends the flow at the CCP agent. Queued data is dropped. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#rtoTimer.cancel();
    this.#rackTimer.cancel();
    this.#paceTimer.cancel();
    if (this.#host !== undefined) this.#host.unregister(this.#sid);
  }

  #detectLosses(now: number): number {
    return this.#rack.detect(now, this.#rtt.minRtt, this.#rtt.srtt ?? 0, this.#markLostFn, this.#armRack);
  }

  // Bound once: detection runs on every ACK.
  readonly #markLostFn = (p: Pkt): void => this.#markLost(p);
  readonly #armRack = (delayUs: number): void => this.#rackTimer.arm(delayUs);

  #markLost(p: Pkt): void {
    p.state = LOST;
    this.#inflightBytes -= p.size;
    this.#inflightPkts--;
    this.#lostQueue.push(p);
    this.stats.lostPackets++;
  }

  readonly #onRackTimer = (): void => {
    if (this.#closed) return;
    const now = this.#clock.now();
    const lost = this.#detectLosses(now);
    if (lost === 0) return;
    this.#control(now, this.#lossOnly(lost, false));
    this.#pump();
  };

  readonly #onRto = (): void => {
    if (this.#closed || this.#una === this.#nextSeq) return;
    const now = this.#clock.now();
    if (now - this.#stalledSince >= this.#o.userTimeoutUs) {
      this.#fail(now);
      return;
    }
    this.stats.timeouts++;
    this.#rtt.backoff();
    // Everything not SACKed is presumed lost, and resent in sequence order.
    this.#lostQueue.clear();
    this.#rack.clear();
    this.#rackTimer.cancel();
    let lost = 0;
    for (let i = 0; i < this.#pkts.size; i++) {
      const p = this.#pkts.at(i);
      if (p.state === OUT) {
        this.#markLost(p);
        lost++;
      } else if (p.state === LOST) {
        this.#lostQueue.push(p);
      }
    }
    // As the kernel does under CCP: the loss window at once, the agent decides what follows.
    this.cwnd = Math.min(this.cwnd, this.#o.initCwnd);
    this.#nextSendTime = -Infinity;
    this.#control(now, this.#lossOnly(lost, true));
    this.#armRto(now);
    this.#pump();
  };

  /** The retransmission timer, never later than the user timeout. */
  #armRto(now: number): void {
    this.#rtoTimer.arm(Math.min(this.rtoUs, this.#stalledSince + this.#o.userTimeoutUs - now));
  }

  #fail(now: number): void {
    const err = new PeerUnreachableError(
      `nothing was acknowledged for ${Math.round((now - this.#stalledSince) / 1000)} ms (userTimeoutUs ${this.#o.userTimeoutUs}); ${this.unackedBytes} bytes were not acknowledged`,
      this.unackedBytes,
    );
    this.close();
    this.onFailure?.(err);
  }

  /** The primitives of a loss found without an ACK (the RACK timer, a timeout): nothing acked, SACKed or marked. */
  #lossOnly(lost: number, timeout: boolean): Primitives {
    const p = this.#prims;
    p.bytesAcked = p.bytesMisordered = p.packetsAcked = p.packetsMisordered = p.ecnBytes = p.ecnPackets = 0;
    return this.#fillPrims(lost, timeout);
  }

  /** Completes `#prims` with the flow's state; the per-ACK fields are set by the caller. */
  #fillPrims(lost: number, timeout: boolean): Primitives {
    const p = this.#prims;
    p.cwnd = this.cwnd;
    p.rate = this.rate;
    p.lostPktsSample = lost;
    p.bytesInFlight = this.#inflightBytes;
    p.bytesPending = this.pendingBytes;
    p.packetsInFlight = this.#inflightPkts;
    p.rateIncoming = this.#rate.rateIncoming;
    p.rateOutgoing = this.#rate.rateOutgoing;
    p.rttSampleUs = this.#rtt.latest;
    p.wasTimeout = timeout;
    return p;
  }

  /** Runs congestion control for one ACK or loss event (`ackedSentUs`: see `NativeAckInput`). */
  #control(now: number, p: Primitives, ackedSentUs = -Infinity): void {
    const host = this.#host;
    // Invoke even in fallback: the runtime re-sends CREATE and notices the agent's return from here.
    if (host !== undefined) host.datapath.invoke(this.#sid, p);
    const n = this.#native;
    if (n !== undefined) {
      if (p.wasTimeout === true) {
        n.onTimeout(now);
      } else {
        n.onAck({
          nowUs: now,
          ackedBytes: p.bytesAcked ?? 0,
          ackedSentUs,
          lostPackets: p.lostPktsSample ?? 0,
          lostSentUs: this.#rack.lostSentUs,
          srttUs: this.#rtt.srtt ?? 0,
          rttUs: (p.packetsAcked ?? 0) + (p.packetsMisordered ?? 0) > 0 ? (p.rttSampleUs ?? 0) : 0,
        });
      }
      this.cwnd = n.cwnd;
    }
    const cb = this.#onSample;
    if (cb !== undefined) {
      cb({
        tUs: now,
        cwnd: this.cwnd,
        rate: this.rate,
        rttUs: this.#rtt.latest,
        srttUs: this.#rtt.srtt ?? 0,
        inflight: this.#inflightBytes,
        deliveredBytes: this.stats.deliveredBytes,
        deliveryRate: Math.min(this.#rate.rateIncoming, this.#rate.rateOutgoing),
        lostPackets: this.stats.lostPackets,
        fallback: this.inFallback,
      });
    }
  }

  #setFallback(active: boolean): void {
    if (active) {
      this.stats.fallbacks++;
      // Continue from the current window, in congestion avoidance.
      this.#native = new NativeCongestionControl('reno', this.#o.mss, this.#o.initCwnd, this.cwnd, this.cwnd);
    } else {
      this.#native = undefined;
    }
  }

  /** Size of the next new segment, or -1 when there is no app data. */
  #nextNewSize(): number {
    let m = this.#queue.peek();
    if (m === undefined) {
      if (this.#bulkRemaining <= 0) return -1;
      const n = Math.min(BULK_CHUNK, this.#bulkRemaining);
      this.#bulkRemaining -= n;
      m = zeroView(n);
      this.#queue.push(m);
      this.#headIsBulk = true;
      this.#pendingBytes += n;
    }
    return Math.min(this.#o.mss, m.byteLength - this.#queueOffset);
  }

  /** Sends what window, pacing and data allow. */
  #pump(): void {
    if (this.#pumping || this.#closed) return;
    this.#pumping = true;
    try {
      const now = this.#clock.now();
      for (;;) {
        let retx = this.#lostQueue.peek();
        while (retx !== undefined && retx.state !== LOST) {
          this.#lostQueue.shift();
          retx = this.#lostQueue.peek();
        }
        // The local send queue is full: a packet queued here is not on the wire, so it must not count as in flight.
        if (this.#blocked?.() === true) break;
        const size = retx !== undefined ? retx.size : this.#nextNewSize();
        if (size < 0) break;
        if (this.#inflightPkts > 0 && this.#inflightBytes + size > this.cwnd) break;
        if (this.rate > 0) {
          if (now < this.#nextSendTime - PACING_SLACK_US) {
            this.#paceTimer.arm(this.#nextSendTime - PACING_SLACK_US - now);
            break;
          }
          this.#nextSendTime = Math.max(this.#nextSendTime, now - PACING_SLACK_US) + (size * 1e6) / this.rate;
        }
        if (retx !== undefined) {
          this.#lostQueue.shift();
          retx.retransmitted = true;
          this.stats.retransmits++;
          this.#send(retx, now);
        } else {
          // Data outstanding from now on: the user timeout counts from here.
          if (this.#una === this.#nextSeq) this.#stalledSince = now;
          this.#send(this.#newPacket(size), now);
        }
      }
      if (this.#una !== this.#nextSeq && !this.#rtoTimer.armed) this.#armRto(now);
    } finally {
      this.#pumping = false;
    }
  }

  #newPacket(size: number): Pkt {
    const m = this.#queue.peek()!;
    const len = m.byteLength;
    const off = this.#queueOffset;
    // A message that fits one packet is its payload as it is: no view per packet.
    const payload = off === 0 && size === len ? m : this.#headIsBulk ? zeroView(size) : m.subarray(off, off + size);
    let flags = off === 0 ? FLAG_FIRST : 0;
    if (off + size === len) {
      flags |= FLAG_LAST;
      this.#queue.shift();
      this.#headIsBulk = false;
      this.#queueOffset = 0;
    } else {
      this.#queueOffset = off + size;
    }
    this.#pendingBytes -= size;
    const p: Pkt = {
      seq: this.#nextSeq++,
      payload,
      flags,
      size,
      state: OUT,
      retransmitted: false,
      xmitTime: 0,
      xmitIdx: 0,
      delivered: 0,
      deliveredTime: 0,
      firstSentTime: 0,
    };
    this.#pkts.push(p);
    return p;
  }

  #send(p: Pkt, now: number): void {
    this.#rate.onSend(p, now, this.#inflightPkts === 0);
    p.state = OUT;
    p.xmitTime = now;
    p.xmitIdx = ++this.#xmitCounter;
    this.#inflightBytes += p.size;
    this.#inflightPkts++;
    this.#rack.onSend(p);
    this.stats.packetsSent++;
    this.stats.bytesSent += p.size;
    const transmit = this.#transmit;
    if (transmit !== undefined) transmit(encodeData(p.seq, p.flags, tsval(now), p.payload));
    else this.#transmitFrame!({ seq: p.seq, flags: p.flags, tsval: tsval(now), payload: p.payload });
  }
}

/** The timestamp a packet sent at `us` carries: whole µs mod 2^32, as the wire's u32 holds it. */
function tsval(us: number): number {
  return Math.floor(us) >>> 0;
}

/** Every field of `Primitives`, writable: one object per sender, refilled for each ACK or loss event. */
type AckPrimitives = { -readonly [K in keyof Primitives]-?: NonNullable<Primitives[K]> };

/** What one ACK newly covers, gathered while it is applied (one object per sender, reset per ACK). */
interface AckProgress {
  now: number;
  tsecr: number;
  ackedBytes: number;
  ackedPkts: number;
  sackBytes: number;
  sackPkts: number;
  /** Send time of the most recently sent packet it covers: whether it ends a recovery period. */
  ackedSentUs: number;
  /** Send time of the covered packet whose timestamp it echoes, if any. */
  echoedSentUs: number;
}
