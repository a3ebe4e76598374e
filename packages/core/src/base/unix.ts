import { lstat, unlink } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { AddressError } from './errors.js';
import { frameLimit, FrameReader, type StreamOptions } from './framing.js';
import { publishBaseOpen } from '../diagnostics/conn-channels.js';
import { socketError, started } from './start.js';
import { connectSocket, StreamConn, streamListener } from './stream.js';
import type { PathAddress, Transport } from './transport.js';

export type UnixOptions = StreamOptions;

/** The address of an unnamed Unix socket end (a connecting client). */
const UNNAMED: PathAddress = { path: '' };

/** Unix-domain stream sockets with length-prefixed messages. */
export function unix(opts: UnixOptions = {}): Transport<PathAddress> {
  const maxFrameSize = frameLimit(opts);
  const format = (addr: PathAddress): string => `unix:${addr.path}`;
  return {
    kind: 'unix',
    datagram: false,
    format,
    async connect(addr, callOpts) {
      const reader = new FrameReader(maxFrameSize);
      const socket = await connectSocket({ path: addr.path, onread: reader.onread }, format(addr), callOpts?.signal);
      const conn = new StreamConn('unix', socket, reader, UNNAMED, { path: addr.path }, maxFrameSize);
      publishBaseOpen(conn, 'unix', 'client');
      return conn;
    },
    async listen(addr, callOpts) {
      await removeStale(addr.path, format(addr));
      const server = createServer({ pauseOnConnect: true });
      await started(server, (done) => server.listen(addr.path, done), (err) => socketError(err, format(addr), 'listen'), callOpts?.signal);
      const local = { path: addr.path };
      return streamListener('unix', server, local, () => ({ local, remote: UNNAMED }), maxFrameSize);
    },
  };
}

/** Removes a socket file left by a process that died without closing its listener; refuses a live one. */
async function removeStale(path: string, where: string): Promise<void> {
  try {
    const st = await lstat(path);
    if (!st.isSocket()) throw new AddressError(`${where} exists and is not a socket: remove it or pick another path`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (await answers(path)) throw new AddressError(`${where} is already in use: close the other listener or pick another path`);
  await unlink(path);
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}
