/**
 * Unix datagram sockets, the originals' transport: the agent binds
 * `/tmp/ccp/portus`, each datapath binds its own path, and the agent replies
 * to the sender's path.
 *
 * libccp and portus use SOCK_DGRAM, which keeps message boundaries; a stream
 * socket (all Node core offers for AF_UNIX) could not talk to them. So this
 * uses the `unix-dgram` addon (Ben Noordhuis), an optional peer dependency
 * loaded only when a socket is opened. We send with `sendto` on an unconnected socket rather than
 * `connect` + `send`: a connected socket breaks when the agent restarts and
 * rebinds its path, and its 'congestion'/'writable' events exist only for
 * connected sockets. A full receive queue (EAGAIN; Linux allows only
 * `net.unix.max_dgram_qlen`, often 10, datagrams) is instead handled by
 * queueing and retrying on a short timer.
 */
import type { EventEmitter } from 'node:events';
import { lstat, mkdir, unlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { dirname } from 'node:path';
import { BerthaError, InvalidArgumentError } from '@bertha/core';
import { CcpError } from '../errors.js';
import { DatagramEndpoint, type IpcChannel } from './channel.js';

/** Where portus listens by default. */
export const DEFAULT_AGENT_PATH = '/tmp/ccp/portus';
/** sockaddr_un.sun_path holds 108 bytes including the NUL; the addon would silently truncate. */
const MAX_PATH_BYTES = 107;
const MAX_BACKLOG = 1024;
const RETRY_MS = 1;
/** A receiver whose queue stays full this long does not read: its backlog is dropped rather than retried forever. */
const GIVE_UP_MS = 1000;

/** The socket path cannot be used (taken, not a socket, too long). */
export class IpcAddressError extends BerthaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_ADDRESS', message, options);
  }
}

interface UnixDgramSocket extends EventEmitter {
  bind(path: string): void;
  connect(path: string): void;
  send(buf: Buffer, offset: number, length: number, path: string, cb: (err?: Error & { code?: number }) => void): void;
  close(): void;
}
interface UnixDgramModule {
  createSocket(type: 'unix_dgram'): UnixDgramSocket;
}

/**
 * A Unix-socket agent or datapath was asked for, but the optional peer
 * dependency `unix-dgram` (a native addon) is not installed or did not build.
 */
export class UnixDgramMissingError extends CcpError {
  constructor(options?: { cause?: unknown }) {
    super(
      'ERR_CCP_UNIX_DGRAM_MISSING',
      'Unix datagram sockets need the optional package unix-dgram (a native addon): install it next to @bertha/ccp (npm i unix-dgram), or run the agent in process (cc: { kind: "ccp" } without agentPath)',
      options,
    );
  }
}

let addon: UnixDgramModule | undefined;
/** The addon, loaded on first use so that a user of the in-process agent never needs it. */
function unixDgram(): UnixDgramModule {
  if (addon === undefined) {
    try {
      addon = createRequire(import.meta.url)('unix-dgram') as UnixDgramModule;
    } catch (err) {
      throw new UnixDgramMissingError({ cause: err });
    }
  }
  return addon;
}

const { EAGAIN, EWOULDBLOCK, ENOBUFS } = constants.errno;
const isBusy = (code: number | undefined) => code === -EAGAIN || code === -EWOULDBLOCK || code === -ENOBUFS;

function checkPath(path: string): void {
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) throw new InvalidArgumentError(`socket path ${path} is longer than ${MAX_PATH_BYTES} bytes: choose a shorter one`);
}

/** Whether a process is bound at `path` (a socket file with no one behind it refuses connections). */
function isBound(path: string): boolean {
  const probe = unixDgram().createSocket('unix_dgram');
  let bound = false;
  probe.on('error', () => {}); // ECONNREFUSED: stale
  probe.once('connect', () => (bound = true));
  probe.connect(path); // synchronous: emits before returning
  probe.close();
  return bound;
}

/** Makes `path` bindable: creates its directory (mode 0700) and removes a stale socket file left by a dead process. */
async function preparePath(path: string): Promise<void> {
  checkPath(path);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (st === undefined) return;
  if (!st.isSocket()) throw new IpcAddressError(`${path} exists and is not a socket: remove it or choose another path`);
  if (isBound(path)) throw new IpcAddressError(`another process is bound at ${path}: stop it or choose another path`);
  await unlink(path);
}

class UnixDgramChannel extends DatagramEndpoint {
  readonly #sock: UnixDgramSocket;
  readonly #peer: string | undefined;
  /** Datagrams waiting because the receiver's queue was full. */
  #backlog: { buf: Buffer; to: string }[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** Since when the head of the backlog has been refused as busy, ms. */
  #busySince: number | undefined;

