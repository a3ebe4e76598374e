/**
 * The two ways the overhead benchmark talks to a peer: a raw Node socket, or a
 * Conn built by a no-op stack over a base connection. Both expose the same
 * minimal `Link` so the measuring code is identical.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { makeStack, noop, transport, wrap, type Conn, type Listener, type TransportKind } from '@bertha/core';

/** Socket buffers for UDP, raw and stacked alike (the kernel caps them at net.core.rmem_max). */
export const UDP_BUFFER = 4 * 1024 * 1024;

export type Kind = Exclude<TransportKind, 'mem'>;
/** raw: the Node socket; conn: our base connection, no Chunnel; noopN: a stack of N no-op Chunnels over it. */
export type Mode = 'raw' | 'conn' | 'noop1' | 'noop5';

export interface Link {
  send(b: Uint8Array): Promise<void> | void;
  onMessage(cb: (b: Uint8Array) => void): void;
  close(): Promise<void>;
}

export interface Addr {
  host: string;
  port: number;
  path: string;
}

/** What the server worker reports: where each of its servers listens. */
export interface PeerReady {
  echo: Record<Mode, Addr>;
  sink: Record<Mode, Addr>;
}


function stackOf(mode: 'noop1' | 'noop5') {
  return mode === 'noop1' ? makeStack(noop()) : makeStack(noop(), noop(), noop(), noop(), noop());
}

const udpBuffers = { recvBufferSize: UDP_BUFFER, sendBufferSize: UDP_BUFFER };

function baseConnect(kind: Kind, addr: Addr) {
  if (kind === 'unix') return transport('unix').connect({ path: addr.path });
  const t = kind === 'udp' ? transport('udp', udpBuffers) : transport('tcp');
  return t.connect({ host: addr.host, port: addr.port });
}

function baseListen(kind: Kind, path: string) {
  if (kind === 'unix') return transport('unix').listen({ path });
  const t = kind === 'udp' ? transport('udp', udpBuffers) : transport('tcp');
  return t.listen({ host: '127.0.0.1', port: 0 });
}

function connLink(conn: Conn<Uint8Array>): Link {
  return {
    send: (b) => conn.send(b),
    onMessage: (cb) => {
      void (async () => {
        for await (const m of conn) cb(m);
      })().catch(() => undefined);
    },
    close: () => conn.close(),
  };
}

function streamLink(sock: Socket): Link {
  sock.setNoDelay(true);
  return {
    send: (b) => {
      if (!sock.write(b)) return once(sock, 'drain').then(() => undefined);
    },
    onMessage: (cb) => sock.on('data', cb),
    close: async () => {
      sock.destroy();
    },
  };
}

function udpLink(sock: UdpSocket, port: number, host: string): Link {
  return {
    send: (b) => new Promise<void>((resolve, reject) => sock.send(b, port, host, (err) => (err ? reject(err) : resolve()))),
    onMessage: (cb) => sock.on('message', cb),
    close: () => new Promise<void>((resolve) => sock.close(() => resolve())),
  };
}

/** Opens a client link to a server started by `serve`. */
export async function dial(kind: Kind, mode: Mode, addr: Addr): Promise<Link> {
  if (mode === 'conn') return connLink(await baseConnect(kind, addr));
  if (mode !== 'raw') return connLink(await wrap(stackOf(mode), await baseConnect(kind, addr)));
  if (kind === 'udp') {
    const sock = createSocket({ type: 'udp4', recvBufferSize: UDP_BUFFER, sendBufferSize: UDP_BUFFER });
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
    return udpLink(sock, addr.port, addr.host);
  }
  const sock = kind === 'unix' ? netConnect(addr.path) : netConnect(addr.port, addr.host);
  await once(sock, 'connect');
  return streamLink(sock);
}

/** Starts a server whose every accepted peer is handed to `onPeer` as a Link. */
export async function serve(kind: Kind, mode: Mode, path: string, onPeer: (l: Link) => void): Promise<{ addr: Addr; close(): Promise<void> }> {
  if (mode !== 'raw') {
    const listener: Listener<unknown> = await baseListen(kind, path);
    const stack = mode === 'conn' ? undefined : stackOf(mode);
    void (async () => {
      for await (const c of listener) onPeer(connLink(stack ? await wrap(stack, c, { role: 'server' }) : c));
    })().catch(() => undefined);
    const a = listener.address;
    const port = typeof a === 'object' && a !== null && 'port' in a && typeof a.port === 'number' ? a.port : 0;
    return { addr: { host: '127.0.0.1', port, path }, close: () => listener.close() };
  }
  if (kind === 'udp') {
    const sock = createSocket({ type: 'udp4', recvBufferSize: UDP_BUFFER, sendBufferSize: UDP_BUFFER });
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
    const peers = new Map<string, Array<(b: Uint8Array) => void>>();
    sock.on('message', (msg, rinfo) => {
      const key = `${rinfo.address}:${rinfo.port}`;
      let cbs = peers.get(key);
      if (!cbs) {
        peers.set(key, (cbs = []));
        const list = cbs;
        onPeer({ ...udpLink(sock, rinfo.port, rinfo.address), onMessage: (cb) => list.push(cb), close: async () => undefined });
      }
      for (const cb of cbs) cb(msg);
    });
    return { addr: { host: '127.0.0.1', port: sock.address().port, path }, close: () => new Promise((r) => sock.close(() => r())) };
  }
  const server: Server = createServer((s) => onPeer(streamLink(s)));
  await new Promise<void>((resolve) => (kind === 'unix' ? server.listen(path, resolve) : server.listen(0, '127.0.0.1', resolve)));
  const port = kind === 'tcp' ? (server.address() as { port: number }).port : 0;
  return { addr: { host: '127.0.0.1', port, path }, close: () => new Promise((r) => server.close(() => r())) };
}
