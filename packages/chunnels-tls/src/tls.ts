/**
 * tls(options): TLS over the Conn below, with `node:tls` in this process.
 *
 * The Conn below becomes a byte stream (`ConnDuplex`); the client runs
 * `tls.connect({ socket })` on it, the server a `tls.Server` it hands the
 * stream to, so that every check of Node's TLS server (client certificates,
 * ALPN, session tickets) applies. Messages above are framed inside the
 * encrypted stream, so any reliable, ordered Conn works below: TCP, Unix, a
 * reliable stack over UDP.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { connect as tlsConnect, createSecureContext, createServer, TLSSocket, type SecureContext, type SecureContextOptions } from 'node:tls';
import { AbortError, DEFAULT_MAX_FRAME_SIZE, InvalidArgumentError, twoSided, type Capability, type ChunnelWithConn, type Conn, type WrapContext } from '@bertha/core';
import { publishPath } from './diagnostics.js';
import { ConnDuplex } from './conn-duplex.js';
import { TlsHandshakeTimeoutError, tlsError } from './errors.js';
import { TlsConn } from './tls-conn.js';

type Pem = string | Buffer;

export interface TlsOptions {
  /** This end's private key and certificate chain (PEM). Required on a server; on a client, for mutual TLS. */
  readonly key?: Pem;
  readonly cert?: Pem;
  /** CAs to trust (PEM). Default: Node's bundled root CAs. */
  readonly ca?: Pem | readonly Pem[];
  /**
   * Client: the name the server's certificate must carry, also sent as SNI.
   * Default: the host of the peer's address (an IP address is checked
   * against the certificate's IP entries and not sent as SNI).
   */
  readonly servername?: string;
  /** Application protocols to offer (client) or accept (server), by preference (ALPN). */
  readonly alpn?: readonly string[];
  /** Lowest protocol version accepted: `'TLSv1.3'` (default) or `'TLSv1.2'`. */
  readonly minVersion?: 'TLSv1.3' | 'TLSv1.2';
  /** Highest protocol version offered: `'TLSv1.3'` (default) or `'TLSv1.2'`. */
  readonly maxVersion?: 'TLSv1.3' | 'TLSv1.2';
  /** Server: require a client certificate signed by `ca` (mutual TLS). Default false. */
  readonly requireClientCert?: boolean;
  /**
   * Verify the peer's certificate (chain, validity, name). Default true;
   * turning it off gives encryption without authentication: tests only.
   */
  readonly verify?: boolean;
  /** The handshake must finish within this time. Default 10,000 ms. */
  readonly handshakeTimeoutMs?: number;
  /** Client: resume sessions with servers already met (per peer and name), skipping the full handshake. Default true. */
  readonly resumeSessions?: boolean;
  /** Largest message carried, in bytes. Default 64 MiB. */
  readonly maxMessageSize?: number;
}

export type TlsChunnel = ChunnelWithConn<Uint8Array, Uint8Array, 'tls', TlsConn> & { readonly options: TlsOptions };

/** Sessions kept per client Chunnel for resumption; the oldest goes first. */
const MAX_SESSIONS = 256;

/** What one TLS Chunnel keeps across its connections: its secure context, client sessions, server ticket keys. */
export class TlsState {
  readonly options: TlsOptions;
  readonly #sessions = new Map<string, Buffer>();
  /** Shared by every server connection, so a ticket issued on one resumes on another. */
  readonly #ticketKeys = randomBytes(48);
  #ctx: SecureContext | undefined;

  constructor(options: TlsOptions) {
    const { minVersion = 'TLSv1.3', maxVersion = 'TLSv1.3', handshakeTimeoutMs = 10_000 } = options;
    for (const [what, v] of [['minVersion', minVersion], ['maxVersion', maxVersion]] as const) {
      if (v !== 'TLSv1.3' && v !== 'TLSv1.2') throw new InvalidArgumentError(`tls: ${what} must be 'TLSv1.3' or 'TLSv1.2', got ${String(v)}`);
    }
    if (minVersion > maxVersion) throw new InvalidArgumentError(`tls: minVersion ${minVersion} is above maxVersion ${maxVersion}`);
    if (!(handshakeTimeoutMs > 0)) throw new InvalidArgumentError(`tls: handshakeTimeoutMs must be positive, got ${handshakeTimeoutMs}`);
    this.options = options;
  }

