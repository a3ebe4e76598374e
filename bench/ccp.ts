/**
 * CCP costs (GitHub issue 4), each next to its baseline from the same run:
 *
 * (a) IPC round trip over Unix datagram sockets, with the agent in another
 *     process (as in the paper, both ends have a core): the datapath encodes a
 *     MEASURE, the agent decodes it, runs Reno and answers UPDATE_FIELDS, the
 *     datapath decodes that. Baselines: a bare unix-dgram echo of the same
 *     bytes (the transport floor), and the paper's 30 µs for C and Rust.
 *     Kinds alternate round by round so machine noise hits them alike.
 * (b) Agent throughput: 10,000 Reno flows each reporting every 10 ms of
 *     virtual time, fed to the agent in this process as fast as it takes
 *     them. Baselines: the 200,000/s target, the 1,000,000/s those flows need
 *     in real time, and decoding the same datagrams alone.
 * (c) Datapath runtime per ACK: Reno's default program (the generic per-RTT
 *     report) and a Reno that moves Cwnd in the datapath, each run by the
 *     compiled runtime and by the interpreter, against the same arithmetic
 *     written natively in TS; the three rotate within each repetition, rows
 *     give the median of per-repetition ratios and their p25–p75.
 * (d) Simulation in CCP mode: simulated seconds per wall second of a fixed
 *     scenario, compiled runtime vs interpreter, alternating run by run; and
 *     the shape of GitHub issue 16 (one Reno flow, 96 Mbit/s, 20 ms RTT, a
 *     1-BDP buffer, through `simulateFlow`), CCP and native Reno alternating,
 *     against the 15 and 41 simulated s per wall s recorded when it was filed
 *     (its goal: CCP mode at least 4× faster).
 *
 *   pnpm bench ccp [--rounds 20000] [--seconds 3] [--reps 15] [--only ipc,agent,runtime,sim]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  AgentCore,
  compile,
  createAgent,
  Datapath,
  decodeMessages,
  encodeMessage,
  GENERIC_PROGRAMS,
  openAgentSocket,
  openDatapathSocket,
  reno,
  type DatapathRuntime,
  type IpcChannel,
  type Primitives,
} from '@bertha/ccp';
import { runScenario, simulateFlow } from '@bertha/ccp-lab';
import { pairedResult } from './lib/paired.js';
import { percentile, report, result, type Result } from './lib/results.js';

const MSS = 1448;
const RTT_US = 10_000;

/** The unix-dgram addon @bertha/ccp uses, for the bare baseline. */
interface RawSocket {
  bind(path: string): void;
  send(buf: Buffer, offset: number, length: number, path: string, cb?: (err?: Error) => void): void;
  on(event: 'message', cb: (buf: Buffer, rinfo: { path?: string }) => void): void;
  close(): void;
}
const unixDgram = createRequire(new URL('../packages/ccp/package.json', import.meta.url))('unix-dgram') as {
  createSocket(type: 'unix_dgram'): RawSocket;
};

function rawSocket(path: string): RawSocket {
  const s = unixDgram.createSocket('unix_dgram');
  s.bind(path);
  return s;
}

/** One MEASURE of the generic program's 11 fields: acked sacked loss timeout rtt minrtt inflight ecn rate cwnd now. */
const measureOf = (socketId: number, programUid: number, loss = 0): Uint8Array =>
  encodeMessage({ type: 'measure', socketId, programUid, fields: [10 * MSS, 0, loss, 0, RTT_US, RTT_US, 10, 0, 1_448_000, 10 * MSS, 0] });

// ---------------------------------------------------------------- (a) peer process

interface PeerPaths {
  agent: string;
  echo: string;
}

