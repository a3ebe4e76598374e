/**
 * Nimbus (Goyal et al., "Elasticity detection", SIGCOMM 2022) as a CCP agent
 * algorithm. Its datapath program (the generic one, on a 10 ms timer) reports
 * the bytes acknowledged and the RTT every 10 ms: the receive rate R. The
 * send rate S is what the agent paced one RTT earlier (it keeps the history);
 * the datapath's per-ACK rate samples (Flow.rate_outgoing/incoming) average
 * over an RTT or more and blurred the 200 ms pulse enough that constant-rate
 * traffic looked elastic. The agent estimates the cross traffic's rate
 * ẑ = μ·S/R − S, with μ its own highest delivery rate of the last 30 s
 * (`LinkRateEstimator`), keeps it on a uniform 10 ms grid, adds an asymmetric
 * sinusoidal pulse to its own rate, and asks the elasticity detector (an FFT
 * of ẑ) whether the cross traffic answers the pulse:
 *  - inelastic → delay mode: a rate controller that holds the queue at a small target;
 *  - elastic → TCP-competitive mode: the rate of a shadow Cubic fed the same reports.
 *
 * It lives in the lab, not in @bertha/ccp: the FFT library is a dependency a
 * datapath library should not carry.
 */
import { InvalidArgumentError } from '@bertha/core';
import { CubicFlow, GENERIC_PROGRAMS, installReporting, measure, type Algorithm, type DatapathHandle, type Flow, type FlowInfo, type GenericProgram, type Report } from '@bertha/ccp';
import { shadowFlow, type Shadow } from '../algorithms/shadow.js';
import { ElasticityDetector, type ElasticityOptions } from './elasticity.js';
import { LinkRateEstimator, type LinkRateOptions } from './link-rate.js';
import { asymmetricPulse } from './pulse.js';

export type NimbusMode = 'delay' | 'competitive';

/** What Nimbus decided at one detector run (every 100 ms once the window is full; before that, mode stays `delay`). */
export interface NimbusDecision {
  readonly timeUs: number;
  readonly mode: NimbusMode;
  /** η; NaN until the window holds enough samples. */
  readonly elasticity: number;
  /** The cross traffic's answer at the pulse frequency over our pulse's amplitude there; NaN until the window is full. */
  readonly gain: number;
  /** The base rate (without the pulse), bit/s. */
  readonly rateBps: number;
  /** The cross traffic's estimated rate, bit/s. */
  readonly crossBps: number;
  /** μ as Nimbus uses it (estimated, or pinned), bit/s. */
  readonly linkBps: number;
  /** Queueing delay from the latest report, µs. */
  readonly queueUs: number;
}

export interface NimbusOptions {
  /**
   * Pins μ, the bottleneck's rate, in payload bit/s, instead of estimating it
   * (for experiments that isolate the detector from the estimator). By
   * default Nimbus estimates μ as its highest receive rate (`linkRate`).
   */
  readonly bottleneckBps?: number;
  /** The μ estimator's window (default 30 s). */
  readonly linkRate?: LinkRateOptions;
  /** Report and sampling interval, µs. Default 10 000. */
  readonly sampleUs?: number;
  /** The detector's window (samples, pulse bin); the pulse period is `size·sampleUs/pulseBin`. */
  readonly detector?: ElasticityOptions;
  /** η at or above which the cross traffic counts as elastic. Default 2. */
  readonly threshold?: number;
  /**
   * Least answer of the cross traffic at the pulse frequency, as a fraction
   * of our own pulse's amplitude there, to count as elastic. Default 0.1.
   * η alone misfires in a simulator: with no noise in the band above f_p, a
   * trace of the pulse that leaks into ẑ through estimation error gives η > 2.
   */
  readonly minGain?: number;
  /** Queueing delay the delay mode holds, µs. Default 15 000: above what one up-pulse adds (≈ 8 ms at A = μ/4), so the down-pulse never empties the queue. */
  readonly targetQueueUs?: number;
  /** Pulse amplitude as a fraction of μ. Default 0.25. */
  readonly pulseFraction?: number;
  /** Each detector decision, e.g. for plots. */
  readonly onDecision?: (d: NimbusDecision) => void;
}

/**
 * The delay mode's rate controller: the rate follows μ − ẑ + μ·(target − queue)/QUEUE_GAIN_US
 * with a lag of CONTROL_US; a lag of half the gain's time damps the loop (ζ ≈ 0.7).
 */
