/**
 * The sending half of the transport, a synchronous state machine: messages
 * in (`write`), packets out (`transmit`), ACKs in (`onAck`). It segments
 * messages, numbers packets, keeps a SACK scoreboard, samples RTT from
 * timestamp echoes, detects loss with RACK (RFC 8985) and a retransmission
 * timeout (RFC 6298, exponential backoff), estimates the delivery rate
 * (draft-cheng-iccrg-delivery-rate-estimation), paces at the rate set, never
 * exceeds the window set, and computes every congestion signal of CCP's
 * primitive table for the datapath runtime's per-ACK `invoke`.
 */
import type { Primitives } from '../datapath/datapath.js';
import type { Clock, Timer } from './clock.js';
import type { CcpHost } from './ccp-host.js';
import { NativeCongestionControl, type NativeAlgorithm } from './native-cc.js';
import type { ResolvedTransportOptions, TransportSample } from './options.js';
import { RangeSet } from './range-set.js';
import { decodeAck, encodeData, FLAG_FIRST, FLAG_LAST } from './wire.js';

/** How the sender's window is controlled, once a CCP host is resolved. */
export type SenderControl = { readonly kind: 'native'; readonly algorithm: NativeAlgorithm } | { readonly kind: 'ccp'; readonly host: CcpHost; readonly algorithm: string };

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

const OUT = 0;
const SACKED = 1;
const LOST = 2;
const ACKED = 3;

interface Pkt {
  readonly seq: number;
  readonly payload: Uint8Array;
  readonly flags: number;
  readonly size: number;
  state: number;
  retransmitted: boolean;
  xmitTime: number;
  /** Transmission counter at the last (re)transmission: RACK's send order. */
  xmitIdx: number;
  // Delivery-rate state at transmission (draft-cheng §3.2).
  delivered: number;
  deliveredTime: number;
  firstSentTime: number;
}

