/** A policy maps an observation to an action; the environment's reference policy is Vegas's. */
import type { CongestionControlEnv } from './env.js';

export type Policy = (observation: readonly number[]) => number[];

/** Index of Vegas's window / BDP in the observation. */
const VEGAS_WINDOW = 4;

/** Vegas: the action that sets the window to Vegas's own (multiplier 1 in the confined space). */
export function vegasPolicy(env: CongestionControlEnv): Policy {
  return (obs) => {
    const vegas = obs[VEGAS_WINDOW]! * env.bdpBytes;
    return [env.actionFor(vegas, vegas)];
  };
}
