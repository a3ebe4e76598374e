import { compile, Datapath, GENERIC_PROGRAMS } from '@bertha/ccp';
const program = compile(GENERIC_PROGRAMS.rtt);
let cwnd = 14480; let time = 0;
const dp = new Datapath({ now: () => time, setCwnd: (_id, b) => (cwnd = b), setRate: () => {}, send: () => true }, { runtime: 'compiled' });
dp.install(1, program);
const sid = dp.createFlow({ initCwnd: cwnd, mss: 1448, srcIp: 1, srcPort: 2, dstIp: 3, dstPort: 4, algorithm: 'reno' });
dp.handleMessage({ type: 'changeProg', socketId: sid, programUid: 1, updates: [] });
const prims = { cwnd: 14480, bytesAcked: 1448, packetsAcked: 1, packetsInFlight: 10, rttSampleUs: 10000, rateIncoming: 1_448_000, rateOutgoing: 1_448_000, lostPktsSample: 0 };
const t0 = performance.now();
for (let i = 0; i < 2e7; i++) { time += 10; prims.cwnd = cwnd; prims.lostPktsSample = i % 5000 === 4999 ? 1 : 0; dp.invoke(sid, prims); }
console.log((performance.now() - t0) * 1e6 / 2e7, 'ns/ACK');
