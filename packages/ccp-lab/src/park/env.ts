/**
 * A Park-style environment for learning congestion control (Mao et al.,
 * "Park: An Open Platform for Learning-Augmented Computer Systems", NeurIPS
 * 2019): one CCP transport flow in the simulator over a drop-tail link
 * (default 48 Mbit/s, 50 ms RTT, 400 packets), in gym's shape — `reset(seed)`
 * gives the first observation, `step(action)` sets the flow's window for the
 * next interval (one base RTT) and returns that interval's observation and
 * reward. Deterministic for a seed (which seeds the link's random loss, if any).
 *
 * Action (one number in [−1, 1], clipped), mapped log-uniformly:
 *  - `confined`: the window is m × Vegas's window, m in [0.2, 2] (Vegas runs as a shadow on the flow's own reports);
 *  - `free`: the window itself, in [2, 10 000] packets.
 *
 * Observation (per interval): throughput / link rate, queueing delay / base
 * RTT, loss fraction, window / BDP, Vegas's window / BDP.
 *
 * Reward (per interval): throughput / link rate − DELAY_WEIGHT · queueing delay / base RTT
 * − LOSS_WEIGHT · loss fraction: 1 for a full pipe with no queue; a full
 * 400-packet buffer (2 base RTTs of queue) costs 2, a 10 % loss 1.
 */
import { InvalidArgumentError } from '@bertha/core';
import { inProcessCcpHost, type CcpHost } from '@bertha/ccp';
import { MSS } from '../experiments/common.js';
import { simPath, type SimPath } from '../sim/sim-path.js';
import { Simulator } from '../sim/simulator.js';
import { EnvStateError } from './errors.js';
import { emptySignals, parkAlgorithm, type ParkFlow, type WindowChoice } from './park-flow.js';
import { boxSpace, type BoxSpace } from './spaces.js';

export type ActionSpaceKind = 'free' | 'confined';

export const DELAY_WEIGHT = 1;
export const LOSS_WEIGHT = 10;
/** The confined multiplier's range over Vegas's window. */
export const CONFINED_RANGE: readonly [number, number] = [0.2, 2];
/** The free window's range, packets. */
export const FREE_RANGE: readonly [number, number] = [2, 10_000];

export interface CcEnvOptions {
  readonly actionSpace: ActionSpaceKind;
  /** Default 48e6. */
  readonly rateBps?: number;
  /** Base RTT, µs. Default 50 000. */
  readonly rttUs?: number;
  /** Drop-tail buffer, packets. Default 400. */
  readonly bufferPackets?: number;
  /** Random loss probability on the link. Default 0. */
  readonly loss?: number;
  /** Interval per step, µs. Default one base RTT. */
  readonly stepUs?: number;
  /** Steps per episode. Default 100. */
  readonly episodeSteps?: number;
}

export interface StepInfo {
  /** Simulated time, µs. */
  readonly timeUs: number;
  /** The window in force at the end of the step, bytes. */
  readonly cwndBytes: number;
  readonly vegasCwndBytes: number;
  readonly throughputBps: number;
  readonly queueDelayUs: number;
  readonly lossFraction: number;
}

export interface StepResult {
  readonly observation: number[];
  readonly reward: number;
  readonly done: boolean;
  readonly info: StepInfo;
}

/** Reports per step: the flow reports every `stepUs / REPORTS_PER_STEP`. */
const REPORTS_PER_STEP = 5;

interface Episode {
  readonly sim: Simulator;
  readonly host: CcpHost;
  readonly path: SimPath;
  readonly flow: ParkFlow;
  steps: number;
  lastQueueUs: number;
}

export class CongestionControlEnv {
  readonly observationSpace: BoxSpace;
  readonly actionSpace: BoxSpace;
  readonly kind: ActionSpaceKind;
  readonly rateBps: number;
  readonly rttUs: number;
  readonly bufferPackets: number;
  readonly stepUs: number;
  readonly episodeSteps: number;
  /** Bandwidth-delay product, bytes of payload. */
  readonly bdpBytes: number;
  readonly #loss: number;
  #episode: Episode | undefined;
  #closed = false;

  constructor(o: CcEnvOptions) {
    if (o.actionSpace !== 'free' && o.actionSpace !== 'confined') throw new InvalidArgumentError(`action space must be 'free' or 'confined', got ${String(o.actionSpace)}`);
    this.kind = o.actionSpace;
    this.rateBps = o.rateBps ?? 48e6;
    this.rttUs = o.rttUs ?? 50_000;
    this.bufferPackets = o.bufferPackets ?? 400;
    this.stepUs = o.stepUs ?? this.rttUs;
    this.episodeSteps = o.episodeSteps ?? 100;
    this.#loss = o.loss ?? 0;
    for (const [name, v] of [['rateBps', this.rateBps], ['rttUs', this.rttUs], ['bufferPackets', this.bufferPackets], ['stepUs', this.stepUs], ['episodeSteps', this.episodeSteps]] as const) {
      if (!(Number.isInteger(v) && v > 0)) throw new InvalidArgumentError(`${name} must be a positive whole number, got ${v}`);
    }
    if (this.stepUs < REPORTS_PER_STEP * 1000) throw new InvalidArgumentError(`stepUs must be at least ${REPORTS_PER_STEP * 1000} µs, got ${this.stepUs}`);
    this.bdpBytes = (this.rateBps / 8) * (this.rttUs / 1e6);
    this.observationSpace = boxSpace(['throughput / link rate', 'queueing delay / base RTT', 'loss fraction', 'window / BDP', 'Vegas window / BDP'], [0, 0, 0, 0, 0], [2, 100, 1, 1000, 1000]);
    this.actionSpace = boxSpace([this.kind === 'confined' ? 'log multiplier of Vegas window' : 'log window'], [-1], [1]);
  }

