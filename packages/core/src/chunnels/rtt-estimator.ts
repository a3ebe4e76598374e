/**
 * Round-trip time and retransmission timeout after RFC 6298, in whatever
 * unit the caller measures (reliable() uses ms, the CCP transport µs).
 */
import { InvalidArgumentError } from '../errors.js';

export interface RttEstimatorOptions {
  /** Timeout before the first sample. */
  readonly initialRto: number;
  /** Bounds of the timeout, backoff included (RFC 6298 §2.4, §2.5). */
  readonly minRto: number;
  readonly maxRto: number;
  /** Clock granularity G: the least the variance term adds (§2.2). */
  readonly granularity: number;
}

export class RttEstimator {
  /** Smoothed RTT; undefined before the first sample. */
  srtt: number | undefined;
  rttvar = 0;
  /** Smallest and latest sample; Infinity and 0 before the first. */
  minRtt = Infinity;
  latest = 0;
  readonly #o: RttEstimatorOptions;
  #rto: number;
  #backoff = 1;

  constructor(o: RttEstimatorOptions) {
    if (!(o.minRto > 0 && o.maxRto >= o.minRto && o.granularity >= 0 && o.initialRto > 0)) {
      throw new InvalidArgumentError(`RttEstimator: need 0 < minRto ≤ maxRto, initialRto > 0 and granularity ≥ 0, got ${JSON.stringify(o)}`);
    }
    this.#o = o;
    this.#rto = Math.min(Math.max(o.initialRto, o.minRto), o.maxRto);
  }

  /** The retransmission timeout in force, with backoff, capped at `maxRto`. */
  get rto(): number {
    return Math.min(this.#rto * this.#backoff, this.#o.maxRto);
  }

  /** One RTT measurement (never from an ambiguous retransmission: Karn's rule is the caller's). Ends any backoff. */
  sample(r: number): void {
    this.latest = r;
    if (r < this.minRtt) this.minRtt = r;
    if (this.srtt === undefined) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    this.#rto = Math.min(Math.max(this.srtt + Math.max(this.#o.granularity, 4 * this.rttvar), this.#o.minRto), this.#o.maxRto);
    this.#backoff = 1;
  }

  /** A retransmission timer expired: double the timeout (§5.5), up to `maxRto`. */
  backoff(): void {
    if (this.#rto * this.#backoff < this.#o.maxRto) this.#backoff *= 2;
  }
}
