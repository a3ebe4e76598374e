import {
  ConnClosedError,
  InvalidArgumentError,
  MessageQueue,
  incompatibilities,
  pickVariants,
  untilClosed,
  type BaseConn,
  type CallOptions,
  type Conn,
  type Incompatibility,
  type Listener,
  type Stack,
  type StackTop,
  type Transport,
  type VariantOffer,
} from '@bertha/core';
import { build, datapath, type Datapath } from './build.js';
import { MAX_CLOSE_WAIT_MS, PEER_CLOSES_WITHIN_MS, openChannel, type Channel, type ChannelOptions } from './channel.js';
import { publishFailure, publishPick, publishStart } from './diagnostics/negotiate-channels.js';
import { warnUnhandledFailure } from './diagnostics/unhandled-failure.js';
import { NegotiationError, incompatibleError } from './errors.js';
import { record, type Negotiation } from './negotiation.js';
import type { FitsBase, NegotiateOptions } from './options.js';
import type { AgreedPick } from './pick.js';
import { PreRegistry } from './pre-registry.js';
import { checkTimeout } from './request.js';
import { stackInfo, type StackInfo } from './stack-info.js';
import { StrikeRegister, type ReplayProtectionOptions } from './strike-register.js';
import { WireCodec, type WireMessage, type WireType } from './wire.js';

export interface ListenOptions extends Omit<NegotiateOptions, 'retransmit'> {
  /**
   * Called for every connection that failed to negotiate (incompatible stacks, a Chunnel that failed to wrap); the listener goes on.
   * Without it, the first such failure emits a process warning (`BERTHA_UNHANDLED_NEGOTIATION_FAILURE`) and the rest are only counted.
   */
  readonly onError?: (err: Error, peer: string) => void;
  /** How long a pre-registration waits for its peer to connect. Default 60,000 ms. */
  readonly preRegistrationTtlMs?: number;
  /**
   * Most connections open at once (negotiating or negotiated). A client past
   * it is refused with `ERR_NEGOTIATION_BUSY`. Default 10,000.
   */
  readonly maxSessions?: number;
  /**
   * Datagram transports: a connection whose peer sent nothing for this long
   * is closed (the peer vanished without a `close`: UDP says nothing when a
   * process dies); its reads end. Default 120,000 ms; `Infinity` keeps
   * silent connections open. Stream transports end with the stream.
   */
  readonly idleTimeoutMs?: number;
  /**
   * 0-RTT replay protection (on by default): each 0-RTT request is accepted
   * at most once within a time window; a replayed or stale one is rejected,
   * and a real client behind it falls back to 1-RTT. `false` turns it off
   * (a captured 0-RTT request then opens a new connection, and delivers its
   * early data, every time it is replayed).
   */
  readonly replayProtection?: false | ReplayProtectionOptions;
}

/** What a listener did, for monitoring. Reading it is free. */
export interface ListenerStats {
  /** Connections handed to `accept`, by how they were negotiated. */
  oneRtt: number;
  zeroRtt: number;
  preRegistered: number;
  /** 0-RTT picks refused (the client re-negotiates). */
  rejected: number;
  /** Clients whose stack cannot talk to ours. */
  incompatible: number;
  /** Pre-registrations accepted from third parties. */
  preRegistrations: number;
  /** Negotiation messages dropped: undecodable, unknown version, or unexpected here. */
  malformed: number;
  /** Peers that opened a connection but completed no negotiation in `timeoutMs`. */
  timedOut: number;
  /** Picked stacks that failed to build (a Chunnel's `picked` or `connectWrap` threw). */
  failed: number;
  /** Connections open now: negotiating, or negotiated and not closed by either end. */
  readonly open: number;
  /** Clients refused because `maxSessions` connections were open. */
  refused: number;
  /** 0-RTT requests refused as replayed or stale (replay protection); the client negotiates again with a round trip. */
  replayed: number;
  /** Datagram connections closed after `idleTimeoutMs` of silence from the peer. */
  idle: number;
}

