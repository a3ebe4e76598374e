/**
 * A short `ccp-sim`-style run on the public API: BBR and Cubic, each driven
 * by the CCP agent, over a simulated 48 Mbit/s link with a 20 ms RTT and a
 * 2-BDP buffer, for 5 seconds of virtual time (well under a second of wall
 * time). Prints each flow's goodput and queueing delay and writes a plot of
 * throughput per RTT. The full experiments: `npx tsx packages/ccp-lab/src/bin/ccp-sim.ts all --quick`.
 *
 *   npx tsx examples/ccp/sim-demo.ts
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lineChart, Simulator, simPath, writePlot, type LineSeries } from '@bertha/ccp-lab';

const RATE_BPS = 48e6;
const RTT_US = 20_000;
const DURATION_US = 5_000_000;
const BUFFER_BYTES = 2 * (RATE_BPS / 8) * (RTT_US / 1e6);

const series: LineSeries[] = [];
for (const algorithm of ['bbr', 'cubic']) {
  const sim = new Simulator({ seed: 1 });
  const path = simPath(sim, {
    bottleneck: { rateBps: RATE_BPS, delayUs: RTT_US / 2, bufferBytes: BUFFER_BYTES },
    flows: [{ cc: { kind: 'ccp', algorithm } }],
  });
  const sender = path.flows[0]!.sender;
  // Once per RTT: the bytes acknowledged (in order or SACKed) since the last look.
  const points: [number, number][] = [];
  let last = 0;
  const tick = (): void => {
    const delivered = sender.stats.deliveredBytes;
    points.push([sim.now() / 1e6, ((delivered - last) * 8) / RTT_US]);
    last = delivered;
    if (sim.now() + RTT_US <= DURATION_US) sim.after(RTT_US, tick);
  };
  sim.after(RTT_US, tick);
  sim.run({ untilUs: DURATION_US });
  path.close();
  const link = path.dumbbell.bottleneck.stats;
  const goodput = (path.flows[0]!.deliveredBytes * 8) / DURATION_US;
  console.log(
    `${algorithm.padEnd(5)}  goodput ${goodput.toFixed(1)} of ${RATE_BPS / 1e6} Mbit/s  ` +
      `mean queueing delay ${(link.queueDelaySumUs / link.departed / 1000).toFixed(2)} ms  drops ${link.dropped}`,
  );
  series.push({ name: `${algorithm} (CCP)`, points });
}

const file = join(tmpdir(), 'ccp-sim-demo', 'throughput.svg');
await writePlot(file, await lineChart({ title: 'BBR and Cubic over 48 Mbit/s, 20 ms, 2-BDP buffer', x: { label: 'time (s)' }, y: { label: 'Mbit/s per RTT' }, series }));
console.log(`\nplot: ${file}`);
