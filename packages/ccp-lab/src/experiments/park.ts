/**
 * `park`: the Park-style learning environment (48 Mbit/s, 50 ms RTT,
 * 400-packet drop-tail buffer, one step per RTT). A linear policy-gradient
 * agent trains for the same number of episodes in the free action space
 * (the window itself, 2–10 000 packets) and in the confined one (0.2–2× the
 * window Vegas would use). Learning curves: mean reward per step of each
 * training episode, against Vegas's own; then each trained policy plays
 * greedily on fresh seeds. The published result: confined learns, free does
 * not in the same budget.
 */
import { CongestionControlEnv, type ActionSpaceKind } from '../park/env.js';
import { vegasPolicy } from '../park/policy.js';
import { LinearPolicyGradient } from '../park/policy-gradient.js';
import { playEpisode, trainEpisode } from '../park/train.js';
import type { LineSeries } from '../plot/charts.js';
import { mean } from './common.js';
import type { Experiment, ExperimentOptions, ExperimentResult } from './experiment.js';

/** Greedy evaluation episodes after training, on seeds training never saw. */
const EVAL_EPISODES = 5;
/** Episodes averaged at each end of a learning curve. */
const ENDS = 10;
/** Smoothing window of the plotted curves, episodes. */
const SMOOTH = 10;

const movingMean = (xs: readonly number[], w: number): [number, number][] => xs.map((_, i) => [i + 1, mean(xs.slice(Math.max(0, i - w + 1), i + 1))]);

export const parkExperiment: Experiment = {
  name: 'park',
  description: 'Park-style RL environment (48 Mbit/s, 50 ms, 400 packets): policy gradient in free vs confined (0.2–2× Vegas) action spaces',
  async run(opts: ExperimentOptions = {}): Promise<ExperimentResult> {
    const quick = opts.quick === true;
    const episodes = quick ? 12 : 150;
    const envOptions = quick ? { rateBps: 12e6, bufferPackets: 100, episodeSteps: 40 } : {};
    const base = opts.seed ?? 1;
    const kinds: readonly ActionSpaceKind[] = ['confined', 'free'];
    const total = kinds.length * (episodes + EVAL_EPISODES + 1);
    let done = 0;
    const tick = async (): Promise<void> => {
      opts.progress?.(++done, total);
      // Episodes are synchronous: let Ctrl-C and the progress bar in between.
      await new Promise((r) => setImmediate(r));
      opts.signal?.throwIfAborted();
    };
    const curves: Record<string, number[]> = {};
    const rows: (string | number)[][] = [];
    const data: Record<string, unknown> = {};
    let vegasReward = NaN;
    for (const kind of kinds) {
      const env = new CongestionControlEnv({ actionSpace: kind, ...envOptions });
      try {
        const agent = new LinearPolicyGradient({ inputs: env.observationSpace.shape[0], seed: base });
        const rewards: number[] = [];
        for (let ep = 0; ep < episodes; ep++) {
          rewards.push(trainEpisode(env, agent, base + ep));
          await tick();
        }
        const evalSeeds = Array.from({ length: EVAL_EPISODES }, (_, i) => base + episodes + i);
        const greedy: number[] = [];
        for (const s of evalSeeds) {
          greedy.push(playEpisode(env, (obs) => [agent.mean(obs)], s));
          await tick();
        }
        const vegas = playEpisode(env, vegasPolicy(env), base);
        await tick();
        if (kind === 'confined') vegasReward = vegas;
        curves[kind] = rewards;
        const first = mean(rewards.slice(0, ENDS));
        const last = mean(rewards.slice(-ENDS));
        rows.push([kind, first, last, mean(greedy), vegas]);
        data[kind] = { rewards, greedy, vegas, weights: [...agent.weights] };
      } finally {
        env.close();
      }
    }
    const series: LineSeries[] = kinds.map((k) => ({ name: `${k} (mean of last ${SMOOTH})`, points: movingMean(curves[k]!, SMOOTH) }));
    const raw: LineSeries[] = kinds.map((k) => ({ name: k, points: curves[k]!.map((r, i) => [i + 1, r] as const) }));
    const confined = rows[0]!;
    const free = rows[1]!;
    return {
      experiment: 'park',
      params: { rateMbps: quick ? 12 : 48, rttMs: 50, bufferPackets: quick ? 100 : 400, episodes, stepsPerEpisode: quick ? 40 : 100, evalEpisodes: EVAL_EPISODES, seed: base },
      table: { columns: ['action space', `reward, first ${ENDS} episodes`, `reward, last ${ENDS} episodes`, 'trained policy, greedy', 'Vegas'], rows },
      data,
      charts: [
        {
          name: 'learning',
          kind: 'line',
          spec: { title: 'Policy gradient: reward per step, by training episode', x: { label: 'episode' }, y: { label: 'mean reward per step', domain: [-3, 1.2] }, series, rules: [{ y: vegasReward, label: 'Vegas' }] },
        },
        { name: 'learning-raw', kind: 'line', spec: { title: 'Policy gradient: reward per step of each episode', x: { label: 'episode' }, y: { label: 'mean reward per step' }, series: raw, rules: [{ y: vegasReward, label: 'Vegas' }] } },
      ],
      notes: [
        `confined: ${Number(confined[1]).toFixed(2)} → ${Number(confined[2]).toFixed(2)} (greedy ${Number(confined[3]).toFixed(2)}); free: ${Number(free[1]).toFixed(2)} → ${Number(free[2]).toFixed(2)} (greedy ${Number(free[3]).toFixed(2)}); Vegas ${vegasReward.toFixed(2)} per step`,
        'reward per step = throughput/link rate − queueing delay/base RTT − 10 × loss fraction',
      ],
    };
  },
};
