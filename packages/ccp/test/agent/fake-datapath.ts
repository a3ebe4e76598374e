import { AgentCore, type AgentCoreOptions } from '../../src/agent/agent.js';
import { decodeMessages, encodeMessage } from '../../src/ipc/codec.js';
import type { CcpMessage } from '../../src/ipc/messages.js';

/** Drives an `AgentCore` as datapath `peer` would, collecting the agent's replies. */
export class FakeDatapath {
  readonly sent: CcpMessage[] = [];
  constructor(
    readonly agent: AgentCore,
    readonly peer = 'dp1',
  ) {}

  deliver(msg: CcpMessage): void {
    this.raw(encodeMessage(msg));
  }

  raw(bytes: Uint8Array): void {
    this.agent.handleDatagram(this.peer, bytes, (d) => this.sent.push(...decodeMessages(d)));
  }

  ready(): void {
    this.deliver({ type: 'ready', datapathId: 1 });
  }

  create(socketId: number, algorithm = 'reno', extra: { initCwnd?: number; mss?: number; dstIp?: number } = {}): void {
    this.deliver({
      type: 'create',
      socketId,
      initCwnd: extra.initCwnd ?? 10 * 1448,
      mss: extra.mss ?? 1448,
      srcIp: 0x7f000001,
      srcPort: 40000 + socketId,
      dstIp: extra.dstIp ?? 0x0a000001,
      dstPort: 5000,
      algorithm,
    });
  }

  measure(socketId: number, programUid: number, fields: number[]): void {
    this.deliver({ type: 'measure', socketId, programUid, fields });
  }

  close(socketId: number): void {
    this.deliver({ type: 'close', socketId });
  }

  /** Messages of one type sent since the last `take`. */
  take<T extends CcpMessage['type']>(type: T): Array<Extract<CcpMessage, { type: T }>> {
    const out = this.sent.filter((m): m is Extract<CcpMessage, { type: T }> => m.type === type);
    this.sent.length = 0;
    return out;
  }
}

export function core(options: Partial<AgentCoreOptions> & Pick<AgentCoreOptions, 'algorithms'>): AgentCore {
  return new AgentCore({ log: () => {}, clock: () => 0, ...options });
}