  /** Runs the handshake over `inner`; rejects with a `TlsError` (and closes `inner`) if it fails. */
  start(inner: Conn<Uint8Array>, ctx: WrapContext): Promise<TlsConn> {
    const duplex = new ConnDuplex(inner);
    const peer = ctx.peer ?? 'the peer';
    const o = this.options;
    const timeoutMs = o.handshakeTimeoutMs ?? 10_000;
    const alpn = o.alpn as string[] | undefined;
    return new Promise<TlsConn>((resolve, reject) => {
      let socket: TLSSocket | undefined;
      const fail = (err: Error): void => {
        clearTimeout(timer);
        ctx.signal?.removeEventListener('abort', onAbort);
        // Reported once; later errors of a socket being torn down must not crash the process.
        socket?.on('error', () => undefined);
        socket?.destroy();
        duplex.destroy();
        reject(err);
      };
      const ok = (s: TLSSocket): void => {
        clearTimeout(timer);
        ctx.signal?.removeEventListener('abort', onAbort);
        s.removeListener('error', onError);
        resolve(new TlsConn(s, o.maxMessageSize ?? DEFAULT_MAX_FRAME_SIZE));
      };
      const onError = (err: NodeJS.ErrnoException): void => fail(tlsError(err, peer));
      const onAbort = (): void => fail(new AbortError(ctx.signal?.reason));
      const timer = setTimeout(
        () => fail(new TlsHandshakeTimeoutError(`TLS handshake with ${peer} did not finish in ${timeoutMs} ms: is a TLS server there, and is it up?`)),
        timeoutMs,
      );
      ctx.signal?.addEventListener('abort', onAbort, { once: true });

      if (ctx.role === 'client') {
        const host = hostOf(ctx.peer);
        const servername = o.servername ?? host;
        const key = `${peer}|${servername}`;
        const resume = o.resumeSessions !== false;
        const s = tlsConnect({
          secureContext: this.#context(),
          ALPNProtocols: alpn,
          rejectUnauthorized: o.verify !== false,
          socket: duplex,
          host: servername,
          // SNI carries names only.
          ...(isIP(servername) === 0 ? { servername } : {}),
          session: resume ? this.#sessions.get(key) : undefined,
        });
        socket = s;
        if (resume) s.on('session', (session: Buffer) => this.#remember(key, session));
        s.once('secureConnect', () => ok(s));
        s.once('error', onError);
      } else if (o.requireClientCert !== true) {
        const s = new TLSSocket(duplex, { isServer: true, secureContext: this.#context(), ALPNProtocols: alpn });
        socket = s;
        s.once('secure', () => ok(s));
        s.once('error', onError);
      } else {
        // Node checks client certificates only in a tls.Server: one per connection (it parses the key again, ~3 ms).
        const server = createServer({ ...this.#contextOptions(), ALPNProtocols: alpn, requestCert: true, rejectUnauthorized: o.verify !== false });
        server.once('secureConnection', (s: TLSSocket) => {
          socket = s;
          s.once('error', onError);
          ok(s);
        });
        server.once('tlsClientError', (err: NodeJS.ErrnoException, s: TLSSocket) => {
          socket = s;
          onError(err);
        });
        server.emit('connection', duplex);
      }
    });
  }

  /** The options of this end's secure context: key, certificate, CAs, versions, ticket keys. */
  #contextOptions(): SecureContextOptions {
    const o = this.options;
    return {
      key: o.key,
      cert: o.cert,
      ca: o.ca as Pem | Pem[] | undefined,
      minVersion: o.minVersion ?? 'TLSv1.3',
      maxVersion: o.maxVersion ?? 'TLSv1.3',
      ticketKeys: this.#ticketKeys,
      sessionIdContext: 'bertha-tls',
    };
  }

  /** Made once: a secure context costs milliseconds (parsing the key and the CAs), a connection should not pay it. */
  #context(): SecureContext {
    return (this.#ctx ??= createSecureContext(this.#contextOptions()));
  }

  #remember(key: string, session: Buffer): void {
    this.#sessions.delete(key);
    this.#sessions.set(key, session);
    if (this.#sessions.size > MAX_SESSIONS) this.#sessions.delete(this.#sessions.keys().next().value as string);
  }
}

/** The host part of a printable peer address (`tcp:127.0.0.1:4000`, `udp:[::1]:53`); `localhost` when it has none. */
export function hostOf(peer: string | undefined): string {
  const m = peer === undefined ? null : /^(?:tcp|udp):(?:\[([^\]]+)\]|([^:]+)):\d+$/.exec(peer);
  return m?.[1] ?? m?.[2] ?? 'localhost';
}

/** Both ends must encrypt: a stack with TLS never negotiates with one without it. */
export const ENCRYPTION: Capability = twoSided('encryption', 'tls');

export function tls(options: TlsOptions = {}): TlsChunnel {
  const state = new TlsState(options);
  const caps = [ENCRYPTION];
  return {
    name: 'tls' as const,
    options,
    capabilities: () => caps,
    connectWrap: (inner, ctx) => {
      publishPath(() => ({ chunnel: 'tls', role: ctx.role, peer: ctx.peer, local: false, encrypted: true }));
      return state.start(inner, ctx);
    },
  };
}
