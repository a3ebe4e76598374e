/**
 * Runs a `Scenario` on the transport's simulation harness (`simPath`): one
 * `Simulator`, the flows' senders and receivers through a `Dumbbell`, CCP
 * flows driven by an in-process agent on the simulator's clock. Deterministic
 * for a given scenario and seed.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { builtinAlgorithms, inProcessCcpHost, type CcpHost, type CongestionControlOptions } from '@bertha/ccp';
import { simPath } from '../sim/sim-path.js';
import { Simulator } from '../sim/simulator.js';
import { MSS } from './common.js';
import { BinnedCounter } from './metrics.js';
import type { CcSpec, FlowRecord, FlowSample, RunControl, Scenario, ScenarioResult } from './scenario.js';

/** Slices of simulated time between which the run yields to the event loop (progress bar, Ctrl-C). */
const SLICES = 50;

export async function runScenario(s: Scenario, control: RunControl = {}): Promise<ScenarioResult> {
  const sim = new Simulator({ seed: s.seed ?? 1 });
  // One CCP host (runtime + agent) per reporting configuration: the agent's algorithms carry the report mode.
  const hosts = new Map<string, CcpHost>();
  const ccOf = (cc: CcSpec): CongestionControlOptions => {
    if (cc.kind === 'native') return cc;
    const key = JSON.stringify([cc.report, cc.slowStart]);
    let host = hosts.get(key);
    if (host === undefined) {
      host = inProcessCcpHost({ clock: sim, algorithms: [...builtinAlgorithms({ report: cc.report, slowStart: cc.slowStart }), ...(s.algorithms ?? [])], ipcDelayUs: s.agentDelayUs });
      hosts.set(key, host);
    }
    return { kind: 'ccp', algorithm: cc.algorithm, host };
  };
  const sampleUs = s.sampleUs ?? s.binUs;
  const samples: FlowSample[][] = s.flows.map(() => []);
  const path = simPath(sim, {
    ...s.transport,
    mss: MSS,
    bottleneck: s.bottleneck,
    seed: s.seed,
    flows: s.flows.map((f, i) => {
      let next = 0;
      return {
        cc: ccOf(f.cc),
        startUs: f.startUs,
        bytes: f.bytes,
        onSample: (x) => {
          if (x.tUs < next) return;
          next = x.tUs + sampleUs;
          samples[i]!.push({ atUs: x.tUs, cwnd: x.cwnd, rate: x.rate, rttUs: x.srttUs });
        },
      };
    }),
  });
  // Deliveries are read off each sender's counter (acked in order or SACKed, so a
  // hole's repair does not count its whole window at once) at every bin boundary.
  const delivered = s.flows.map(() => new BinnedCounter(s.binUs));
  const last = s.flows.map(() => 0);
  const tick = (): void => {
    const at = sim.now() - s.binUs / 2;
    path.flows.forEach((f, i) => {
      const now = f.sender.stats.deliveredBytes;
      delivered[i]!.add(at, now - last[i]!);
      last[i] = now;
    });
    if (sim.now() + s.binUs <= s.durationUs) sim.after(s.binUs, tick);
  };
  sim.after(s.binUs, tick);
  try {
    for (let k = 1; k <= SLICES; k++) {
      control.signal?.throwIfAborted();
      sim.run({ untilUs: (s.durationUs * k) / SLICES });
      control.onProgress?.(k / SLICES);
      await yieldToLoop();
    }
  } finally {
    path.close();
    await Promise.all([...hosts.values()].map((h) => h.close()));
  }
  const flows: FlowRecord[] = path.flows.map((f, i) => ({
    spec: s.flows[i]!,
    delivered: delivered[i]!,
    deliveredBytes: f.deliveredBytes,
    completionUs: f.completionUs,
    samples: samples[i]!,
  }));
  const link = path.dumbbell.bottleneck;
  return { flows, queueDelays: link.queueDelays, link: { ...link.stats } };
}