/** A simple array deque with a moving head, compacted now and then. */
class Deque<T> {
  items: T[] = [];
  head = 0;
  get size(): number {
    return this.items.length - this.head;
  }
  push(x: T): void {
    this.items.push(x);
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  at(i: number): T {
    return this.items[this.head + i]!;
  }
  shift(): T | undefined {
    const x = this.items[this.head];
    if (x === undefined) return undefined;
    this.items[this.head++] = undefined as T;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 4096 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

const TWO32 = 2 ** 32;
/** Bulk data is cut into messages of this size, views of one zero-filled buffer. */
const BULK_CHUNK = 65_536;
const ZEROS = new Uint8Array(BULK_CHUNK);
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

  readonly #clock: Clock;
  readonly #transmit: (packet: Uint8Array) => void;
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
  /** Transmissions in send order, for RACK: a packet and the xmitIdx it had then. */
  readonly #xmitQueue = new Deque<Pkt>();
  readonly #xmitQueueIdx = new Deque<number>();
  #xmitCounter = 0;

  // RACK.
  #rackIdx = 0;
  #rackRtt = 0;
  /** Send time of the most recently sent packet declared lost by the last detection, µs. */
  #lostSentUs = -Infinity;
  #reorderingSeen = false;

  // RTT (RFC 6298).
  #srtt = 0;
  #rttvar = 0;
  #rto: number;
  #backoff = 1;
  #minRtt = Infinity;
  #latestRtt = 0;

  // Delivery rate (draft-cheng).
  #delivered = 0;
  #deliveredTime = 0;
  #firstSentTime = 0;
  #rateIncoming = 0;
  #rateOutgoing = 0;

  // ECN counters last echoed.
  #ceP = 0;
  #ceB = 0;

  #nextSendTime = -Infinity;
  readonly #rtoTimer: Timer;
  readonly #rackTimer: Timer;
  readonly #paceTimer: Timer;
  #pumping = false;
  #closed = false;

  constructor(clock: Clock, transmit: (packet: Uint8Array) => void, control: SenderControl, o: ResolvedTransportOptions, extra: { onSample?: (s: TransportSample) => void; endpoints?: FlowEndpoints; blocked?: () => boolean } = {}) {
    this.#clock = clock;
    this.#transmit = transmit;
    this.#o = o;
    this.#onSample = extra.onSample;
    this.#blocked = extra.blocked;
    this.cwnd = o.initCwnd;
    this.#rto = o.initialRtoUs;
    this.#rtoTimer = clock.timer(this.#onRto);
    this.#rackTimer = clock.timer(this.#onRackTimer);
    this.#paceTimer = clock.timer(() => this.#pump());
    if (control.kind === 'native') {
      this.#native = new NativeCongestionControl(control.algorithm, o.mss, o.initCwnd);
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

  /** Smoothed RTT and current retransmission timeout, µs. */
  get rtoUs(): number {
    return Math.min(this.#rto * this.#backoff, this.#o.maxRtoUs);
  }

  /** Queues one message. The sender keeps `msg` (it is not copied) until it is acknowledged. */
  write(msg: Uint8Array): void {
    if (this.#closed) return;
    this.#queue.push(msg);
    this.#pendingBytes += msg.byteLength;
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
    if (a === undefined || a.cumAck > this.#nextSeq || !a.blocks.every((x) => x <= this.#nextSeq)) {
      this.stats.malformedAcks++;
      return;
    }
    this.stats.acks++;
    const now = this.#clock.now();
    const rackBefore = this.#rackIdx;
    let ackedBytes = 0;
    let ackedPkts = 0;
    let sackBytes = 0;
    let sackPkts = 0;
    // Send time of the most recently sent packet this ACK covers: whether it ends a recovery period.
    let ackedSentUs = -Infinity;
    // Rate sample: the most recently sent delivered packet's state.
    let priorDelivered = -1;
    let sendElapsed = 0;
    let ackElapsed = 0;
    const deliver = (p: Pkt): void => {
      this.#delivered += p.size;
      this.#deliveredTime = now;
      if (p.delivered > priorDelivered || (p.delivered === priorDelivered && p.xmitTime > this.#firstSentTime)) {
        priorDelivered = p.delivered;
        sendElapsed = p.xmitTime - p.firstSentTime;
        ackElapsed = now - p.deliveredTime;
        this.#firstSentTime = p.xmitTime;
      }
      if (p.xmitIdx > this.#rackIdx) {
        this.#rackIdx = p.xmitIdx;
        const rtt = now - p.xmitTime;
        // A retransmitted packet acked sooner than any RTT was acked for an earlier transmission.
        if (!p.retransmitted || rtt >= this.#minRtt) this.#rackRtt = rtt;
      } else if (!p.retransmitted && p.xmitIdx < rackBefore) {
        this.#reorderingSeen = true;
      }
    };

    const cum = a.cumAck;
    const unaAdvanced = cum > this.#una;
    while (this.#una < cum) {
      const p = this.#pkts.shift()!;
      this.#una++;
      if (p.state === OUT) {
        this.#inflightBytes -= p.size;
        this.#inflightPkts--;
      }
      // As Linux's bytes_acked: everything the cumulative ACK newly covers, SACKed earlier or not.
      ackedBytes += p.size;
      if (p.xmitTime > ackedSentUs) ackedSentUs = p.xmitTime;
      ackedPkts++;
      if (p.state !== SACKED) deliver(p);
      p.state = ACKED;
    }
    if (unaAdvanced) this.#sacked.dropBelow(cum);
    const b = a.blocks;
    for (let i = 0; i < b.length; i += 2) {
      const lo = Math.max(b[i]!, this.#una);
      this.#sacked.add(lo, b[i + 1]!, (s, e) => {
        for (let seq = s; seq < e; seq++) {
          const p = this.#pkts.at(seq - this.#una);
          if (p.state === OUT) {
            this.#inflightBytes -= p.size;
            this.#inflightPkts--;
          }
          p.state = SACKED;
          if (p.xmitTime > ackedSentUs) ackedSentUs = p.xmitTime;
          sackBytes += p.size;
          sackPkts++;
          deliver(p);
        }
      });
    }
    // RTT from the timestamp echo: valid for retransmissions too.
    if (ackedPkts + sackPkts > 0) {
      const rtt = (Math.floor(now) - a.tsecr + TWO32) % TWO32;
      if (rtt < TWO32 / 2) this.#rttSample(rtt);
    }

    // ECN counts are cumulative; a reordered (older) ACK reads as no change.
    let ecnPackets = (a.cePackets - this.#ceP + TWO32) % TWO32;
    let ecnBytes = (a.ceBytes - this.#ceB + TWO32) % TWO32;
    if (ecnPackets >= TWO32 / 2 || ecnBytes >= TWO32 / 2) {
      ecnPackets = ecnBytes = 0;
    } else {
      this.#ceP = a.cePackets;
      this.#ceB = a.ceBytes;
      this.stats.ecnPackets += ecnPackets;
      this.stats.ecnBytes += ecnBytes;
    }

    if (priorDelivered >= 0) {
      this.stats.deliveredBytes = this.#delivered;
      const delivered = this.#delivered - priorDelivered;
      const interval = Math.max(sendElapsed, ackElapsed);
      // Shorter than min RTT: ACK compression or a stretched ACK, not a rate (draft-cheng §3.3).
      if (interval > 0 && interval >= this.#minRtt) {
        this.#rateIncoming = ackElapsed > 0 ? (delivered * 1e6) / ackElapsed : this.#rateIncoming;
        this.#rateOutgoing = sendElapsed > 0 ? (delivered * 1e6) / sendElapsed : this.#rateIncoming;
      }
    }

    const lost = this.#detectLosses(now);
    this.#control(
      now,
      {
        cwnd: this.cwnd,
        rate: this.rate,
        bytesAcked: ackedBytes,
        bytesMisordered: sackBytes,
        ecnBytes,
        ecnPackets,
        lostPktsSample: lost,
        packetsAcked: ackedPkts,
        packetsMisordered: sackPkts,
        bytesInFlight: this.#inflightBytes,
        bytesPending: this.pendingBytes,
        packetsInFlight: this.#inflightPkts,
        rateIncoming: this.#rateIncoming,
        rateOutgoing: this.#rateOutgoing,
        rttSampleUs: this.#latestRtt,
        wasTimeout: false,
      },
      ackedSentUs,
    );

    if (unaAdvanced) {
      if (this.#una === this.#nextSeq) this.#rtoTimer.cancel();
      else this.#rtoTimer.arm(this.rtoUs);
    }
    this.#pump();
    this.onProgress?.();
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

  #rttSample(rtt: number): void {
    this.#latestRtt = rtt;
    if (rtt < this.#minRtt) this.#minRtt = rtt;
    if (this.#srtt === 0) {
      this.#srtt = rtt;
      this.#rttvar = rtt / 2;
    } else {
      this.#rttvar = 0.75 * this.#rttvar + 0.25 * Math.abs(this.#srtt - rtt);
      this.#srtt = 0.875 * this.#srtt + 0.125 * rtt;
    }
    this.#rto = Math.min(Math.max(this.#srtt + Math.max(CLOCK_G_US, 4 * this.#rttvar), this.#o.minRtoUs), this.#o.maxRtoUs);
    this.#backoff = 1;
    const s = this.stats;
    s.srttUs = this.#srtt;
    s.minRttUs = this.#minRtt;
    s.latestRttUs = rtt;
  }

  /** RACK: a packet sent before the newest delivered one is lost once it is `rtt + reoWnd` old. */
  #detectLosses(now: number): number {
    this.#lostSentUs = -Infinity;
    if (this.#rackIdx === 0) return 0;
    const reoWnd = this.#reorderingSeen ? Math.min(this.#minRtt / 4, this.#srtt) : 0;
    const q = this.#xmitQueue;
    const qi = this.#xmitQueueIdx;
    let lost = 0;
    for (;;) {
      const p = q.peek();
      if (p === undefined) break;
      const idx = qi.peek()!;
      if (p.state !== OUT || p.xmitIdx !== idx) {
        q.shift();
        qi.shift();
        continue;
      }
      if (idx >= this.#rackIdx) break;
      const deadline = p.xmitTime + this.#rackRtt + reoWnd;
      if (now < deadline) {
        this.#rackTimer.arm(deadline - now);
        break;
      }
      q.shift();
      qi.shift();
      this.#markLost(p);
      lost++;
    }
    return lost;
  }

  #markLost(p: Pkt): void {
    p.state = LOST;
    if (p.xmitTime > this.#lostSentUs) this.#lostSentUs = p.xmitTime;
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
    this.stats.timeouts++;
    this.#backoff *= 2;
    // Everything not SACKed is presumed lost, and resent in sequence order.
    this.#lostQueue.clear();
    this.#xmitQueue.clear();
    this.#xmitQueueIdx.clear();
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
    this.#rtoTimer.arm(this.rtoUs);
    this.#pump();
  };

  #lossOnly(lost: number, timeout: boolean): Primitives {
    return {
      cwnd: this.cwnd,
      rate: this.rate,
      lostPktsSample: lost,
      bytesInFlight: this.#inflightBytes,
      bytesPending: this.pendingBytes,
      packetsInFlight: this.#inflightPkts,
      rateIncoming: this.#rateIncoming,
      rateOutgoing: this.#rateOutgoing,
      rttSampleUs: this.#latestRtt,
      wasTimeout: timeout,
    };
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
          lostSentUs: this.#lostSentUs,
          srttUs: this.#srtt,
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
        rttUs: this.#latestRtt,
        srttUs: this.#srtt,
        inflight: this.#inflightBytes,
        deliveredBytes: this.stats.deliveredBytes,
        deliveryRate: Math.min(this.#rateIncoming, this.#rateOutgoing),
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
      m = ZEROS.subarray(0, n);
      this.#queue.push(m);
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
          this.#send(this.#newPacket(size), now);
        }
      }
      if (this.#una !== this.#nextSeq && !this.#rtoTimer.armed) this.#rtoTimer.arm(this.rtoUs);
    } finally {
      this.#pumping = false;
    }
  }

  #newPacket(size: number): Pkt {
    const m = this.#queue.peek()!;
    const off = this.#queueOffset;
    const payload = m.subarray(off, off + size);
    let flags = off === 0 ? FLAG_FIRST : 0;
    if (off + size === m.byteLength) {
      flags |= FLAG_LAST;
      this.#queue.shift();
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
    if (this.#inflightPkts === 0) {
      this.#firstSentTime = now;
      this.#deliveredTime = now;
    }
    p.state = OUT;
    p.xmitTime = now;
    p.xmitIdx = ++this.#xmitCounter;
    p.delivered = this.#delivered;
    p.deliveredTime = this.#deliveredTime;
    p.firstSentTime = this.#firstSentTime;
    this.#inflightBytes += p.size;
    this.#inflightPkts++;
    this.#xmitQueue.push(p);
    this.#xmitQueueIdx.push(p.xmitIdx);
    this.stats.packetsSent++;
    this.stats.bytesSent += p.size;
    this.#transmit(encodeData(p.seq, p.flags, Math.floor(now) % TWO32, p.payload));
  }
}