/** The other process: the real agent (Reno) on one socket, a bare echo on another. */
async function runPeer(dir: string): Promise<void> {
  const paths: PeerPaths = { agent: join(dir, 'agent'), echo: join(dir, 'echo') };
  const agent = createAgent({ algorithms: [reno()], channel: await openAgentSocket({ path: paths.agent }), log: () => {} });
  const echo = rawSocket(paths.echo);
  echo.on('message', (buf, rinfo) => echo.send(buf, 0, buf.length, rinfo.path ?? ''));
  process.on('message', () => {
    echo.close();
    void agent.close().then(() => process.exit(0));
  });
  process.send?.(paths);
}

// ---------------------------------------------------------------- (a) round trips

type RoundTrip = () => Promise<void>;

/** A round trip through our datapath socket to the agent: encode MEASURE, agent runs Reno, decode UPDATE_FIELDS. */
async function agentRoundTrip(agentPath: string, path: string): Promise<{ rt: RoundTrip; channel: IpcChannel }> {
  const channel = await openDatapathSocket({ agentPath, path });
  let uid = 0;
  let wake: () => void = () => {};
  channel.onDatagram((bytes) => {
    for (const m of decodeMessages(bytes)) if (m.type === 'changeProg') uid = m.programUid;
    wake();
  });
  const replied = (): Promise<void> => new Promise((resolve) => (wake = resolve));
  // READY makes the agent install its programs; CREATE makes it choose one for flow 1.
  let next = replied();
  channel.send(encodeMessage({ type: 'ready', datapathId: 1 }));
  channel.send(encodeMessage({ type: 'create', socketId: 1, initCwnd: 10 * MSS, mss: MSS, srcIp: 1, srcPort: 2, dstIp: 3, dstPort: 4, algorithm: 'reno' }));
  while (uid === 0) {
    await next;
    next = replied();
  }
  let i = 0;
  const rt = (): Promise<void> => {
    const done = replied();
    // An occasional loss keeps Reno's window in a realistic range over many rounds.
    channel.send(measureOf(1, uid, ++i % 100 === 0 ? 1 : 0));
    return done;
  };
  return { rt, channel };
}

/** The same MEASURE bytes to a bare unix-dgram echo and back: the transport floor. */
function echoRoundTrip(echoPath: string, path: string): { rt: RoundTrip; socket: RawSocket } {
  const socket = rawSocket(path);
  const bytes = Buffer.from(measureOf(1, 1));
  let wake: () => void = () => {};
  socket.on('message', () => wake());
  const rt = (): Promise<void> => {
    const done = new Promise<void>((resolve) => (wake = resolve));
    socket.send(bytes, 0, bytes.length, echoPath);
    return done;
  };
  return { rt, socket };
}

