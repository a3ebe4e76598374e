/**
 * The sendbox's half of Bundler's measurement. It remembers each epoch
 * boundary it sends (hash, time, bytes sent so far); a congestion ACK from
 * the receivebox for that hash gives one RTT sample and, against the
 * boundaries matched within the last RTT, the send and receive rates.
 *
 * Resilience: a boundary packet lost on the way is never acknowledged, and
 * is dropped once a later boundary is (the epoch just gets longer); an ACK
 * for a hash not outstanding (the receivebox sampled with a smaller period,
 * or a reordered boundary arrived after a later one) is ignored; while a
 * change of period travels to the receivebox the sendbox records boundaries
 * under the smaller of the old and new periods, which contain the other's
 * (see `isBoundary`).
 */
import { checkPeriod, headerHash, isBoundary, type InvariantHeader } from './header-hash.js';
import type { EpochFeedback } from './receivebox.js';

/** One measurement, made when a congestion ACK matches a boundary. */
export interface EpochEstimate {
  /** When the ACK arrived, µs. */
  readonly atUs: number;
  /** This boundary's RTT, µs. */
  readonly rttUs: number;
  /** Smallest RTT seen, µs. */
  readonly minRttUs: number;
  /** Bytes/s sent and received over the one-RTT window of epochs; 0 until the window holds two epochs. */
  readonly sendRate: number;
  readonly recvRate: number;
  /** Bytes received since the previous matched boundary. */
  readonly ackedBytes: number;
  /** Bytes sent since the previous matched boundary less those received: lost (or still reordered). */
  readonly lostBytes: number;
  /** Bytes sent after this boundary: in flight now. */
  readonly inflightBytes: number;
}

export interface EpochMeterStats {
  boundariesSent: number;
  matched: number;
  /** Boundaries dropped unacknowledged because a later one was acknowledged first (lost or reordered). */
  skipped: number;
  /** ACKs for no outstanding boundary. */
  unmatched: number;
}

interface Outstanding {
  readonly hash: number;
  readonly sentAt: number;
  readonly sentBytes: number;
}

interface Matched extends Outstanding {
  readonly ackAt: number;
  readonly recvBytes: number;
}

/** Outstanding boundaries kept at most; older ones are forgotten (their ACKs would be ignored). */
const MAX_OUTSTANDING = 4096;

export class EpochMeter {
  readonly stats: EpochMeterStats = { boundariesSent: 0, matched: 0, skipped: 0, unmatched: 0 };
  /** Bundle bytes sent so far. */
  sentBytes = 0;
  #period: number;
  /** The period the receivebox may still be using until it confirms `#period`. */
  #previous: number;
  #outstanding: Outstanding[] = [];
  #head = 0;
  /** Matched boundaries of the last RTT, oldest first. */
  #window: Matched[] = [];
  #minRtt = Infinity;

  constructor(opts: { initialPeriod?: number } = {}) {
    this.#period = checkPeriod(opts.initialPeriod ?? 1);
    this.#previous = this.#period;
  }

  /** The period the receivebox is asked to use. */
  get period(): number {
    return this.#period;
  }

  /** The period boundaries are recorded under now (the smaller one during a change). */
  get recordingPeriod(): number {
    return Math.min(this.#period, this.#previous);
  }

  get minRttUs(): number {
    return this.#minRtt;
  }

  /** Outstanding boundaries (sent, not yet acknowledged or skipped). */
  get outstanding(): number {
    return this.#outstanding.length - this.#head;
  }

  /** Changes the period; the caller tells the receivebox. */
  setPeriod(n: number): void {
    checkPeriod(n);
    if (n === this.#period) return;
    this.#previous = Math.min(this.#previous, this.#period);
    this.#period = n;
  }

  /** A bundle packet leaves the sendbox; returns its hash when it is a boundary. */
  onSend(header: InvariantHeader, bytes: number, nowUs: number): number | undefined {
    this.sentBytes += bytes;
    const hash = headerHash(header);
    if (!isBoundary(hash, this.recordingPeriod)) return undefined;
    this.stats.boundariesSent++;
    this.#outstanding.push({ hash, sentAt: nowUs, sentBytes: this.sentBytes });
    if (this.#outstanding.length - this.#head > MAX_OUTSTANDING) this.#head++;
    this.#compact();
    return hash;
  }

  /** A congestion ACK arrived; an estimate when it matched an outstanding boundary. */
  onFeedback(fb: EpochFeedback, nowUs: number): EpochEstimate | undefined {
    if (fb.period === this.#period) this.#previous = this.#period;
    const out = this.#outstanding;
    let i = this.#head;
    while (i < out.length && out[i]!.hash !== fb.hash) i++;
    if (i === out.length) {
      this.stats.unmatched++;
      return undefined;
    }
    this.stats.skipped += i - this.#head;
    const b = out[i]!;
    this.#head = i + 1;
    this.#compact();
    this.stats.matched++;
    const rtt = nowUs - b.sentAt;
    if (rtt < this.#minRtt) this.#minRtt = rtt;
    const prev = this.#window.at(-1);
    const m: Matched = { ...b, ackAt: nowUs, recvBytes: fb.recvBytes };
    this.#window.push(m);
    // Keep the epochs acknowledged within the last RTT, and the one before them as the window's start.
    while (this.#window.length > 2 && this.#window[1]!.ackAt <= nowUs - rtt) this.#window.shift();
    const first = this.#window[0]!;
    const sendRate = m.sentAt > first.sentAt ? ((m.sentBytes - first.sentBytes) * 1e6) / (m.sentAt - first.sentAt) : 0;
    const recvRate = m.ackAt > first.ackAt ? ((m.recvBytes - first.recvBytes) * 1e6) / (m.ackAt - first.ackAt) : 0;
    const acked = prev === undefined ? 0 : Math.max(0, m.recvBytes - prev.recvBytes);
    const sent = prev === undefined ? 0 : m.sentBytes - prev.sentBytes;
    return {
      atUs: nowUs,
      rttUs: rtt,
      minRttUs: this.#minRtt,
      sendRate,
      recvRate,
      ackedBytes: acked,
      lostBytes: Math.max(0, sent - acked),
      inflightBytes: this.sentBytes - b.sentBytes,
    };
  }

  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#outstanding.length) {
      this.#outstanding = this.#outstanding.slice(this.#head);
      this.#head = 0;
    }
  }
}
