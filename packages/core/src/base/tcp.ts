import { createServer, type AddressInfo, type Socket } from 'node:net';
import { formatHostPort } from './address.js';
import { frameLimit, FrameReader, type StreamOptions } from './framing.js';
import { publishBaseOpen } from '../diagnostics/conn-channels.js';
import { socketError, started } from './start.js';
import { connectSocket, StreamConn, streamListener } from './stream.js';
import type { SocketAddress, Transport } from './transport.js';

export type TcpOptions = StreamOptions;

/** TCP with length-prefixed messages and Nagle's algorithm off (batching belongs to Chunnels). */
export function tcp(opts: TcpOptions = {}): Transport<SocketAddress> {
  const maxFrameSize = frameLimit(opts);
  const format = (addr: SocketAddress): string => `tcp:${formatHostPort(addr)}`;
  return {
    kind: 'tcp',
    datagram: false,
    format,
    async connect(addr, callOpts) {
      const reader = new FrameReader(maxFrameSize);
      const socket = await connectSocket({ host: addr.host, port: addr.port, noDelay: true, onread: reader.onread }, format(addr), callOpts?.signal);
      const conn = new StreamConn('tcp', socket, reader, localOf(socket), remoteOf(socket), maxFrameSize);
      publishBaseOpen(conn, 'tcp', 'client');
      return conn;
    },
    async listen(addr, callOpts) {
      const server = createServer({ noDelay: true, pauseOnConnect: true });
      await started(server, (done) => server.listen(addr.port, addr.host, done), (err) => socketError(err, format(addr), 'listen'), callOpts?.signal);
      const bound = server.address() as AddressInfo;
      return streamListener('tcp', server, { host: bound.address, port: bound.port }, (s) => ({ local: localOf(s), remote: remoteOf(s) }), maxFrameSize);
    },
  };
}

function localOf(socket: Socket): SocketAddress {
  return { host: socket.localAddress ?? '', port: socket.localPort ?? 0 };
}

function remoteOf(socket: Socket): SocketAddress {
  return { host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
}
