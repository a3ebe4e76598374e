/**
 * Inelastic cross traffic: a CCP flow paced at a fixed rate whatever the
 * network says (losses are repaired by the transport, never answered by
 * slowing down), like a constant-bit-rate video call.
 */
import { InvalidArgumentError } from '@bertha/core';
import { GENERIC_PROGRAMS, installReporting, type Algorithm, type Flow, type GenericProgram } from '@bertha/ccp';

/** `constant-<Mbit/s>`: paces at `rateBps` with a window that never limits it (4× the rate over `rttUs`). */
export function constantRate(rateBps: number, rttUs: number): Algorithm<Flow, GenericProgram> {
  if (!(rateBps > 0 && rttUs > 0)) throw new InvalidArgumentError(`constant-rate needs a positive rate and RTT, got ${rateBps} bit/s, ${rttUs} µs`);
  const rate = Math.round(rateBps / 8);
  const cwnd = Math.round((4 * rate * rttUs) / 1e6);
  return {
    name: constantRateName(rateBps),
    programs: GENERIC_PROGRAMS,
    newFlow(dp) {
      // Reports every second only: nothing in them changes what the flow does.
      installReporting(dp, { intervalUs: 1_000_000 });
      dp.updateField({ cwnd, rate });
      return { onReport() {} };
    },
  };
}

export const constantRateName = (rateBps: number): string => `constant-${rateBps / 1e6}`;
