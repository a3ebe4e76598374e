/**
 * The ways the overhead benchmark talks to a peer: a raw Node socket that only
 * counts bytes (the physical limit), the two framings a user would pick
 * instead of us on a stream (length-prefix framing written by hand over
 * `net.Socket`, and it-length-prefixed, the most used framing library, which
 * js-libp2p uses), or a Conn built by a no-op stack over a base connection.
 * All expose the same minimal `Link` so the measuring code is identical.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { decode as lpDecode, encode as lpEncode } from 'it-length-prefixed';
import { makeStack, noop, transport, wrap, type Conn, type Listener, type TransportKind } from '@bertha/core';

/** Socket buffers for UDP, raw and stacked alike (the kernel caps them at net.core.rmem_max). */
export const UDP_BUFFER = 4 * 1024 * 1024;

export type Kind = Exclude<TransportKind, 'mem'>;
/**
 * raw: the Node socket, counting bytes; hand: 4-byte length prefix over the
 * socket, by hand; itlp: it-length-prefixed over the socket (streams only,
 * a datagram needs no framing); conn: our base connection, no Chunnel;
 * noopN: a stack of N no-op Chunnels over it.
 */
export type Mode = 'raw' | 'hand' | 'itlp' | 'conn' | 'noop1' | 'noop5';

/** The modes measured over `kind`. */
export const modesFor = (kind: Kind): Mode[] =>
  kind === 'udp' ? ['raw', 'conn', 'noop1', 'noop5'] : ['raw', 'hand', 'itlp', 'conn', 'noop1', 'noop5'];

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
  echo: Partial<Record<Mode, Addr>>;
  sink: Partial<Record<Mode, Addr>>;
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

/** Writes a whole frame as one writev; resolves once the socket takes more. */
function writeFrame(sock: Socket, parts: Iterable<Uint8Array>): Promise<void> | undefined {
  sock.cork();
  let ok = true;
  for (const p of parts) ok = sock.write(p);
  sock.uncork();
  if (!ok) return once(sock, 'drain').then(() => undefined);
}

/**
 * Length-prefix framing as a user writes it: a 4-byte big-endian length, the
 * reads of a frame gathered and joined once it is complete (a frame inside
 * one read is a view, not a copy).
 */
function handLink(sock: Socket): Link {
  sock.setNoDelay(true);
  return {
    send: (b) => {
      const head = Buffer.allocUnsafe(4);
      head.writeUInt32BE(b.length, 0);
      return writeFrame(sock, [head, b]);
    },
    onMessage: (cb) => {
      let parts: Buffer[] = [];
      let have = 0;
      let need = 4; // bytes to gather before the next parse: a header, or the frame it announced
      sock.on('data', (chunk: Buffer) => {
        parts.push(chunk);
        have += chunk.length;
        if (have < need) return;
        let buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
        need = 4;
        while (buf.length >= 4) {
          const len = buf.readUInt32BE(0);
          if (buf.length < 4 + len) {
            need = 4 + len;
            break;
          }
          cb(buf.subarray(4, 4 + len));
          buf = buf.subarray(4 + len);
        }
        parts = buf.length > 0 ? [buf] : [];
        have = buf.length;
      });
    },
    close: async () => {
      sock.destroy();
    },
  };
}

/** it-length-prefixed as its README shows it: decode over the socket's async iteration, encode.single per message. */
function itlpLink(sock: Socket): Link {
  sock.setNoDelay(true);
  return {
    send: (b) => writeFrame(sock, lpEncode.single(b)),
    onMessage: (cb) => {
      void (async () => {
        for await (const m of lpDecode(sock as AsyncIterable<Uint8Array>)) cb(m.subarray());
      })().catch(() => undefined);
    },
    close: async () => {
      sock.destroy();
    },
  };
}

const socketLink = { raw: streamLink, hand: handLink, itlp: itlpLink } as const;

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
  if (mode === 'noop1' || mode === 'noop5') return connLink(await wrap(stackOf(mode), await baseConnect(kind, addr)));
  if (kind === 'udp') {
    const sock = createSocket({ type: 'udp4', recvBufferSize: UDP_BUFFER, sendBufferSize: UDP_BUFFER });
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
    return udpLink(sock, addr.port, addr.host);
  }
  const sock = kind === 'unix' ? netConnect(addr.path) : netConnect(addr.port, addr.host);
  await once(sock, 'connect');
  return socketLink[mode](sock);
}

/** Starts a server whose every accepted peer is handed to `onPeer` as a Link. */
export async function serve(kind: Kind, mode: Mode, path: string, onPeer: (l: Link) => void): Promise<{ addr: Addr; close(): Promise<void> }> {
  if (mode === 'conn' || mode === 'noop1' || mode === 'noop5') {
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
  const server: Server = createServer((s) => onPeer(socketLink[mode](s)));
  await new Promise<void>((resolve) => (kind === 'unix' ? server.listen(path, resolve) : server.listen(0, '127.0.0.1', resolve)));
  const port = kind === 'tcp' ? (server.address() as { port: number }).port : 0;
  return { addr: { host: '127.0.0.1', port, path }, close: () => new Promise((r) => server.close(() => r())) };
}
