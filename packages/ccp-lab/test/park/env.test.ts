import { describe, expect, it } from 'vitest';
import { CongestionControlEnv, LOSS_WEIGHT, DELAY_WEIGHT, type CcEnvOptions, type StepResult } from '../../src/park/env.js';
import { vegasPolicy } from '../../src/park/policy.js';
import { LinearPolicyGradient } from '../../src/park/policy-gradient.js';
import { boxSpace, contains } from '../../src/park/spaces.js';
import { playEpisode, trainEpisode } from '../../src/park/train.js';

/** A smaller link than the default, so each episode takes milliseconds. */
const SMALL: Omit<CcEnvOptions, 'actionSpace'> = { rateBps: 12e6, bufferPackets: 100, episodeSteps: 20 };

function rollout(env: CongestionControlEnv, seed: number, actions: readonly number[]): StepResult[] {
  env.reset(seed);
  return actions.map((a) => env.step([a]));
}

describe('CongestionControlEnv: the gym contract', () => {
  it('declares its spaces, and every observation lies in the observation space', () => {
    const env = new CongestionControlEnv({ actionSpace: 'confined', ...SMALL });
    expect(env.observationSpace).toMatchObject({ kind: 'box', shape: [5] });
    expect(env.actionSpace).toMatchObject({ kind: 'box', shape: [1], low: [-1], high: [1] });
    expect(contains(env.observationSpace, env.reset(1))).toBe(true);
    for (const r of rollout(env, 1, [0, 0.5, -0.5, 1, -1])) {
      expect(contains(env.observationSpace, r.observation)).toBe(true);
      expect(Number.isFinite(r.reward)).toBe(true);
    }
    env.close();
  });

  it('rewards throughput minus the documented delay and loss penalties', () => {
    const env = new CongestionControlEnv({ actionSpace: 'free', ...SMALL });
    // A window far above BDP + buffer: queue and losses.
    const steps = rollout(env, 1, Array<number>(SMALL.episodeSteps!).fill(1));
    for (const { observation: o, reward } of steps) expect(reward).toBeCloseTo(o[0]! - DELAY_WEIGHT * o[1]! - LOSS_WEIGHT * o[2]!, 9);
    expect(steps.some((s) => s.info.lossFraction > 0)).toBe(true);
    expect(Math.min(...steps.map((s) => s.reward))).toBeLessThan(0);
    env.close();
  });

  it('ends the episode after episodeSteps; step then needs a reset', () => {
    const env = new CongestionControlEnv({ actionSpace: 'confined', ...SMALL });
    const steps = rollout(env, 1, Array<number>(SMALL.episodeSteps!).fill(0));
    expect(steps.map((s) => s.done)).toEqual([...Array<boolean>(SMALL.episodeSteps! - 1).fill(false), true]);
    expect(() => env.step([0])).toThrow(expect.objectContaining({ code: 'ERR_PARK_ENV_STATE', message: expect.stringMatching(/reset/) }));
    env.reset(2);
    expect(env.step([0]).done).toBe(false);
    env.close();
    expect(() => env.reset(1)).toThrow(expect.objectContaining({ code: 'ERR_PARK_ENV_STATE' }));
  });

  it('rejects step before reset, malformed actions and bad options; clips out-of-range actions', () => {
    const env = new CongestionControlEnv({ actionSpace: 'confined', ...SMALL });
    expect(() => env.step([0])).toThrow(expect.objectContaining({ code: 'ERR_PARK_ENV_STATE', message: expect.stringMatching(/reset\(\) before step/) }));
    env.reset(1);
    expect(() => env.step([Number.NaN])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => env.step([0, 1])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(env.windowOf(7)).toEqual(env.windowOf(1));
    expect(env.windowOf(-1)).toEqual({ kind: 'vegas', multiplier: 0.2 });
    const top = env.windowOf(1);
    expect(top.kind === 'vegas' ? top.multiplier : NaN).toBeCloseTo(2, 9);
    expect(env.actionFor(1000, 1000)).toBeCloseTo(2 * (Math.log(5) / Math.log(10)) - 1, 9);
    expect(() => new CongestionControlEnv({ actionSpace: 'confined', rateBps: -1 })).toThrow(/rateBps/);
    expect(() => new CongestionControlEnv({ actionSpace: 'sideways' as 'free' })).toThrow(/free' or 'confined/);
    expect(() => boxSpace(['a'], [1], [0])).toThrow(/low ≤ high/);
    env.close();
  });
});

describe('CongestionControlEnv: determinism under a seed', () => {
  const actions = Array.from({ length: 20 }, (_, i) => Math.sin(i));

  it('replays the same trajectory for the same seed and actions, and another for another seed', () => {
    // Random loss on the link makes the seed matter.
    const env = new CongestionControlEnv({ actionSpace: 'confined', ...SMALL, loss: 0.01 });
    const a = rollout(env, 7, actions);
    const b = rollout(env, 7, actions);
    const c = rollout(env, 8, actions);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    env.close();
  });

  it('trains the policy-gradient agent to the same weights from the same seeds', () => {
    const run = (): number[] => {
      const env = new CongestionControlEnv({ actionSpace: 'free', ...SMALL });
      const agent = new LinearPolicyGradient({ inputs: 5, seed: 3 });
      const rewards = [1, 2, 3].map((s) => trainEpisode(env, agent, s));
      env.close();
      return [...rewards, ...agent.weights];
    };
    const first = run();
    expect(run()).toEqual(first);
    expect(first.slice(3).some((w) => w !== 0)).toBe(true);
  });
});

describe('reference and learning agents', () => {
  it('Vegas keeps the pipe busy with little queue: a mean reward near 1 per step', () => {
    const env = new CongestionControlEnv({ actionSpace: 'confined', ...SMALL, episodeSteps: 60 });
    expect(playEpisode(env, vegasPolicy(env), 1)).toBeGreaterThan(0.6);
    env.close();
  });

  it('policy gradient moves its mean action towards what pays: up when a bigger window earns more', () => {
    // Confined, starting at 0.63× Vegas: the reward grows with the action, so the bias must grow.
    const env = new CongestionControlEnv({ actionSpace: 'confined', ...SMALL });
    const agent = new LinearPolicyGradient({ inputs: 5, seed: 1, learningRate: 0.1 });
    for (let s = 1; s <= 30; s++) trainEpisode(env, agent, s);
    expect(agent.mean(env.reset(99))).toBeGreaterThan(0.1);
    env.close();
  });
});
