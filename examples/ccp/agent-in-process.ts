/**
 * A CCP agent and a datapath runtime in one process, joined by the in-process
 * IPC channel and driven by a synthetic ACK stream: a path with a 10 ms RTT
 * that drops a packet whenever more than 50 packets are in flight. Reno runs
 * in the agent; the datapath runs its per-RTT report program on every ACK
 * and applies the cwnd the agent sends back. Prints cwnd once per RTT.
 *
 *   npx tsx examples/ccp/agent-in-process.ts
 */
import { createAgent, createIpcPair, Datapath, reno } from '@bertha/ccp';

const MSS = 1448;
const RTT_US = 10_000;
const PIPE_PACKETS = 50; // bandwidth-delay product plus buffer: more in flight is a loss
const ROUNDS = 40;

// Simulated time, µs: the datapath stamps ACKs with it and the agent reads it,
// so the agent's notion of "one RTT later" matches the ACK stream.
let now = 0;
const { agent: agentEnd, datapath: datapathEnd } = createIpcPair();
const agent = createAgent({ algorithms: [reno()], channel: agentEnd, clock: () => now });

let cwnd = 10 * MSS;
const dp = new Datapath({
  now: () => now,
  setCwnd: (_flow, bytes) => (cwnd = bytes),
  setRate: () => {},
  send: (bytes) => datapathEnd.send(bytes),
});
datapathEnd.onDatagram((bytes) => dp.receive(bytes));

// The in-process channel delivers on a microtask: let the other side run.
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const flow = dp.createFlow({ initCwnd: cwnd, mss: MSS, srcIp: 0x0a000001, srcPort: 40000, dstIp: 0x0a000002, dstPort: 443, algorithm: 'reno' });
await settle(); // the agent installs its programs and picks Reno's for the flow

for (let round = 1; round <= ROUNDS; round++) {
  const packets = Math.floor(cwnd / MSS);
  const lost = packets > PIPE_PACKETS ? 1 : 0;
  // One ACK per packet of the window, spread over the RTT; the first one reports the loss.
  for (let i = 0; i < packets - lost; i++) {
    now += Math.floor(RTT_US / packets);
    dp.invoke(flow, { cwnd, bytesAcked: MSS, packetsAcked: 1, packetsInFlight: packets, rttSampleUs: RTT_US, lostPktsSample: i === 0 ? lost : 0 });
    await settle();
  }
  const cwndPackets = cwnd / MSS;
  console.log(`rtt ${String(round).padStart(2)}  cwnd ${cwndPackets.toFixed(1).padStart(5)} packets  ${'█'.repeat(Math.round(cwndPackets))}${lost ? '  ← loss' : ''}`);
}

console.log(`\nagent: ${agent.stats.reports} reports from ${agent.stats.flowsCreated} flow; datapath: ${dp.stats.reportsSent} reports sent, ${dp.stats.arithmeticFaults} faults`);
dp.closeFlow(flow);
await settle();
await agent.close();
await datapathEnd.close();
