/**
 * CCP IPC and runtime costs.
 *
 *   npx tsx packages/ccp/bench/ipc-rtt.ts            # agent in this process
 *   npx tsx packages/ccp/bench/ipc-rtt.ts --split    # agent in a child process
 *
 * 1. Round trip over Unix datagram sockets: the datapath sends a MEASURE, the
 *    agent decodes it and answers with an UPDATE_FIELDS, the datapath decodes
 *    that (codec included, as in real use). p50/p95/p99 in µs.
 * 2. Runtime cost per ACK of `Datapath.invoke` for two programs compiled by
 *    `lang/`: the generic congestion-avoidance program of spec §5, and a Reno
 *    that grows and halves Cwnd inside the datapath.
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Datapath } from '../src/datapath/index.js';
import { compile } from '../src/lang/index.js';
import { decodeMessages, encodeMessage, openAgentSocket, openDatapathSocket } from '../src/ipc/index.js';
import { RegType } from '../src/program.js';

const WARMUP = 2_000;
const ROUNDS = 20_000;
const ACKS = 1_000_000;

const reply = encodeMessage({ type: 'updateFields', socketId: 1, updates: [{ regType: RegType.Implicit, regIndex: 4, value: 42_000 }] });

/** Agent side: answer every MEASURE with an UPDATE_FIELDS to its sender. */
async function runAgent(path: string): Promise<() => Promise<void>> {
  const agent = await openAgentSocket({ path });
  agent.onDatagram((bytes, from) => {
    const [m] = decodeMessages(bytes);
    if (m?.type === 'measure') agent.send(reply, from);
  });
  return () => agent.close();
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function ipcRoundTrip(split: boolean): Promise<void> {
  const dir = await mkdtemp('/tmp/ccp-bench-');
  const agentPath = join(dir, 'portus');
  let stopAgent: () => Promise<void>;
  if (split) {
    const child = fork(process.argv[1]!, ['--agent', agentPath], { execArgv: process.execArgv });
    await new Promise<void>((resolve) => child.once('message', () => resolve()));
    stopAgent = async () => {
      child.kill();
    };
  } else {
    stopAgent = await runAgent(agentPath);
  }
  const dp = await openDatapathSocket({ agentPath, path: join(dir, 'dp') });
  const measure = encodeMessage({ type: 'measure', socketId: 1, programUid: 1, fields: [14_480, 0, 0, 0, 10_000, 10] });
  let resolveRound: () => void = () => {};
  dp.onDatagram((bytes) => {
    decodeMessages(bytes);
    resolveRound();
  });
  const rtts = new Float64Array(ROUNDS);
  for (let i = 0; i < WARMUP + ROUNDS; i++) {
    const done = new Promise<void>((r) => (resolveRound = r));
    const t0 = process.hrtime.bigint();
    dp.send(measure);
    await done;
    if (i >= WARMUP) rtts[i - WARMUP] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  rtts.sort();
  const f = (x: number) => x.toFixed(1);
  console.log(
    `IPC round trip (Unix datagram, MEASURE → UPDATE_FIELDS, codec included, agent ${split ? 'in a child process' : 'in-process'}, ${ROUNDS} rounds): ` +
      `p50 ${f(percentile(rtts, 0.5))} µs, p95 ${f(percentile(rtts, 0.95))} µs, p99 ${f(percentile(rtts, 0.99))} µs`,
  );
  await dp.close();
  await stopAgent();
  await rm(dir, { recursive: true, force: true });
}

const GENERIC = `
(def (Report (volatile acked 0) (volatile sacked 0) (volatile loss 0)
  (volatile timeout false) (volatile rtt 0) (volatile inflight 0)))
(when true
  (:= Report.inflight Flow.packets_in_flight) (:= Report.rtt Flow.rtt_sample_us)
  (:= Report.acked (+ Report.acked Ack.bytes_acked)) (:= Report.sacked (+ Report.sacked Ack.packets_misordered))
  (:= Report.loss Ack.lost_pkts_sample) (:= Report.timeout Flow.was_timeout) (fallthrough))
(when (|| Report.timeout (> Report.loss 0)) (report) (:= Micros 0))
(when (> Micros Flow.rtt_sample_us) (report) (:= Micros 0))`;

const RENO = `
(def (Report (volatile loss 0)) (mss 1448))
(when true (:= Cwnd (+ Cwnd (/ (* mss Ack.bytes_acked) Cwnd))) (:= Report.loss Ack.lost_pkts_sample) (fallthrough))
(when (> Report.loss 0) (:= Cwnd (max (/ Cwnd 2) (* 2 mss))) (report))`;

function perAck(name: string, source: string): void {
  let now = 0;
  let cwnd = 14_480;
  let reports = 0;
  const dp = new Datapath({
    now: () => now,
    setCwnd: (_id, b) => (cwnd = b),
    setRate: () => {},
    send: () => void reports++,
  });
  const program = compile(source);
  dp.install(1, program);
  const id = dp.createFlow({ initCwnd: cwnd, mss: 1448, srcIp: 1, srcPort: 2, dstIp: 3, dstPort: 4, algorithm: '' });
  dp.handleMessage({ type: 'changeProg', socketId: id, programUid: 1, updates: [] });
  const prims = { cwnd, bytesAcked: 1448, packetsAcked: 1, packetsInFlight: 10, rttSampleUs: 10_000, lostPktsSample: 0 };
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      now += 10; // an ACK every 10 µs: a report per 1000 ACKs for the generic program
      prims.cwnd = cwnd;
      prims.lostPktsSample = i % 5000 === 4999 ? 1 : 0;
      dp.invoke(id, prims);
    }
  };
  run(100_000); // warm up the JIT
  reports = 0;
  const t0 = process.hrtime.bigint();
  run(ACKS);
  const ns = Number(process.hrtime.bigint() - t0) / ACKS;
  console.log(
    `runtime per ACK, ${name} (${program.instructions.length} instructions, ${program.events.length} events): ${ns.toFixed(0)} ns ` +
      `(${ACKS} ACKs, ${reports} reports sent; ${dp.stats.arithmeticFaults} faults)`,
  );
}

const agentAt = process.argv.indexOf('--agent');
if (agentAt >= 0) {
  await runAgent(process.argv[agentAt + 1]!);
  process.send?.('ready');
} else {
  await ipcRoundTrip(process.argv.includes('--split'));
  perAck('generic (spec §5)', GENERIC);
  perAck('Reno in the datapath', RENO);
}
