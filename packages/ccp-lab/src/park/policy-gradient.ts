/**
 * A small learning agent: a linear Gaussian policy trained by REINFORCE
 * (Williams 1992) with a discounted return-to-go and advantages normalised
 * per episode. Mean action tanh(w·φ(s)), φ(s) = [1, log(1 + s_i)…], fixed
 * exploration σ. About a hundred lines of arithmetic on six weights: a
 * numeric library (tensors, autodiff) would bring far more code than it
 * saves, and a tiny network learned no better in a few minutes here.
 */
import { InvalidArgumentError, mulberry32 } from '@bertha/core';

export interface PolicyGradientOptions {
  /** Observation length. */
  readonly inputs: number;
  /** Step size of each episode's update. Default 0.05. */
  readonly learningRate?: number;
  /** Exploration noise, in action units. Default 0.3. */
  readonly sigma?: number;
  /** Discount per step. Default 0.9 (a horizon of about ten steps). */
  readonly discount?: number;
  /** Seeds the exploration noise. Default 1. */
  readonly seed?: number;
}

interface Stepped {
  readonly features: Float64Array;
  readonly mean: number;
  readonly action: number;
  reward: number;
}

export class LinearPolicyGradient {
  /** Bias first, then one weight per observation coordinate. */
  readonly weights: Float64Array;
  readonly #lr: number;
  readonly #sigma: number;
  readonly #discount: number;
  readonly #rand: () => number;
  #episode: Stepped[] = [];

  constructor(o: PolicyGradientOptions) {
    if (!(Number.isInteger(o.inputs) && o.inputs > 0)) throw new InvalidArgumentError(`inputs must be a positive whole number, got ${o.inputs}`);
    this.weights = new Float64Array(o.inputs + 1);
    this.#lr = o.learningRate ?? 0.05;
    this.#sigma = o.sigma ?? 0.3;
    this.#discount = o.discount ?? 0.9;
    if (!(this.#lr > 0 && this.#sigma > 0 && this.#discount >= 0 && this.#discount <= 1)) throw new InvalidArgumentError('learningRate and sigma must be positive, discount in [0, 1]');
    this.#rand = mulberry32(o.seed ?? 1);
  }

  /** The policy's mean action for `observation`, without exploration. */
  mean(observation: readonly number[]): number {
    return Math.tanh(this.#dot(this.#features(observation)));
  }

  /** Samples an action and remembers it for the update; call `reward` with what the environment gave back. */
  act(observation: readonly number[]): number[] {
    const features = this.#features(observation);
    const mean = Math.tanh(this.#dot(features));
    const action = mean + this.#sigma * this.#gaussian();
    this.#episode.push({ features, mean, action, reward: 0 });
    return [action];
  }

  reward(r: number): void {
    const last = this.#episode.at(-1);
    if (last === undefined) throw new InvalidArgumentError('reward() needs an act() before it');
    last.reward = r;
  }

  /** One REINFORCE step over the episode just played; forgets it. */
  endEpisode(): void {
    const steps = this.#episode;
    this.#episode = [];
    if (steps.length < 2) return;
    const returns = new Float64Array(steps.length);
    let g = 0;
    for (let t = steps.length - 1; t >= 0; t--) returns[t] = g = steps[t]!.reward + this.#discount * g;
    const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
    const std = Math.sqrt(returns.reduce((a, b) => a + (b - mean) ** 2, 0) / returns.length) || 1;
    const grad = new Float64Array(this.weights.length);
    steps.forEach((s, t) => {
      // ∇_w log N(a; tanh(w·φ), σ²) = (a − μ)/σ² · (1 − μ²) · φ
      const k = (((returns[t]! - mean) / std) * ((s.action - s.mean) / this.#sigma ** 2) * (1 - s.mean ** 2)) / steps.length;
      for (let i = 0; i < grad.length; i++) grad[i]! += k * s.features[i]!;
    });
    for (let i = 0; i < grad.length; i++) this.weights[i]! += this.#lr * grad[i]!;
  }

  #features(observation: readonly number[]): Float64Array {
    if (observation.length !== this.weights.length - 1) throw new InvalidArgumentError(`expected ${this.weights.length - 1} observation values, got ${observation.length}`);
    const f = new Float64Array(this.weights.length);
    f[0] = 1;
    for (let i = 0; i < observation.length; i++) f[i + 1] = Math.log1p(Math.max(0, observation[i]!));
    return f;
  }

  #dot(f: Float64Array): number {
    let s = 0;
    for (let i = 0; i < f.length; i++) s += this.weights[i]! * f[i]!;
    return s;
  }

  #gaussian(): number {
    // Box–Muller; 1 − u keeps the logarithm finite.
    const u = 1 - this.#rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.#rand());
  }
}