  /** Starts an episode (closing any running one) and returns its first observation: the initial window's first step. */
  reset(seed = 1): number[] {
    if (this.#closed) throw new EnvStateError('the environment is closed: create a new one');
    this.#end();
    const sim = new Simulator({ seed });
    let flow: ParkFlow | undefined;
    const host = inProcessCcpHost({ clock: sim, algorithms: [parkAlgorithm(this.stepUs / REPORTS_PER_STEP, (f) => (flow = f))] });
    const path = simPath(sim, {
      mss: MSS,
      seed,
      bottleneck: { rateBps: this.rateBps, delayUs: this.rttUs / 2, bufferPackets: this.bufferPackets, loss: this.#loss },
      flows: [{ cc: { kind: 'ccp', algorithm: 'park', host } }],
    });
    // The agent creates the flow at the first packet; the first interval runs Vegas's own window.
    sim.run({ untilUs: this.stepUs });
    if (flow === undefined) throw new EnvStateError('the transport did not start its flow in the first interval');
    this.#episode = { sim, host, path, flow, steps: 0, lastQueueUs: 0 };
    return this.#observe(this.#episode).observation;
  }

  step(action: readonly number[]): StepResult {
    const e = this.#episode;
    if (e === undefined) throw new EnvStateError(this.#closed ? 'the environment is closed: create a new one' : 'call reset() before step()');
    if (e.steps >= this.episodeSteps) throw new EnvStateError('the episode is done: call reset() to start another');
    if (!(action.length === 1 && Number.isFinite(action[0]))) throw new InvalidArgumentError(`an action is one finite number, got [${action.join(', ')}]`);
    e.flow.choose(this.windowOf(action[0]!));
    e.sim.run({ untilUs: e.sim.now() + this.stepUs });
    e.steps++;
    return this.#observe(e);
  }

  /** What action `a` (clipped to [−1, 1]) sets. */
  windowOf(a: number): WindowChoice {
    const x = (Math.min(1, Math.max(-1, a)) + 1) / 2;
    if (this.kind === 'confined') return { kind: 'vegas', multiplier: logLerp(CONFINED_RANGE, x) };
    return { kind: 'bytes', bytes: logLerp(FREE_RANGE, x) * MSS };
  }

  /** The action that sets `cwndBytes` when Vegas's window is `vegasBytes` (clipped to the space). */
  actionFor(cwndBytes: number, vegasBytes: number): number {
    const x = this.kind === 'confined' ? unLogLerp(CONFINED_RANGE, cwndBytes / vegasBytes) : unLogLerp(FREE_RANGE, cwndBytes / MSS);
    return Math.min(1, Math.max(-1, 2 * x - 1));
  }

  /** Ends the running episode; `reset` and `step` throw afterwards. */
  close(): void {
    this.#end();
    this.#closed = true;
  }

  #end(): void {
    const e = this.#episode;
    if (e === undefined) return;
    this.#episode = undefined;
    e.path.close();
    void e.host.close();
  }

  #observe(e: Episode): StepResult {
    const s = e.flow.signals;
    e.flow.signals = emptySignals();
    const throughputBps = (s.ackedBytes * 8 * 1e6) / this.stepUs;
    const base = Number.isFinite(e.flow.minRttUs) ? e.flow.minRttUs : this.rttUs;
    // An interval without RTT samples (a stalled flow) keeps the last queue estimate.
    if (s.rttCount > 0) e.lastQueueUs = Math.max(0, s.rttSumUs / s.rttCount - base);
    const ackedPackets = s.ackedBytes / MSS;
    const lossFraction = s.lostPackets + ackedPackets === 0 ? (s.timeouts > 0 ? 1 : 0) : s.lostPackets / (s.lostPackets + ackedPackets);
    const o = this.observationSpace;
    const observation = [throughputBps / this.rateBps, e.lastQueueUs / base, lossFraction, e.flow.cwnd / this.bdpBytes, e.flow.vegasCwnd / this.bdpBytes].map((v, i) =>
      Math.min(o.high[i]!, Math.max(o.low[i]!, v)),
    );
    const reward = observation[0]! - DELAY_WEIGHT * observation[1]! - LOSS_WEIGHT * lossFraction;
    return {
      observation,
      reward,
      done: e.steps >= this.episodeSteps,
      info: { timeUs: e.sim.now(), cwndBytes: e.flow.cwnd, vegasCwndBytes: e.flow.vegasCwnd, throughputBps, queueDelayUs: e.lastQueueUs, lossFraction },
    };
  }
}

const logLerp = ([lo, hi]: readonly [number, number], x: number): number => lo * (hi / lo) ** x;
const unLogLerp = ([lo, hi]: readonly [number, number], v: number): number => Math.log(v / lo) / Math.log(hi / lo);
