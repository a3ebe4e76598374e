import { InvalidArgumentError } from '@bertha/core';
import { DatagramEndpoint, type IpcChannel } from './channel.js';

class MemoryEndpoint extends DatagramEndpoint {
  peer: MemoryEndpoint | undefined;
  constructor(readonly address: string) {
    super();
  }

  send(bytes: Uint8Array, to?: string): boolean {
    this.checkOpen();
    const peer = this.peer;
    if (to !== undefined && to !== peer?.address) throw new InvalidArgumentError(`in-process IPC channel ${this.address} has no peer ${to}`);
    if (peer === undefined || peer.closed) {
      this.stats.dropped++;
      return false;
    }
    this.stats.sent++;
    // Copy like a socket would, and deliver on a microtask so a handler that
    // answers never re-enters the sender's call stack.
    const copy = bytes.slice();
    queueMicrotask(() => peer.deliver(copy, this.address));
    return true;
  }

  override deliver(bytes: Uint8Array, from: string): void {
    super.deliver(bytes, from);
  }

  protected async release(): Promise<void> {
    this.peer = undefined;
  }
}

/** Two connected in-process channels, for a datapath and an agent in one process (and for tests). */
export function createIpcPair(): { datapath: IpcChannel; agent: IpcChannel } {
  const datapath = new MemoryEndpoint('datapath');
  const agent = new MemoryEndpoint('agent');
  datapath.peer = agent;
  agent.peer = datapath;
  return { datapath, agent };
}