const CONTROL_US = 100_000;
const QUEUE_GAIN_US = 200_000;
/** Detector runs every this many samples. */
const DECIDE_EVERY = 10;
/** Packets a receive-rate sample needs, unless it already spans MAX_SAMPLE_INTERVALS intervals. */
const MIN_SAMPLE_PACKETS = 10;
const MAX_SAMPLE_INTERVALS = 10;
/** Queueing delay below which the link may be idle and ẑ means nothing, µs. */
const BUSY_QUEUE_US = 1_000;
/** RTT assumed before the first sample, µs. */
const INITIAL_RTT_US = 100_000;

export class NimbusFlow implements Flow {
  mode: NimbusMode = 'delay';
  /** Base rate, bytes/s. */
  rate: number;
  /** Estimated cross-traffic rate, bytes/s. */
  cross = 0;
  elasticity = NaN;
  gain = NaN;
  readonly #dp: DatapathHandle<GenericProgram>;
  /** μ when pinned, bytes/s. */
  readonly #pinnedMu: number | undefined;
  readonly #linkRate: LinkRateEstimator;
  readonly #mss: number;
  readonly #sampleUs: number;
  readonly #threshold: number;
  readonly #minGain: number;
  /** Our pulse's amplitude at f_p as the detector sees it, per unit of the pulse's amplitude. */
  readonly #pulseResponse: number;
  readonly #targetUs: number;
  readonly #pulseFraction: number;
  readonly #periodUs: number;
  /** Least paced rate, bytes/s: two packets per initial RTT. */
  readonly #minRate: number;
  readonly #detector: ElasticityDetector;
  readonly #cubic: Shadow<CubicFlow>;
  readonly #onDecision: ((d: NimbusDecision) => void) | undefined;
  readonly #series: number[] = [];
  #nextSampleUs: number | undefined;
  #sinceDecision = 0;
  #srtt = 0;
  #minRtt = Infinity;
  #queueUs = 0;
  #lastUs: number | undefined;
  /** Paced rates as (from µs, bytes/s), oldest first, as far back as an RTT and a sample need. */
  readonly #sent: [number, number][] = [];
  /** Bytes acked since `#ackedFromUs`: one receive-rate sample once a sample interval has passed. */
  #acked = 0;
  #ackedFromUs: number | undefined;
  /** A loss or SACK in the current sample interval. */
  #holes = false;
  /**
   * Start-up, until the queue first reaches half the target or a loss: the
   * rate doubles each RTT, as in slow start. μ̂ (the highest receive rate)
   * cannot exceed what we send, so the delay mode's controller alone, aiming
   * at μ̂, would grow by only the queue term's few percent per 100 ms.
   */
  #startup = true;

