/**
 * Nimbus's elasticity detector: the spectrum of the cross traffic's rate
 * estimate, taken with fft.js, compared at the pulse frequency against the
 * band above it. Elastic (buffer-filling, ACK-clocked) cross traffic answers
 * each of our pulses, so its rate carries a peak at the pulse frequency;
 * inelastic traffic does not. η = |Z(f_p)| / max over f in (f_p, 2·f_p) of |Z(f)|.
 */
import { InvalidArgumentError } from '@bertha/core';
import FFT from 'fft.js';

export interface ElasticityOptions {
  /** Samples per window, a power of two ≥ 32. Default 512 (5.12 s at 10 ms). */
  readonly size?: number;
  /** Pulse cycles per window: the pulse frequency's FFT bin. Default 26 (≈ 5 Hz at 10 ms). */
  readonly pulseBin?: number;
}

export interface Spectrum {
  /** η = |Z(f_p)| / max over (f_p, 2·f_p) of |Z(f)|. */
  readonly elasticity: number;
  /** Amplitude of the component at f_p. */
  readonly amplitude: number;
}

export class ElasticityDetector {
  readonly size: number;
  readonly pulseBin: number;
  readonly #fft: FFT;
  readonly #out: number[];
  readonly #input: number[];
  readonly #hann: Float64Array;

  constructor(options: ElasticityOptions = {}) {
    this.size = options.size ?? 512;
    this.pulseBin = options.pulseBin ?? 26;
    if (!(Number.isInteger(Math.log2(this.size)) && this.size >= 32)) throw new InvalidArgumentError(`elasticity window must be a power of two ≥ 32 samples, got ${this.size}`);
    // The comparison band (f_p, 2·f_p) must fit below the Nyquist bin.
    if (!(Number.isInteger(this.pulseBin) && this.pulseBin >= 4 && 2 * this.pulseBin < this.size / 2)) {
      throw new InvalidArgumentError(`pulse bin must be a whole number in [4, ${this.size / 4}), got ${this.pulseBin}`);
    }
    this.#fft = new FFT(this.size);
    this.#out = this.#fft.createComplexArray() as number[];
    this.#input = new Array<number>(this.size).fill(0);
    // A Hann window: a step or a drift in the series (a flow starting, a loss) would otherwise
    // leak into every bin as 1/f and lift both the pulse bin and its band.
    this.#hann = Float64Array.from({ length: this.size }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / this.size));
  }

  /** η of the last `size` samples of `series` (uniformly spaced); 0 for a flat series. */
  elasticity(series: ArrayLike<number>): number {
    return this.analyze(series).elasticity;
  }

  /** η, and the amplitude of the series' component at the pulse frequency (in the series' units). */
  analyze(series: ArrayLike<number>): Spectrum {
    if (series.length < this.size) throw new InvalidArgumentError(`elasticity needs ${this.size} samples, got ${series.length}`);
    const from = series.length - this.size;
    let sum = 0;
    for (let i = 0; i < this.size; i++) sum += series[from + i]!;
    const mean = sum / this.size;
    for (let i = 0; i < this.size; i++) this.#input[i] = (series[from + i]! - mean) * this.#hann[i]!;
    this.#fft.realTransform(this.#out, this.#input);
    const peak = this.#magnitude(this.pulseBin);
    // The bins beside f_p hold its leakage (the Hann window's main lobe): skip them.
    let band = 0;
    for (let k = this.pulseBin + 2; k < 2 * this.pulseBin - 1; k++) band = Math.max(band, this.#magnitude(k));
    // A sinusoid of amplitude a under a Hann window of N points shows |X| = a·N/4.
    const amplitude = (4 * peak) / this.size;
    if (band === 0) return { elasticity: peak === 0 ? 0 : Infinity, amplitude };
    return { elasticity: peak / band, amplitude };
  }

  #magnitude(k: number): number {
    return Math.hypot(this.#out[2 * k]!, this.#out[2 * k + 1]!);
  }
}
