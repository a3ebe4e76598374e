/**
 * Deciding whether a connection's peer is on this machine, and if so moving
 * the connection to the peer's Unix socket.
 *
 * The client looks the peer's network address up in the directory. With a
 * live entry it connects to the entry's Unix socket and sends a fresh random
 * nonce there, and sends the entry's token, the same nonce and its machine
 * id over the network connection. The server accepts only if the token is
 * one of its own live announcements, the machine id is its own, and the
 * nonce arrived on that announcement's Unix socket: the process at the
 * network address has then proven that it serves that socket on this
 * machine. The client switches only on that answer, received over the
 * network connection. A forged or stale entry, a peer in another network
 * namespace, or a socket that does not answer leaves the connection on the
 * network.
 */
import { randomBytes } from 'node:crypto';
import { unix, type Conn, type WrapContext } from '@bertha/core';
import { LocalHandshakeError } from '../errors.js';
import { announcementOf } from './announcement.js';
import type { LocalDirectory } from './directory.js';
import { machineId } from './identity.js';
import { ANSWER, MAGIC, NONCE_BYTES, PLAIN_LOCAL, REMOTE, answer, claim, localHello, parseLocalHello, remoteHello } from './wire.js';

export type LocalOutcome =
  | { readonly local: false; readonly conn: Conn<Uint8Array> }
  /** `plain`: both ends are fused and skip TLS on this connection. */
  | { readonly local: true; readonly conn: Conn<Uint8Array>; readonly plain: boolean };

export interface HandshakeOptions {
  readonly directory: LocalDirectory;
  /** This end is the fused Chunnel (would skip TLS on the local path). */
  readonly fused: boolean;
  readonly timeoutMs: number;
}

const signalFor = (ctx: WrapContext, timeoutMs: number): AbortSignal =>
  ctx.signal ? AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);

async function recvAnswer(inner: Conn<Uint8Array>, ctx: WrapContext, timeoutMs: number, what: string): Promise<Uint8Array> {
  try {
    return await inner.recv({ signal: signalFor(ctx, timeoutMs) });
  } catch (err) {
    throw new LocalHandshakeError(`maybe-local: no ${what} from ${ctx.peer ?? 'the peer'} in ${timeoutMs} ms: does it run maybe-local too?`, { cause: err });
  }
}

export function localHandshake(inner: Conn<Uint8Array>, ctx: WrapContext, opts: HandshakeOptions): Promise<LocalOutcome> {
  return ctx.role === 'client' ? client(inner, ctx, opts) : server(inner, ctx, opts);
}

async function remote(inner: Conn<Uint8Array>): Promise<LocalOutcome> {
  await inner.send(remoteHello);
  return { local: false, conn: inner };
}

async function client(inner: Conn<Uint8Array>, ctx: WrapContext, opts: HandshakeOptions): Promise<LocalOutcome> {
  const peer = ctx.peer;
  const entry = peer === undefined ? undefined : await opts.directory.lookup(peer);
  if (peer === undefined || entry === undefined) return remote(inner);
  let local: Conn<Uint8Array>;
  try {
    local = await unix().connect({ path: entry.path }, ctx.signal ? { signal: ctx.signal } : undefined);
  } catch {
    // A socket that does not answer: its process is gone or restarting.
    opts.directory.forget(peer);
    return remote(inner);
  }
  try {
    const nonce = randomBytes(NONCE_BYTES);
    const flags = opts.fused ? PLAIN_LOCAL : 0;
    await local.send(claim(nonce));
    await inner.send(localHello(flags, Buffer.from(entry.token, 'hex'), nonce, machineId));
    const a = await recvAnswer(inner, ctx, opts.timeoutMs, 'answer');
    if (a.byteLength !== 4 || a[0] !== MAGIC || a[1] !== ANSWER) {
      throw new LocalHandshakeError(`maybe-local: ${peer} answered with a malformed message: is it running another version?`);
    }
    if (a[2] !== 1) {
      await local.close();
      return { local: false, conn: inner };
    }
    await inner.close();
    return { local: true, conn: local, plain: opts.fused && ((a[3] as number) & PLAIN_LOCAL) !== 0 };
  } catch (err) {
    await local.close();
    throw err;
  }
}

async function server(inner: Conn<Uint8Array>, ctx: WrapContext, opts: HandshakeOptions): Promise<LocalOutcome> {
  const hello = await recvAnswer(inner, ctx, opts.timeoutMs, 'hello');
  if (hello.byteLength === 2 && hello[0] === MAGIC && hello[1] === REMOTE) return { local: false, conn: inner };
  const h = parseLocalHello(hello);
  if (!h) throw new LocalHandshakeError(`maybe-local: ${ctx.peer ?? 'the peer'} sent a malformed hello: is it running another version?`);
  const ann = h.machine === machineId ? announcementOf(h.token) : undefined;
  const conn = ann ? await ann.claimed(h.nonce) : undefined;
  if (!conn) {
    await inner.send(answer(false, 0));
    return { local: false, conn: inner };
  }
  const plain = opts.fused && (h.flags & PLAIN_LOCAL) !== 0;
  await inner.send(answer(true, opts.fused ? PLAIN_LOCAL : 0));
  await inner.close();
  return { local: true, conn, plain };
}
