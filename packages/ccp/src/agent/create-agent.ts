/** Binds an `AgentCore` to an IPC channel: every datagram in, replies back to its sender. */
import type { IpcChannel } from '../ipc/channel.js';
import { AgentCore, type AgentCoreOptions, type AgentStats } from './agent.js';

export interface AgentOptions extends AgentCoreOptions {
  /** Where datapaths reach the agent; the agent owns it from now on and closes it in `close`. */
  readonly channel: IpcChannel;
}

export interface Agent {
  readonly stats: Readonly<AgentStats>;
  /** Live flows across all datapaths. */
  readonly flowCount: number;
  /** Datapaths (IPC peer addresses) with state in the agent. */
  readonly peers: readonly string[];
  /** Ends every flow (calling `close` on it), stops receiving and closes the channel. Idempotent. */
  close(): Promise<void>;
}

export function createAgent(options: AgentOptions): Agent {
  const core = new AgentCore(options);
  const { channel } = options;
  const gone = new Set<string>();
  channel.onDatagram((bytes, from) => {
    core.handleDatagram(from, bytes, (datagram) => {
      if (channel.closed) return;
      // `false`: nobody listens at that address any more; its flows are over.
      if (!channel.send(datagram, from) && !gone.has(from)) {
        gone.add(from);
        queueMicrotask(() => {
          gone.delete(from);
          core.forget(from);
        });
      }
    });
  });
  let closing: Promise<void> | undefined;
  return {
    get stats() {
      return core.stats;
    },
    get flowCount() {
      return core.flowCount;
    },
    get peers() {
      return core.peers;
    },
    close() {
      closing ??= (async () => {
        channel.onDatagram(undefined);
        core.forget();
        await channel.close();
      })();
      return closing;
    },
  };
}