async function ipcRoundTrips(rounds: number): Promise<Result[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ccp-bench-'));
  let peer: ChildProcess | undefined;
  try {
    peer = fork(fileURLToPath(import.meta.url), ['--peer', dir], { execArgv: process.execArgv, stdio: 'inherit' });
    const paths = await new Promise<PeerPaths>((resolve, reject) => {
      peer!.once('message', (m) => resolve(m as PeerPaths));
      peer!.once('exit', (code) => reject(new Error(`the agent process exited with ${code}`)));
    });
    const agent = await agentRoundTrip(paths.agent, join(dir, 'dp'));
    const echo = echoRoundTrip(paths.echo, join(dir, 'raw'));
    const kinds = { agent: agent.rt, echo: echo.rt };
    const samples: Record<keyof typeof kinds, number[]> = { agent: [], echo: [] };
    const warmup = 2_000;
    for (let i = 0; i < warmup + rounds; i++) {
      for (const kind of ['agent', 'echo'] as const) {
        const t0 = performance.now();
        await kinds[kind]();
        if (i >= warmup) samples[kind].push((performance.now() - t0) * 1000);
      }
    }
    await agent.channel.close();
    echo.socket.close();
    peer.send('stop');
    await new Promise((resolve) => peer!.once('exit', resolve));
    const a = samples.agent.sort((x, y) => x - y);
    const e = samples.echo.sort((x, y) => x - y);
    const row = (p: number): Result =>
      result(`(a) IPC round trip p${p}: agent (codec + Reno, other process) vs bare unix-dgram echo`, percentile(a, p), percentile(e, p), 'µs');
    return [row(50), row(95), row(99), result('(a) IPC round trip p95 vs the paper\'s 30 µs (C, Rust)', percentile(a, 95), 30, 'µs')];
  } finally {
    if (peer !== undefined && peer.exitCode === null) peer.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- (b) agent throughput

function agentThroughput(flows: number, seconds: number): Result[] {
  let now = 0;
  let replies = 0;
  // Each flow's program: Reno changes it when its slow start ends (at the first loss), and reports of the old one are stale.
  const uids = new Map<number, number>();
  let learning = true;
  // The agent keeps the first `send` it is given for a peer: one function serves set-up (learning the uids) and the run.
  const send = (d: Uint8Array): void => {
    replies += 1;
    if (learning) for (const m of decodeMessages(d)) if (m.type === 'changeProg') uids.set(m.socketId, m.programUid);
  };
  // One datapath holds every flow: lift the agent's per-datapath bound (4096) above them.
  const agent = new AgentCore({ algorithms: [reno()], clock: () => now, log: () => {}, maxFlowsPerDatapath: flows });
  agent.handleDatagram('dp', encodeMessage({ type: 'ready', datapathId: 1 }), send);
  for (let sid = 1; sid <= flows; sid++) {
    const create = encodeMessage({ type: 'create', socketId: sid, initCwnd: 10 * MSS, mss: MSS, srcIp: 1, srcPort: sid, dstIp: 2, dstPort: 80, algorithm: 'reno' });
    agent.handleDatagram('dp', create, send);
  }
  // One MEASURE per flow per round; 1 % of them report a loss. A first round ends the lossy flows' slow start.
  const reportsNow = (): Uint8Array[] => Array.from({ length: flows }, (_, i) => measureOf(i + 1, uids.get(i + 1)!, i % 100 === 0 ? 1 : 0));
  for (const r of reportsNow()) agent.handleDatagram('dp', r, send);
  const reports = reportsNow();
  learning = false;

  /** Runs `each` over every report, round after round, for `ms`; returns items per second. */
  const perSecond = (ms: number, each: (d: Uint8Array) => void): number => {
    const start = performance.now();
    let handled = 0;
    while (performance.now() - start < ms) {
      now += RTT_US;
      for (const r of reports) each(r);
      handled += flows;
    }
    return handled / ((performance.now() - start) / 1000);
  };
  const handle = (d: Uint8Array): void => agent.handleDatagram('dp', d, send);
  perSecond(300, handle); // warm up
  perSecond(200, decodeMessages);
  const before = { ...agent.stats, replies };
  const agentRate = perSecond(seconds * 1000, handle);
  const decodeRate = perSecond((seconds * 1000) / 2, decodeMessages);
  const dropped = agent.stats.algorithmErrors + agent.stats.staleReports + agent.stats.malformedReports + agent.stats.unknownFlow;
  if (dropped > 0 || agent.stats.reports === before.reports || replies === before.replies) throw new Error(`agent throughput run is broken: ${JSON.stringify(agent.stats)}`);
  const label = `${flows.toLocaleString('en')} Reno flows, in process`;
  return [
    result(`(b) agent reports/s, ${label} vs the 200,000/s target`, agentRate, 200_000, 'reports/s'),
    result(`(b) agent reports/s, ${label} vs their real-time need (every 10 ms)`, agentRate, flows * (1e6 / RTT_US), 'reports/s'),
    result('(b) agent reports/s vs decoding the same datagrams only', agentRate, decodeRate, 'reports/s'),
  ];
}

// ---------------------------------------------------------------- (c) runtime per ACK

/** Reno in the datapath: grow Cwnd by one MSS per window, halve it on loss (and report the loss). */
const RENO_IN_DATAPATH = `
(def (Report (volatile loss 0)) (mss 1448))
(when true (:= Cwnd (+ Cwnd (/ (* mss Ack.bytes_acked) Cwnd))) (:= Report.loss Ack.lost_pkts_sample) (fallthrough))
(when (> Report.loss 0) (:= Cwnd (max (/ Cwnd 2) (* 2 mss))) (report))`;

/**
 * One side of (c): runs one ACK and returns the window it leaves. A bare
 * function, so the harness costs every side the same: it used to read the
 * window through an object-literal getter, and V8 keeps such objects in
 * dictionary mode (~10 ns of lookups per ACK, charged to some sides only).
 */
type AckTarget = (prims: Primitives, now: number) => number;

/** A Datapath running `source` on one flow, compiled or interpreted. */
function onDatapath(source: string, runtime: DatapathRuntime): AckTarget {
  const program = compile(source);
  let cwnd = 10 * MSS;
  let time = 0;
  const dp = new Datapath({ now: () => time, setCwnd: (_id, b) => (cwnd = b), setRate: () => {}, send: sink }, { runtime });
  dp.install(1, program);
  const sid = dp.createFlow({ initCwnd: cwnd, mss: MSS, srcIp: 1, srcPort: 2, dstIp: 3, dstPort: 4, algorithm: 'reno' });
  dp.handleMessage({ type: 'changeProg', socketId: sid, programUid: 1, updates: [] });
  return (prims, now) => {
    time = now;
    dp.invoke(sid, prims);
    return cwnd;
  };
}

const NO_RTT = 0xffff_ffff;

/** Where both sides of (c) send their reports. */
let reportBytes = 0;
const sink = (bytes: Uint8Array): boolean => {
  reportBytes += bytes.length;
  return true;
};

/** GENERIC_PROGRAMS.rtt written natively: the same fold, the same report once per RTT or on loss. */
function nativeGeneric(): AckTarget {
  let acked = 0, sacked = 0, loss = 0, timeout = 0, rtt = 0, minrtt = NO_RTT, inflight = 0, ecn = 0, rate = 0, cwnd = 0, ackNow = 0;
  let timeZero = 0;
  return (p, now) => {
    const rttSample = p.rttSampleUs || NO_RTT;
    acked += p.bytesAcked ?? 0;
    sacked += p.packetsMisordered ?? 0;
    loss += p.lostPktsSample ?? 0;
    timeout = p.wasTimeout === true ? 1 : 0;
    rtt = rttSample;
    minrtt = Math.min(minrtt, rttSample);
    inflight = p.packetsInFlight ?? 0;
    ecn += p.ecnBytes ?? 0;
    rate = Math.max(rate, Math.min(p.rateIncoming ?? 0, p.rateOutgoing ?? 0));
    cwnd = p.cwnd;
    ackNow = now;
    if (timeout !== 0 || loss > 0 || now - timeZero > rttSample) {
      timeZero = now;
      sink(encodeMessage({ type: 'measure', socketId: 1, programUid: 1, fields: [acked, sacked, loss, timeout, rtt, minrtt, inflight, ecn, rate, cwnd, ackNow] }));
      acked = sacked = loss = timeout = rtt = inflight = ecn = rate = cwnd = ackNow = 0;
      minrtt = NO_RTT;
    }
    return p.cwnd; // the generic program leaves Cwnd as it is
  };
}

/** RENO_IN_DATAPATH written natively. */
function nativeReno(): AckTarget {
  return (p) => {
    let cwnd = p.cwnd + Math.floor((MSS * (p.bytesAcked ?? 0)) / p.cwnd);
    const loss = p.lostPktsSample ?? 0;
    if (loss > 0) {
      cwnd = Math.max(Math.floor(cwnd / 2), 2 * MSS);
      sink(encodeMessage({ type: 'measure', socketId: 1, programUid: 1, fields: [loss] }));
    }
    return cwnd;
  };
}

/**
 * ns per ACK of each target: an ACK every 10 µs (a per-RTT report every 1,000
 * ACKs), a loss every 5,000. Each repetition runs every target once, in an
 * order rotated per repetition; returns the per-repetition figures per target.
 * Time is this process's CPU time, not wall time: on a shared, overloaded
 * machine wall time mostly measures how long the process waited for a core.
 */
function perAck(targets: readonly AckTarget[], reps: number, acks: number): number[][] {
  const prims = { cwnd: 10 * MSS, bytesAcked: MSS, packetsAcked: 1, packetsInFlight: 10, rttSampleUs: RTT_US, rateIncoming: 1_448_000, rateOutgoing: 1_448_000, lostPktsSample: 0 };
  const run = (ack: AckTarget, n: number): number => {
    let now = 0;
    prims.cwnd = 10 * MSS;
    const t0 = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      now += 10;
      prims.lostPktsSample = i % 5000 === 4999 ? 1 : 0;
      prims.cwnd = ack(prims, now);
    }
    const cpu = process.cpuUsage(t0);
    return ((cpu.user + cpu.system) * 1000) / n;
  };
  for (const t of targets) run(t, 200_000);
  const out = targets.map((): number[] => []);
  for (let r = 0; r < reps; r++) {
    for (let k = 0; k < targets.length; k++) {
      const j = (r + k) % targets.length;
      out[j]!.push(run(targets[j]!, acks));
    }
  }
  return out;
}

function runtimeCosts(reps: number): Result[] {
  const cases = [
    { label: `Reno's default program (generic per-RTT, ${compile(GENERIC_PROGRAMS.rtt).instructions.length} instr.)`, source: GENERIC_PROGRAMS.rtt, native: nativeGeneric() },
    { label: `Reno moving Cwnd in the datapath (${compile(RENO_IN_DATAPATH).instructions.length} instr.)`, source: RENO_IN_DATAPATH, native: nativeReno() },
  ];
  const rows: Result[] = [];
  for (const c of cases) {
    const [native, compiled, interpreted] = perAck([c.native, onDatapath(c.source, 'compiled'), onDatapath(c.source, 'interpreter')], reps, 300_000);
    rows.push(
      pairedResult(`(c) compiled runtime CPU ns/ACK, ${c.label} vs native TS`, compiled!, native!, 'ns'),
      pairedResult(`(c) interpreter CPU ns/ACK, ${c.label} vs native TS`, interpreted!, native!, 'ns'),
      pairedResult(`(c) compiled runtime CPU ns/ACK, ${c.label} vs interpreter`, compiled!, interpreted!, 'ns'),
    );
  }
  if (reportBytes === 0) throw new Error('the runtime benchmark sent no reports');
  return rows;
}

// ---------------------------------------------------------------- (d) simulation in CCP mode

/**
 * One Cubic flow driven by the in-process agent through a 48 Mbit/s, 20 ms
 * RTT bottleneck for `seconds` of simulated time; returns simulated seconds
 * per wall second. The runtime is picked through BERTHA_CCP_RUNTIME, which
 * each Datapath reads when it is created.
 */
async function simSpeed(runtime: DatapathRuntime, seconds: number): Promise<number> {
  process.env.BERTHA_CCP_RUNTIME = runtime;
  const t0 = performance.now();
  const r = await runScenario({
    bottleneck: { rateBps: 48e6, delayUs: 10_000, bufferBytes: 120_000 },
    flows: [{ cc: { kind: 'ccp', algorithm: 'cubic' } }],
    durationUs: seconds * 1e6,
    binUs: 20_000,
  });
  const wall = (performance.now() - t0) / 1000;
  delete process.env.BERTHA_CCP_RUNTIME;
  if (r.flows[0]!.deliveredBytes === 0) throw new Error('the simulated flow delivered nothing');
  return seconds / wall;
}

async function simulation(reps: number): Promise<Result[]> {
  await simSpeed('compiled', 1); // warm up
  await simSpeed('interpreter', 1);
  const compiled: number[] = [];
  const interpreted: number[] = [];
  for (let r = 0; r < reps; r++) {
    // ABBA…: alternate which goes first.
    for (const runtime of r % 2 === 0 ? (['compiled', 'interpreter'] as const) : (['interpreter', 'compiled'] as const)) {
      (runtime === 'compiled' ? compiled : interpreted).push(await simSpeed(runtime, 4));
    }
  }
  return [pairedResult('(d) simulation in CCP mode (1 Cubic flow, 48 Mbit/s, 20 ms), simulated s per wall s: compiled runtime vs interpreter', compiled, interpreted, 's/s')];
}

/** Simulated s per wall s and per CPU s of one Reno flow through issue 16's path. */
function issueShapeSpeed(kind: 'ccp' | 'native', seconds: number): { wall: number; cpu: number } {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const r = simulateFlow({
    bottleneck: { rateBps: 96e6, delayUs: 10_000, bufferBytes: 240_000 },
    durationUs: seconds * 1e6,
    flow: { cc: { kind, algorithm: 'reno' } },
  });
  const cpu = process.cpuUsage(c0);
  const wall = (performance.now() - t0) / 1000;
  if (r.utilisation < 0.9) throw new Error(`the simulated ${kind} Reno flow used only ${r.utilisation} of the link`);
  return { wall: seconds / wall, cpu: seconds / ((cpu.user + cpu.system) / 1e6) };
}

/** What issue 16 recorded for its shape when it was filed, simulated s per wall s. */
const ISSUE16 = { ccp: 15, native: 41 };

function issueShape(reps: number): Result[] {
  for (let i = 0; i < 3; i++) {
    issueShapeSpeed('ccp', 2); // warm up
    issueShapeSpeed('native', 2);
  }
  const ccp: { wall: number; cpu: number }[] = [];
  const native: { wall: number; cpu: number }[] = [];
  for (let r = 0; r < reps; r++) {
    for (const kind of r % 2 === 0 ? (['ccp', 'native'] as const) : (['native', 'ccp'] as const)) {
      (kind === 'ccp' ? ccp : native).push(issueShapeSpeed(kind, 10));
    }
  }
  const shape = '1 Reno flow, 96 Mbit/s, 20 ms';
  const recorded = (n: number): number[] => ccp.map(() => n);
  return [
    pairedResult(`(d) simulation in CCP mode (${shape}), simulated s per wall s vs the 15 s/s recorded when issue 16 was filed (goal: 4)`, ccp.map((x) => x.wall), recorded(ISSUE16.ccp), 's/s'),
    pairedResult(`(d) simulation with native Reno (${shape}), simulated s per wall s vs the 41 s/s recorded then`, native.map((x) => x.wall), recorded(ISSUE16.native), 's/s'),
    pairedResult(`(d) simulation (${shape}), simulated s per CPU s: CCP mode vs native Reno`, ccp.map((x) => x.cpu), native.map((x) => x.cpu), 's/s'),
  ];
}

// ---------------------------------------------------------------- main

const peerAt = process.argv.indexOf('--peer');
if (peerAt >= 0) {
  await runPeer(process.argv[peerAt + 1]!);
} else {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '20000' },
      seconds: { type: 'string', default: '3' },
      flows: { type: 'string', default: '10000' },
      reps: { type: 'string', default: '15' },
      only: { type: 'string' },
    },
  });
  const only = values.only;
  const parts = only === undefined ? ['ipc', 'agent', 'runtime', 'sim'] : only.split(',');
  const results: Result[] = [];
  if (parts.includes('ipc')) results.push(...(await ipcRoundTrips(Number(values.rounds))));
  if (parts.includes('agent')) results.push(...agentThroughput(Number(values.flows), Number(values.seconds)));
  if (parts.includes('runtime')) results.push(...runtimeCosts(Number(values.reps)));
  if (parts.includes('sim')) results.push(...(await simulation(Math.max(3, Math.floor(Number(values.reps) / 3)))), ...issueShape(Number(values.reps)));
  report('ccp', results);
  // Absolute figures move with machine load; the ratios to same-run baselines move much less.
  console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}
