/**
 * A Linux TCP bulk flow from Node. Node cannot set TCP_CONGESTION on a
 * socket, so the algorithm is the namespace's `net.ipv4.tcp_congestion_control`
 * (netns-compare.sh sets it); RTT, acknowledged bytes and retransmissions come
 * from the kernel through `ss -ti`, since Node exposes no TCP_INFO either.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import type { BulkFlow, FlowProbe } from './flow.js';

const run = promisify(execFile);
const CHUNK = Buffer.alloc(64 * 1024);

function field(info: string, re: RegExp): number | undefined {
  const m = re.exec(info);
  return m === null ? undefined : Number(m[1]);
}

/** Parses the `ss -tin` lines of one socket. */
function parseSsInfo(info: string): FlowProbe {
  const acked = field(info, /\bbytes_acked:(\d+)/);
  if (acked === undefined) throw new Error(`ss shows no such established socket (got ${JSON.stringify(info)})`);
  return {
    // bytes_acked counts the SYN.
    ackedBytes: Math.max(0, acked - 1),
    srttUs: (field(info, /\brtt:([\d.]+)\//) ?? 0) * 1000,
    minRttUs: (field(info, /\bminrtt:([\d.]+)/) ?? 0) * 1000,
    lossEvents: field(info, /\bretrans:\d+\/(\d+)/) ?? 0,
    cwndBytes: (field(info, /\bcwnd:(\d+)/) ?? 0) * (field(info, /\bmss:(\d+)/) ?? 0),
    algorithm: /^\s+([a-z0-9_]+)\s/m.exec(info)?.[1] ?? 'unknown',
  };
}

export async function startTcpFlow(host: string, port: number): Promise<BulkFlow> {
  const socket = connect({ host, port, noDelay: true });
  await once(socket, 'connect');
  let failure: Error | undefined;
  let closed = false;
  socket.on('error', (e) => {
    failure ??= e;
  });
  const pump = (): void => {
    while (!closed && !socket.destroyed && socket.write(CHUNK));
  };
  socket.on('drain', pump);
  pump();
  const src = `${socket.localAddress}:${socket.localPort}`;
  const dst = `${socket.remoteAddress}:${socket.remotePort}`;
  return {
    async probe() {
      if (failure !== undefined) throw failure;
      const { stdout } = await run('ss', ['-Htin', 'state', 'established', 'src', src, 'and', 'dst', dst]);
      return parseSsInfo(stdout);
    },
    async close() {
      closed = true;
      socket.destroy();
    },
  };
}