  constructor(
    readonly address: string,
    sock: UnixDgramSocket,
    peer: string | undefined,
  ) {
    super();
    this.#sock = sock;
    this.#peer = peer;
    sock.on('message', (buf: Buffer, rinfo: { path?: string }) => {
      this.deliver(new Uint8Array(buf.buffer, buf.byteOffset, buf.length), rinfo.path ?? '');
    });
    // Sends pass a callback, so the addon reports errors there; this only guards against crashes.
    sock.on('error', () => this.stats.dropped++);
  }

  send(bytes: Uint8Array, to?: string): boolean {
    this.checkOpen();
    const dest = to ?? this.#peer ?? this.lastSender;
    if (dest === undefined) throw new InvalidArgumentError('no peer to send to: pass `to`, or wait for a datagram to reply to');
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (this.#backlog.length > 0) return this.#enqueue(Buffer.from(buf), dest); // keep order behind the backlog
    const r = this.#sendNow(buf, dest);
    return r === 'busy' ? this.#enqueue(Buffer.from(buf), dest) : r === 'sent';
  }

  #sendNow(buf: Buffer, to: string): 'sent' | 'busy' | 'gone' {
    let code: number | undefined;
    let failed = false;
    // The addon calls back synchronously.
    this.#sock.send(buf, 0, buf.length, to, (err) => {
      failed = err !== undefined;
      code = err?.code;
    });
    if (!failed) {
      this.stats.sent++;
      return 'sent';
    }
    if (isBusy(code)) return 'busy';
    // ECONNREFUSED (socket file, no process), ENOENT (no file), EPERM …: nobody reachable there.
    this.stats.dropped++;
    return 'gone';
  }

  #enqueue(buf: Buffer, to: string): boolean {
    if (this.#backlog.length >= MAX_BACKLOG) {
      this.stats.dropped++;
      return true; // dropped for congestion, as a full network queue would: the peer is still there
    }
    this.#backlog.push({ buf, to });
    this.#timer ??= setTimeout(() => this.#flush(), RETRY_MS);
    return true;
  }

  #flush(): void {
    this.#timer = undefined;
    let i = 0;
    for (; i < this.#backlog.length; i++) {
      const { buf, to } = this.#backlog[i]!;
      if (this.#sendNow(buf, to) === 'busy') break;
    }
    if (i > 0) this.#busySince = undefined;
    this.#backlog = this.#backlog.slice(i);
    const head = this.#backlog[0];
    if (head === undefined) return;
    const now = performance.now();
    this.#busySince ??= now;
    if (now - this.#busySince >= GIVE_UP_MS) {
      // That receiver does not read: drop what waits for it, keep the rest in order.
      const kept = this.#backlog.filter((d) => d.to !== head.to);
      this.stats.dropped += this.#backlog.length - kept.length;
      this.#backlog = kept;
      this.#busySince = undefined;
      if (kept.length === 0) return;
    }
    this.#timer = setTimeout(() => this.#flush(), RETRY_MS);
  }

  protected async release(): Promise<void> {
    clearTimeout(this.#timer);
    this.#backlog = [];
    try {
      this.#sock.close();
    } finally {
      await unlink(this.address).catch(() => {}); // already gone is fine
    }
  }
}

async function open(path: string, peer: string | undefined): Promise<IpcChannel> {
  if (peer !== undefined) checkPath(peer);
  await preparePath(path);
  const sock = unixDgram().createSocket('unix_dgram');
  let bindErr: (Error & { code?: number }) | undefined;
  sock.once('error', (err: Error) => (bindErr = err));
  sock.bind(path); // synchronous: emits 'error' or 'listening' before returning
  if (bindErr !== undefined) {
    sock.close();
    throw new IpcAddressError(`cannot bind ${path}: ${bindErr.message}`, { cause: bindErr });
  }
  return new UnixDgramChannel(path, sock, peer);
}

export interface AgentSocketOptions {
  /** Default `/tmp/ccp/portus`. */
  readonly path?: string;
}

/** Binds the agent's socket. `send` without `to` replies to the last sender. */
export function openAgentSocket(options: AgentSocketOptions = {}): Promise<IpcChannel> {
  return open(options.path ?? DEFAULT_AGENT_PATH, undefined);
}

export interface DatapathSocketOptions {
  /** The agent's socket; default `/tmp/ccp/portus`. */
  readonly agentPath?: string;
  /** This datapath's own socket; default `ccp-dp-<pid>-<n>` next to the agent's. */
  readonly path?: string;
}

let datapathCount = 0;

/** Binds a datapath's socket; `send` without `to` goes to the agent. */
export function openDatapathSocket(options: DatapathSocketOptions = {}): Promise<IpcChannel> {
  const agentPath = options.agentPath ?? DEFAULT_AGENT_PATH;
  const path = options.path ?? `${dirname(agentPath)}/ccp-dp-${process.pid}-${datapathCount++}`;
  return open(path, agentPath);
}
