/**
 * Agent throughput: 10,000 concurrent Reno flows, each reporting once per
 * 10 ms of virtual time, fed to the agent in process as fast as it takes them.
 * Prints reports/s (target ≥ 200,000 on one core) and writes JSON.
 *
 *   npx tsx packages/ccp/bench/agent-throughput.ts [--flows 10000] [--seconds 3]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AgentCore } from '../src/agent/agent.js';
import { reno } from '../src/algorithms/reno.js';
import { decodeMessages, encodeMessage } from '../src/ipc/codec.js';

const { values } = parseArgs({ options: { flows: { type: 'string', default: '10000' }, seconds: { type: 'string', default: '3' } } });
const FLOWS = Number(values.flows);
const SECONDS = Number(values.seconds);
const MSS = 1448;
const PERIOD_US = 10_000;

let replies = 0;
let virtualNow = 0;
let uid = 0;
let setup = true;
const agent = new AgentCore({ algorithms: [reno()], clock: () => virtualNow, log: () => {} });
// The datapath's side of the channel: count replies; during setup, learn the program uid from CHANGE_PROG.
const send = (d: Uint8Array): void => {
  replies += 1;
  if (setup) for (const m of decodeMessages(d)) if (m.type === 'changeProg') uid = m.programUid;
};

agent.handleDatagram('dp', encodeMessage({ type: 'ready', datapathId: 1 }), send);
for (let sid = 1; sid <= FLOWS; sid++) {
  const create = encodeMessage({ type: 'create', socketId: sid, initCwnd: 10 * MSS, mss: MSS, srcIp: 1, srcPort: sid, dstIp: 2, dstPort: 80, algorithm: 'reno' });
  agent.handleDatagram('dp', create, send);
}
setup = false;
replies = 0;
// One MEASURE per flow, as the generic per-RTT program reports them: acked sacked loss timeout rtt minrtt inflight ecn rate cwnd.
const reports = Array.from({ length: FLOWS }, (_, i) =>
  encodeMessage({ type: 'measure', socketId: i + 1, programUid: uid, fields: [10 * MSS, 0, i % 100 === 0 ? 1 : 0, 0, PERIOD_US, PERIOD_US, 10, 0, 0, 10 * MSS] }),
);

const start = performance.now();
let handled = 0;
let rounds = 0;
while (performance.now() - start < SECONDS * 1000) {
  virtualNow += PERIOD_US;
  for (const r of reports) agent.handleDatagram('dp', r, send);
  handled += FLOWS;
  rounds += 1;
}
const elapsed = (performance.now() - start) / 1000;
const perSecond = handled / elapsed;
const result = {
  benchmark: 'agent-throughput',
  flows: FLOWS,
  reportPeriodMs: PERIOD_US / 1000,
  reports: handled,
  rounds,
  seconds: Number(elapsed.toFixed(3)),
  reportsPerSecond: Math.round(perSecond),
  /** Reports/s that 10 ms reporting from this many flows needs in real time. */
  neededPerSecond: FLOWS * (1e6 / PERIOD_US),
  target: 200_000,
  replies,
  dropped: agent.stats.staleReports + agent.stats.unknownProgram + agent.stats.unknownFlow + agent.stats.malformedReports + agent.stats.algorithmErrors,
};
console.table([
  { metric: 'flows', value: FLOWS },
  { metric: 'reports handled', value: handled },
  { metric: 'reports/s', value: result.reportsPerSecond },
  { metric: 'target reports/s', value: result.target },
  { metric: 'real-time need at 10 ms', value: result.neededPerSecond },
  { metric: 'replies sent', value: replies },
  { metric: 'dropped', value: result.dropped },
]);
mkdirSync('bench-results', { recursive: true });
writeFileSync('bench-results/agent-throughput.json', `${JSON.stringify(result, null, 2)}\n`);