/** Negotiated connections, one per client; closing the listener closes them all. */
export interface NegotiatedListener<D, A> extends AsyncIterable<Conn<D>> {
  readonly address: A;
  accept(opts?: CallOptions): Promise<Conn<D>>;
  close(): Promise<void>;
  readonly stats: ListenerStats;
}

/**
 * Listens on `addr` and negotiates `stack` with every client. Each client's
 * negotiation runs on its own: one that fails (incompatible, malformed,
 * silent) is reported to `onError` and counted, and never stops the others.
 */
export async function listen<S extends Stack, A>(
  stack: S & FitsBase<S>,
  base: Transport<A>,
  addr: A,
  opts: ListenOptions = {},
): Promise<NegotiatedListener<StackTop<S>, A>> {
  const info = stackInfo(stack);
  const timeoutMs = checkTimeout(opts.timeoutMs);
  const maxSessions = opts.maxSessions ?? 10_000;
  if (!(Number.isInteger(maxSessions) && maxSessions > 0)) throw new InvalidArgumentError(`maxSessions must be a positive integer, got ${String(opts.maxSessions)}`);
  const idleMs = opts.idleTimeoutMs ?? 120_000;
  if (!(idleMs > 0)) throw new InvalidArgumentError(`idleTimeoutMs must be a positive number of milliseconds (or Infinity), got ${String(opts.idleTimeoutMs)}`);
  const listener = await base.listen(addr, opts.signal ? { signal: opts.signal } : undefined);
  return new NegotiatingListener<StackTop<S>, A>(info, base, listener, opts, { timeoutMs, maxSessions, idleMs });
}

/** What clients send to start a negotiation (on a datagram session, at most one per client). */
const REQUESTS: ReadonlySet<WireType> = new Set<WireType>(['offer', 'use', 'prereg']);

/** A pick's verdict when the server accepts it: no reason is empty. */
const ACCEPTS = '';

type OfferOutcome = { readonly ok: true; readonly pick: AgreedPick } | { readonly ok: false; readonly incompatibilities: readonly Incompatibility[] };

/** One peer's negotiation on a listener, waiting for or answering its first message. */
class Session {
  /** The stored answer: a duplicate request gets it again (idempotent over lossy networks). */
  answered: { readonly to: WireType; readonly nonce: number; readonly msg: WireMessage } | undefined;
  /** Counted among the listener's sessions waiting for a first negotiation message. */
  waiting = false;
  /** When the session times out if no negotiation message came (`Date.now()` ms). */
  deadline = 0;
  /** Refused (`maxSessions`): its request gets `busy`, then it closes. */
  refused = false;
  /** Idle detection: datagrams heard by the last sweep, and when that count last moved. */
  heard = 0;
  heardAt = 0;
  constructor(
    readonly host: NegotiatingListener<unknown, unknown>,
    readonly ch: Channel,
    readonly local: string,
    readonly peer: string,
    /** This negotiation in the diagnostics channels. */
    readonly id: number,
  ) {}

  // ChannelHandler: one object per session, no closures.
  message(m: WireMessage): void {
    this.host.onMessage(this, m);
  }

  end(): void {
    this.host.onEnd(this);
  }

  /** A late pre-registration for this peer (datagram transports). */
  adopt(pick: AgreedPick): void {
    this.host.onPreRegistered(this, pick);
  }
}

class NegotiatingListener<D, A> implements NegotiatedListener<D, A> {
  readonly stats: ListenerStats;
  readonly #info: StackInfo;
  readonly #base: Transport<A>;
  readonly #listener: Listener<A>;
  readonly #opts: ListenOptions;
  readonly #timeoutMs: number;
  readonly #ready = new MessageQueue<Conn<D>>();
  readonly #registry: PreRegistry;
  /** Sessions still waiting for their first negotiation message, oldest first: one timer serves them all. */
  readonly #waiting = new Set<Session>();
  #sweeper: NodeJS.Timeout | undefined;
  /** Answers to offers, per decoded offers (shared by equal offers, wire.ts). */
  readonly #picks = new WeakMap<readonly VariantOffer[], { fingerprint: string; outcome: OfferOutcome }>();
  /** Why this server refuses a pick (`ACCEPTS`: it does not), per pick: decoded `use` picks are shared (wire.ts). */
  readonly #verdicts = new WeakMap<AgreedPick, string>();
  readonly #channel: ChannelOptions;
  readonly #codec = new WireCodec();
  readonly #strikes: StrikeRegister | undefined;
  readonly #maxSessions: number;
  readonly #idleMs: number;
  /** Connections open now (refused ones are not). */
  readonly #open = new Set<Session>();
  #idleSweeper: NodeJS.Timeout | undefined;
  /** The last local address formatted: every connection of a datagram listener has the same. */
  #local: { addr: A; text: string } | undefined;
  #closed = false;
  /** A failure was reported without `onError` (it warns once). */
  #warned = false;