  constructor(dp: DatapathHandle<GenericProgram>, info: FlowInfo, o: NimbusOptions) {
    this.#dp = dp;
    this.#pinnedMu = o.bottleneckBps === undefined ? undefined : o.bottleneckBps / 8;
    this.#linkRate = new LinkRateEstimator(o.linkRate);
    this.#mss = info.mss;
    this.#sampleUs = o.sampleUs ?? 10_000;
    this.#threshold = o.threshold ?? 2;
    this.#targetUs = o.targetQueueUs ?? 15_000;
    this.#pulseFraction = o.pulseFraction ?? 0.25;
    this.#detector = new ElasticityDetector(o.detector);
    this.#periodUs = (this.#detector.size * this.#sampleUs) / this.#detector.pulseBin;
    this.#minGain = o.minGain ?? 0.1;
    const pulse = Array.from({ length: this.#detector.size }, (_, i) => asymmetricPulse(i * this.#sampleUs, this.#periodUs, 1));
    this.#pulseResponse = this.#detector.analyze(pulse).amplitude;
    this.#cubic = shadowFlow(info, (d, i) => new CubicFlow(d, i, { hystart: false }));
    this.#onDecision = o.onDecision;
    this.#minRate = (2 * info.mss * 1e6) / INITIAL_RTT_US;
    this.rate = Math.max((info.initCwnd * 1e6) / INITIAL_RTT_US, this.#minRate);
    installReporting(dp, { intervalUs: this.#sampleUs });
    this.#push(0);
  }

  /** μ, bytes/s: pinned, or the highest receive rate of the estimator's window (0 before the first). */
  get linkRate(): number {
    return this.#pinnedMu ?? this.#linkRate.rate;
  }

  /** The pulse's amplitude A, bytes/s: a fraction of μ. */
  get #amplitude(): number {
    return this.#pulseFraction * this.linkRate;
  }

  /** The detector's input: ẑ on the sample grid, bytes/s, oldest first (up to two windows). */
  get crossSeries(): readonly number[] {
    return this.#series;
  }

  onReport(report: Report): void {
    const m = measure(report);
    const dt = this.#lastUs === undefined ? 0 : m.time - this.#lastUs;
    this.#lastUs = m.time;
    const rtt = m.minRtt || m.rtt;
    if (rtt > 0) {
      this.#minRtt = Math.min(this.#minRtt, rtt);
      this.#srtt = this.#srtt === 0 ? rtt : 0.875 * this.#srtt + 0.125 * rtt;
      this.#queueUs = rtt - this.#minRtt;
    }
    this.#linkRate.add(m.time, m.rate);
    this.#estimateCross(m.time, m.acked, m.rtt, m.loss > 0 || m.sacked > 0);
    this.#sample(m.time);
    const mu = this.linkRate;
    if (this.#startup && (m.loss > 0 || m.timeout || this.#queueUs >= this.#targetUs / 2)) {
      this.#startup = false;
      // Start-up learns of the queue an RTT late, having doubled meanwhile: go on from μ̂ and let the queue term drain the rest.
      this.rate = Math.min(this.rate, mu);
    }
    if (this.#startup) {
      this.rate *= 2 ** (dt / (this.#srtt || INITIAL_RTT_US));
    } else if (this.mode === 'competitive') {
      this.#cubic.flow.onReport(report);
      if (this.#srtt > 0) this.rate = (this.#cubic.cwnd * 1e6) / this.#srtt;
    } else if (dt > 0) {
      // An empty queue means room on the link, whatever the last busy ẑ said.
      const cross = this.#queueUs < BUSY_QUEUE_US ? 0 : this.cross;
      const target = mu - cross + (mu * (this.#targetUs - this.#queueUs)) / QUEUE_GAIN_US;
      this.rate += Math.min(1, dt / CONTROL_US) * (target - this.rate);
    }
    // The base rate never falls below the down-pulse's depth (A/3), so the pulse keeps its
    // shape, and a squeezed flow still gets enough ACKs for a receive rate to mean something.
    if (!this.#startup) this.rate = Math.min(Math.max(this.rate, this.#amplitude / 3), 2 * mu);
    this.rate = Math.max(this.rate, this.#minRate);
    this.#push(m.time);
  }

  /**
   * ẑ = μ·S/R − S over the last sample interval: R from the bytes acked in it,
   * S the mean paced rate over the same interval one RTT earlier, when those bytes left.
   */
  #estimateCross(now: number, acked: number, rtt: number, holes: boolean): void {
    this.#ackedFromUs ??= now;
    this.#acked += acked;
    this.#holes ||= holes;
    const span = now - this.#ackedFromUs;
    // A slow flow sees a few packets per interval: R would be mostly quantisation noise, so wait for enough of them.
    if (span < this.#sampleUs || rtt === 0 || (this.#acked < MIN_SAMPLE_PACKETS * this.#mss && span < MAX_SAMPLE_INTERVALS * this.#sampleUs)) return;
    const r = (this.#acked * 1e6) / span;
    const s = this.#meanSent(this.#ackedFromUs - rtt, now - rtt);
    const clean = !this.#holes;
    this.#acked = 0;
    this.#ackedFromUs = now;
    this.#holes = false;
    const mu = this.linkRate;
    // ẑ holds only while the bottleneck is busy: with an empty queue S/R is 1 and ẑ = μ − S
    // would echo our own pulse as if the cross traffic answered it. Nor while a hole is
    // being repaired: the cumulative ACK stalls, then jumps. Keep the last good estimate.
    if (clean && r > 0 && s > 0 && this.#queueUs >= BUSY_QUEUE_US) this.cross = Math.min(mu, Math.max(0, (mu * s) / r - s));
  }

  /** Mean paced rate over [from, to], bytes/s. */
  #meanSent(from: number, to: number): number {
    let sum = 0;
    for (let i = 0; i < this.#sent.length; i++) {
      const [at, rate] = this.#sent[i]!;
      const until = this.#sent[i + 1]?.[0] ?? Infinity;
      const overlap = Math.min(to, until) - Math.max(from, at);
      if (overlap > 0) sum += rate * overlap;
    }
    return to > from ? sum / (to - from) : 0;
  }

  /** Sample-and-hold of ẑ onto the uniform grid, and the detector every `DECIDE_EVERY` samples. */
  #sample(now: number): void {
    this.#nextSampleUs ??= now;
    while (this.#nextSampleUs <= now) {
      this.#series.push(this.cross);
      this.#nextSampleUs += this.#sampleUs;
      if (++this.#sinceDecision >= DECIDE_EVERY) {
        this.#sinceDecision = 0;
        this.#decide(now);
      }
    }
    if (this.#series.length > 2 * this.#detector.size) this.#series.splice(0, this.#series.length - this.#detector.size);
  }

  #decide(now: number): void {
    if (this.#series.length >= this.#detector.size) {
      const spectrum = this.#detector.analyze(this.#series);
      this.elasticity = spectrum.elasticity;
      // μ̂ moves slowly against the window: the pulse's size now stands for its size over the window.
      this.gain = spectrum.amplitude / (this.#pulseResponse * this.#amplitude);
      const mode: NimbusMode = this.elasticity >= this.#threshold && this.gain >= this.#minGain ? 'competitive' : 'delay';
      if (mode === 'competitive' && this.mode === 'delay') {
        // Cubic takes over, in congestion avoidance, from half of what both carry now:
        // a delay-mode flow squeezed by a buffer-filler would otherwise start from nothing.
        const c = this.#cubic.flow;
        c.cwnd = Math.max((((this.rate + this.cross) / 2) * Math.max(this.#srtt, 1)) / 1e6, 2 * c.mss);
        c.ssthresh = c.cwnd;
        c.epochStart = undefined;
        c.wMax = c.cwnd / c.mss;
      }
      this.mode = mode;
    }
    this.#onDecision?.({
      timeUs: now,
      mode: this.mode,
      elasticity: this.elasticity,
      gain: this.gain,
      rateBps: this.rate * 8,
      crossBps: this.cross * 8,
      linkBps: this.linkRate * 8,
      queueUs: this.#queueUs,
    });
  }

  #push(now: number): void {
    const send = Math.max(this.rate + asymmetricPulse(now, this.#periodUs, this.#amplitude), 0.01 * this.linkRate, this.#minRate);
    const rtt = this.#srtt > 0 ? this.#srtt : INITIAL_RTT_US;
    // The pace sets the rate; the window only stops a runaway when ACKs stop.
    this.#dp.updateField({ rate: Math.round(send), cwnd: Math.max(Math.round((2 * send * rtt) / 1e6), 4 * this.#dp.info.mss) });
    this.#sent.push([now, send]);
    // Keep what the next estimate can reach back to: a few RTTs.
    while (this.#sent.length > 2 && this.#sent[1]![0] < now - 4 * rtt - this.#sampleUs) this.#sent.shift();
  }
}

export function nimbus(options: NimbusOptions = {}): Algorithm<NimbusFlow, GenericProgram> {
  if (options.bottleneckBps !== undefined && !(options.bottleneckBps > 0)) throw new InvalidArgumentError(`nimbus bottleneckBps pins the bottleneck rate in bit/s and must be positive, got ${options.bottleneckBps}; leave it out to estimate it`);
  // Fail at configuration, not at the first flow.
  new LinkRateEstimator(options.linkRate);
  if (options.sampleUs !== undefined && !(Number.isInteger(options.sampleUs) && options.sampleUs >= 1000)) {
    throw new InvalidArgumentError(`nimbus sampleUs must be a whole number of µs ≥ 1000, got ${options.sampleUs}`);
  }
  const { pulseFraction = 0.25, targetQueueUs = 0, minGain = 0, threshold = 0 } = options;
  if (!(pulseFraction > 0 && pulseFraction <= 1 && targetQueueUs >= 0 && minGain >= 0 && threshold >= 0)) {
    throw new InvalidArgumentError('nimbus needs pulseFraction in (0, 1] and non-negative targetQueueUs, minGain and threshold');
  }
  return {
    name: 'nimbus',
    programs: GENERIC_PROGRAMS,
    newFlow: (dp, info) => new NimbusFlow(dp, info, options),
  };
}
