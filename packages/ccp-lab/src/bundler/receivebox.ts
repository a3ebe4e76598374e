/**
 * The receivebox: at the receiving site, it counts the bundle's bytes and,
 * for every epoch-boundary packet, sends the sendbox an out-of-band
 * congestion ACK with the boundary's hash and the bytes received so far.
 * It never delays or changes the traffic itself.
 */
import { checkPeriod, headerHash, isBoundary, type InvariantHeader } from './header-hash.js';

/** A congestion ACK, receivebox → sendbox. */
export interface EpochFeedback {
  /** Header hash of the boundary packet. */
  readonly hash: number;
  /** Bundle bytes received up to and including the boundary packet. */
  readonly recvBytes: number;
  /** The sampling period the receivebox used: the sendbox learns that its change arrived. */
  readonly period: number;
}

export interface ReceiveboxStats {
  packets: number;
  bytes: number;
  feedbacks: number;
}

export class Receivebox {
  readonly stats: ReceiveboxStats = { packets: 0, bytes: 0, feedbacks: 0 };
  #period: number;
  readonly #send: (fb: EpochFeedback) => void;

  constructor(send: (fb: EpochFeedback) => void, opts: { initialPeriod?: number } = {}) {
    this.#send = send;
    this.#period = checkPeriod(opts.initialPeriod ?? 1);
  }

  get period(): number {
    return this.#period;
  }

  /** The sendbox's out-of-band message with a new sampling period. */
  setPeriod(n: number): void {
    this.#period = checkPeriod(n);
  }

  /** A bundle packet arrived from the bottleneck. */
  onPacket(header: InvariantHeader, bytes: number): void {
    this.stats.packets++;
    this.stats.bytes += bytes;
    const hash = headerHash(header);
    if (!isBoundary(hash, this.#period)) return;
    this.stats.feedbacks++;
    this.#send({ hash, recvBytes: this.stats.bytes, period: this.#period });
  }
}