  constructor(info: StackInfo, base: Transport<A>, listener: Listener<A>, opts: ListenOptions, limits: { timeoutMs: number; maxSessions: number; idleMs: number }) {
    const timeoutMs = limits.timeoutMs;
    const stats = {
      oneRtt: 0,
      zeroRtt: 0,
      preRegistered: 0,
      rejected: 0,
      incompatible: 0,
      preRegistrations: 0,
      malformed: 0,
      timedOut: 0,
      failed: 0,
      refused: 0,
      replayed: 0,
      idle: 0,
    };
    this.stats = Object.defineProperty(stats, 'open', { get: () => this.#prune(), enumerable: true }) as ListenerStats;
    this.#maxSessions = limits.maxSessions;
    this.#idleMs = limits.idleMs;
    this.#strikes = opts.replayProtection === false ? undefined : new StrikeRegister(opts.replayProtection);
    this.#channel = {
      codec: this.#codec,
      onMalformed: () => void this.stats.malformed++,
      retransmit: undefined,
      closeWaitMs: Math.min(timeoutMs, MAX_CLOSE_WAIT_MS),
      // The client closes first in most protocols: a server that closes right after its last reply
      // would cross the client's `close` (four datagrams, work left over on both ends). Wait for it.
      peerClosesWithinMs: PEER_CLOSES_WITHIN_MS,
    };
    this.#info = info;
    this.#base = base;
    this.#listener = listener;
    this.#opts = opts;
    this.#timeoutMs = timeoutMs;
    this.#registry = new PreRegistry(opts.preRegistrationTtlMs ?? 60_000);
    // Each connection negotiated as it arrives (no promise per connection), where the base listener can.
    if (listener.divert) listener.divert({ onMessage: (conn) => this.#session(conn), onEnd: () => void this.close() });
    else void this.#run();
  }

  get address(): A {
    return this.#listener.address;
  }

  accept(opts?: CallOptions): Promise<Conn<D>> {
    return this.#ready.takeOne(opts?.signal);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#sweeper);
    clearTimeout(this.#idleSweeper);
    this.#waiting.clear();
    // Tell each peer (best effort: the socket closes right after the first `close`).
    for (const s of this.#open) void s.ch.closeNow();
    this.#open.clear();
    this.#ready.end(new ConnClosedError('listener is closed: listen again to accept connections'));
    await this.#listener.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<Conn<D>> {
    return untilClosed(() => this.accept());
  }

  /** Base listeners that cannot divert: accepted one by one. */
  async #run(): Promise<void> {
    for (;;) {
      let conn: BaseConn<A>;
      try {
        conn = await this.#listener.accept();
      } catch {
        // The base listener closed: so do we.
        void this.close();
        return;
      }
      this.#session(conn);
    }
  }

  /** Negotiates with one peer. Synchronous dispatch: duplicates are answered from the stored reply. */
  #session(conn: BaseConn<A>): void {
    const peer = this.#base.format(conn.remote);
    if (this.#local?.addr !== conn.local) this.#local = { addr: conn.local, text: this.#base.format(conn.local) };
    const ch = openChannel(conn, this.#base.datagram, this.#channel, peer);
    const s = new Session(this as NegotiatingListener<unknown, unknown>, ch, this.#local.text, peer, publishStart('server', peer));
    if (this.#open.size >= this.#maxSessions && this.#prune() >= this.#maxSessions) s.refused = true;
    else this.#opened(s);
    const pre = s.refused ? undefined : this.#registry.take(peer);
    if (pre) {
      ch.read();
      this.#accept(s, pre, 'pre-registered');
      return;
    }
    ch.handler = s;
    // A datagram listener hands the connection over with its first datagram, which is
    // dispatched here: most sessions are answered before they would start waiting.
    ch.expectMessage();
    if (s.answered || ch.closed) return;
    s.waiting = true;
    s.deadline = Date.now() + this.#timeoutMs;
    this.#waiting.add(s);
    if (this.#sweeper === undefined) this.#armSweeper(this.#timeoutMs);
    // Datagram data may arrive before a late pre-registration for its peer: adopt it then.
    if (ch.datagram && !s.refused) this.#registry.wait(peer, s);
  }

  #armSweeper(ms: number): void {
    this.#sweeper = setTimeout(this.#sweep, Math.max(1, ms));
    this.#sweeper.unref();
  }

  /** Closes the sessions that got no negotiation message in time. */
  readonly #sweep = (): void => {
    this.#sweeper = undefined;
    const now = Date.now();
    for (const s of this.#waiting) {
      if (s.deadline > now) {
        this.#armSweeper(s.deadline - now);
        return;
      }
      this.#settled(s);
      this.stats.timedOut++;
      publishFailure(s.id, 'server', s.peer, () => new NegotiationError('ERR_NEGOTIATION_TIMEOUT', `${s.peer} completed no negotiation within ${this.#timeoutMs} ms`));
      void s.ch.drop();
    }
  };

  #opened(s: Session): void {
    this.#open.add(s);
    if (!s.ch.datagram || this.#idleMs === Infinity) return;
    s.heardAt = Date.now();
    if (this.#idleSweeper === undefined) this.#armIdleSweeper();
  }

  #armIdleSweeper(): void {
    // A quarter of the timeout between sweeps: a silent peer is dropped after 1 to 1.25 timeouts.
    this.#idleSweeper = setTimeout(this.#sweepIdle, Math.max(1, this.#idleMs / 4));
    this.#idleSweeper.unref();
  }

  /** Drops the datagram connections whose peer has been silent for `idleTimeoutMs`. */
  readonly #sweepIdle = (): void => {
    this.#idleSweeper = undefined;
    const now = Date.now();
    let datagram = false;
    for (const s of this.#open) {
      if (!s.ch.datagram) continue;
      datagram = true;
      if (s.ch.heard !== s.heard) {
        s.heard = s.ch.heard;
        s.heardAt = now;
      } else if (now - s.heardAt >= this.#idleMs) {
        this.stats.idle++;
        void s.ch.drop();
      }
    }
    if (datagram && !this.#closed) this.#armIdleSweeper();
  };

  /** Open connections, after dropping the closed stream ones (a listener does not see their reads end; datagram ones leave at once). */
  #prune(): number {
    for (const s of this.#open) if (s.ch.closed) this.#open.delete(s);
    return this.#open.size;
  }

  #answer(s: Session, to: WireType, msg: WireMessage): void {
    s.answered = { to, nonce: msg.nonce, msg };
    this.#settled(s);
    // Data from the server implies an ack, so an application that answers at once saves a datagram.
    if (msg.t === 'ack') s.ch.sendUnlessData(msg);
    else s.ch.sendMessage(msg).catch(() => undefined);
  }

  /** The session is answered or gone: no timeout, no late pre-registration. */
  #settled(s: Session): void {
    if (!s.waiting) return;
    s.waiting = false;
    this.#waiting.delete(s);
    if (s.ch.datagram) this.#registry.unwait(s.peer, s);
  }

  /** After a refusal, keep answering duplicates (datagram) until the client surely gave up. */
  #linger(ch: Channel): void {
    if (ch.datagram) setTimeout(() => void ch.drop(), this.#timeoutMs).unref();
    else void ch.drop();
  }

  /** Too many sessions: any request gets `busy`, then the connection closes. */
  #refuse(s: Session, m: WireMessage): void {
    if (!REQUESTS.has(m.t)) return;
    this.stats.refused++;
    const reason = `it has ${this.#maxSessions} connections open (maxSessions): retry later`;
    this.#answer(s, m.t, { t: 'busy', nonce: m.nonce, reason });
    publishFailure(s.id, 'server', s.peer, () => new NegotiationError('ERR_NEGOTIATION_BUSY', `refused ${s.peer}: ${reason}`));
    void s.ch.drop();
  }

  /** @internal Session → listener. */
  onMessage(s: Session, m: WireMessage): void {
    if (s.refused) return this.#refuse(s, m);
    const answered = s.answered;
    if (answered) {
      if (m.t === answered.to && m.nonce === answered.nonce) s.ch.sendMessage(answered.msg).catch(() => undefined);
      else if (REQUESTS.has(m.t)) {
        // A new request from this address: a client negotiates once per base connection, so the
        // port now belongs to a new client (UDP ports are reused) and the old one is gone. Closing
        // the old connection (before any data of this datagram reaches it) lets the new client's
        // next re-send open a session of its own; a 0-RTT client is rejected instead, so it
        // re-sends its early data, which the old connection dropped, from a new port.
        if (m.t === 'use') {
          // Spent: a re-send of this `use` that reaches a fresh session is a replay, refused there too.
          this.#strikes?.admit(m.nonce, m.token, m.at, Date.now());
          const reason = 'this address belonged to a client that is gone: connect again';
          s.ch.sendMessage({ t: 'reject', nonce: m.nonce, reason, oneRtt: false, fingerprint: this.#info.fingerprint, offers: this.#info.offers }).catch(() => undefined);
        }
        // Not a word to the peer: the port is the new client's now.
        void s.ch.drop();
      }
      return;
    }
    switch (m.t) {
      case 'offer': {
        const outcome = this.#pickFor(m);
        if (outcome.ok) {
          this.#answer(s, 'offer', { t: 'pick', nonce: m.nonce, pick: outcome.pick });
          this.#accept(s, outcome.pick, '1-rtt');
        } else {
          this.#answer(s, 'offer', { t: 'error', nonce: m.nonce, incompatibilities: outcome.incompatibilities });
          this.stats.incompatible++;
          this.#failed(s, () => incompatibleError(s.peer, outcome.incompatibilities));
          this.#linger(s.ch);
        }
        return;
      }
      case 'use': {
        const refused = this.#refuses(m.pick);
        const stale = refused === undefined ? this.#strikes?.admit(m.nonce, m.token, m.at, Date.now()) : undefined;
        if (refused === undefined && stale === undefined) {
          this.#answer(s, 'use', { t: 'ack', nonce: m.nonce });
          this.#accept(s, m.pick, '0-rtt');
        } else {
          const reason = refused ?? stale!;
          this.#answer(s, 'use', { t: 'reject', nonce: m.nonce, reason, oneRtt: refused === undefined, fingerprint: this.#info.fingerprint, offers: this.#info.offers });
          if (refused === undefined) this.stats.replayed++;
          else this.stats.rejected++;
          publishFailure(s.id, 'server', s.peer, () => new NegotiationError('ERR_NEGOTIATION_REJECTED', `rejected the 0-RTT pick of ${s.peer}: ${reason}`));
          this.#linger(s.ch);
        }
        return;
      }
      case 'prereg': {
        const refused = this.#refuses(m.pick);
        if (refused === undefined) {
          this.stats.preRegistrations++;
          this.#registry.add(m.peer, m.pick);
        }
        this.#answer(s, 'prereg', { t: 'prereg-ack', nonce: m.nonce, ok: refused === undefined, reason: refused ?? '' });
        this.#linger(s.ch);
        return;
      }
      case 'closed':
        // A late answer to a `close` of a connection already released: nothing to keep.
        void s.ch.drop();
        return;
      default:
        // Answers are for clients; a server receiving one drops it.
        this.stats.malformed++;
    }
  }

  /** @internal Session → listener: its connection ended (either end closed it, or the base went away). */
  onEnd(s: Session): void {
    // Ended (by the peer, or by this listener closing) before a request came: so did its negotiation.
    if (s.waiting) publishFailure(s.id, 'server', s.peer, () => new ConnClosedError(`the connection with ${s.peer} ended before it sent a negotiation request`));
    this.#settled(s);
    this.#open.delete(s);
  }

  /** @internal Session → listener: a pre-registration arrived after the peer's first data. */
  onPreRegistered(s: Session, pick: AgreedPick): void {
    if (s.answered) return;
    s.answered = { to: 'prereg', nonce: -1, msg: { t: 'ack', nonce: -1 } };
    this.#settled(s);
    this.#accept(s, pick, 'pre-registered');
  }

  /** The answer to an offer; the same for equal offers, which decode to one object (wire.ts), so it is worked out once. */
  #pickFor(m: Extract<WireMessage, { t: 'offer' }>): OfferOutcome {
    const known = this.#picks.get(m.offers);
    if (known?.fingerprint === m.fingerprint) return known.outcome;
    const found = pickVariants(this.#info.offers, m.offers);
    let outcome: OfferOutcome;
    if (found.ok) {
      const { server, client, decisions } = found.pick;
      const pick: AgreedPick = {
        server: { fingerprint: this.#info.fingerprint, variant: server },
        client: { fingerprint: m.fingerprint, variant: client, offer: m.offers[client]! },
        decisions,
      };
      outcome = { ok: true, pick };
    } else {
      outcome = { ok: false, incompatibilities: found.incompatibilities };
    }
    this.#picks.set(m.offers, { fingerprint: m.fingerprint, outcome });
    return outcome;
  }

  /** Why this server cannot run `pick`, or undefined when it can. */
  #refuses(pick: AgreedPick): string | undefined {
    let why = this.#verdicts.get(pick);
    if (why === undefined) this.#verdicts.set(pick, (why = this.#check(pick) ?? ACCEPTS));
    return why === ACCEPTS ? undefined : why;
  }

  #check(pick: AgreedPick): string | undefined {
    if (pick.server.fingerprint !== this.#info.fingerprint) return 'the server stack changed since this pick was negotiated';
    const offer = this.#info.offers[pick.server.variant];
    if (!offer) return `the server stack has no variant ${pick.server.variant}`;
    const why = incompatibilities(offer, pick.client.offer);
    return why.length === 0 ? undefined : `the client variant does not fit: ${why.map((w) => w.reason).join('; ')}`;
  }

  #accept(s: Session, pick: AgreedPick, mode: Negotiation['mode']): void {
    const { ch, peer } = s;
    ch.accepted();
    const variant = this.#info.variants[pick.server.variant]!;
    const names = this.#info.names[pick.server.variant]!;
    const fail = (err: unknown): void => {
      this.stats.failed++;
      this.#failed(s, () => (err instanceof Error ? err : new Error(String(err))));
      void ch.drop();
    };
    let path: Datapath;
    try {
      path = datapath(variant.chunnels, names, this.#opts.passes);
    } catch (err) {
      return fail(err);
    }
    build(path, ch.data, { role: 'server', peer, signal: undefined }).then((top) => {
      const negotiation: Negotiation = {
        mode,
        role: 'server',
        local: s.local,
        peer,
        variant: names,
        stack: path.stack,
        decisions: pick.decisions,
        pick,
        rejections: 0,
        earlyData: mode === '0-rtt' ? ch.early : undefined,
      };
      record(top, negotiation);
      publishPick(s.id, top, negotiation);
      if (mode === '1-rtt') this.stats.oneRtt++;
      else if (mode === '0-rtt') this.stats.zeroRtt++;
      else this.stats.preRegistered++;
      if (this.#closed) void top.close();
      else this.#ready.push(top as Conn<D>);
    }, fail);
  }

  /** Reports a failed negotiation: to `onError`, else in a warning the first time; and to diagnostics. The error is made only if needed. */
  #failed(s: Session, make: () => Error): void {
    let err: Error | undefined;
    const error = (): Error => (err ??= make());
    const onError = this.#opts.onError;
    if (onError !== undefined) onError(error(), s.peer);
    else if (!this.#warned) {
      this.#warned = true;
      warnUnhandledFailure(error(), s.peer);
    }
    publishFailure(s.id, 'server', s.peer, error);
  }
}
