/** A datapath with a fake clock and recording callbacks; messages from the agent go through the real codec. */
import type { CcpError } from '../../src/errors.js';
import { Datapath, type DatapathOptions } from '../../src/datapath/datapath.js';
import { decodeMessages, encodeMessages } from '../../src/ipc/codec.js';
import type { CcpMessage, CreateInfo, UpdateField } from '../../src/ipc/messages.js';
import type { CompiledProgram } from '../../src/program.js';

export const flowInfo: CreateInfo = { initCwnd: 14_480, mss: 1448, srcIp: 1, srcPort: 2, dstIp: 3, dstPort: 4, algorithm: 'reno' };

export function harness(options?: DatapathOptions) {
  const h = {
    nowUs: 5_000_000,
    agentUp: true,
    sent: [] as CcpMessage[],
    cwnd: [] as [number, number][],
    rate: [] as [number, number][],
    fallbacks: [] as [number, boolean][],
    errors: [] as CcpError[],
    dp: undefined as unknown as Datapath,
    advance(us: number) {
      h.nowUs += us;
    },
    /** Delivers agent → datapath messages as one datagram. */
    fromAgent(...msgs: CcpMessage[]) {
      h.dp.receive(encodeMessages(msgs));
    },
    install(uid: number, program: CompiledProgram) {
      h.fromAgent({ type: 'install', socketId: 0, programUid: uid, program });
    },
    changeProg(socketId: number, programUid: number, updates: UpdateField[] = []) {
      h.fromAgent({ type: 'changeProg', socketId, programUid, updates });
    },
    /** Installs `program` as uid 1, starts a flow running it, and returns its socket id. */
    flowWith(program: CompiledProgram, uid = 1): number {
      h.install(uid, program);
      const id = h.dp.createFlow(flowInfo);
      h.changeProg(id, uid);
      return id;
    },
    measures(): (CcpMessage & { type: 'measure' })[] {
      return h.sent.filter((m): m is CcpMessage & { type: 'measure' } => m.type === 'measure');
    },
    take(): CcpMessage[] {
      return h.sent.splice(0);
    },
  };
  h.dp = new Datapath(
    {
      now: () => h.nowUs,
      setCwnd: (id, b) => h.cwnd.push([id, b]),
      setRate: (id, r) => h.rate.push([id, r]),
      send: (bytes) => {
        if (!h.agentUp) return false;
        h.sent.push(...decodeMessages(bytes));
        return true;
      },
      fallback: (id, on) => h.fallbacks.push([id, on]),
      onError: (err) => h.errors.push(err),
    },
    options,
  );
  return h;
}
