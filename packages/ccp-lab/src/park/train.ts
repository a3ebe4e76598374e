/** Plays episodes of the environment with a policy, and trains the policy-gradient agent on them. */
import type { CongestionControlEnv } from './env.js';
import type { Policy } from './policy.js';
import type { LinearPolicyGradient } from './policy-gradient.js';

/** Mean reward per step of one episode played by `policy` from `env.reset(seed)`. */
export function playEpisode(env: CongestionControlEnv, policy: Policy, seed: number, onReward?: (r: number) => void): number {
  let obs = env.reset(seed);
  let total = 0;
  let steps = 0;
  for (;;) {
    const r = env.step(policy(obs));
    onReward?.(r.reward);
    total += r.reward;
    steps++;
    obs = r.observation;
    if (r.done) return total / steps;
  }
}

/** One training episode: explores, then updates the agent; returns the episode's mean reward per step. */
export function trainEpisode(env: CongestionControlEnv, agent: LinearPolicyGradient, seed: number): number {
  const reward = playEpisode(env, (obs) => agent.act(obs), seed, (r) => agent.reward(r));
  agent.endEpisode();
  return reward;
}
