import {
  ConnClosedError,
  MessageQueue,
  incompatibilities,
  pickVariants,
  type BaseConn,
  type CallOptions,
  type Conn,
  type Listener,
  type Stack,
  type StackTop,
  type Transport,
} from '@bertha/core';
import { build } from './build.js';
import { openChannel, type Channel } from './channel.js';
import { incompatibleError } from './errors.js';
import { record, type Negotiation } from './negotiation.js';
import type { FitsBase, NegotiateOptions } from './options.js';
import type { AgreedPick } from './pick.js';
import { PreRegistry } from './pre-registry.js';
import { checkTimeout } from './request.js';
import { stackInfo, type StackInfo } from './stack-info.js';
import type { WireMessage, WireType } from './wire.js';

export interface ListenOptions extends Omit<NegotiateOptions, 'retransmit'> {
  /** Called for every connection that failed to negotiate (incompatible stacks, a Chunnel that failed to wrap); the listener goes on. */
  readonly onError?: (err: Error, peer: string) => void;
  /** How long a pre-registration waits for its peer to connect. Default 60,000 ms. */
  readonly preRegistrationTtlMs?: number;
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
  const listener = await base.listen(addr, opts.signal ? { signal: opts.signal } : undefined);
  return new NegotiatingListener<StackTop<S>, A>(info, base, listener, opts, timeoutMs);
}

class NegotiatingListener<D, A> implements NegotiatedListener<D, A> {
  readonly stats: ListenerStats = { oneRtt: 0, zeroRtt: 0, preRegistered: 0, rejected: 0, incompatible: 0, preRegistrations: 0, malformed: 0, timedOut: 0, failed: 0 };
  readonly #info: StackInfo;
  readonly #base: Transport<A>;
  readonly #listener: Listener<A>;
  readonly #opts: ListenOptions;
  readonly #timeoutMs: number;
  readonly #ready = new MessageQueue<Conn<D>>();
  readonly #registry: PreRegistry;
  #closed = false;

  constructor(info: StackInfo, base: Transport<A>, listener: Listener<A>, opts: ListenOptions, timeoutMs: number) {
    this.#info = info;
    this.#base = base;
    this.#listener = listener;
    this.#opts = opts;
    this.#timeoutMs = timeoutMs;
    this.#registry = new PreRegistry(opts.preRegistrationTtlMs ?? 60_000);
    void this.#run();
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
    this.#ready.end(new ConnClosedError('listener is closed: listen again to accept connections'));
    await this.#listener.close();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Conn<D>> {
    for (;;) {
      try {
        yield await this.accept();
      } catch (err) {
        if (err instanceof ConnClosedError) return;
        throw err;
      }
    }
  }

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
    const local = this.#base.format(conn.local);
    const ch = openChannel(conn, this.#base.datagram, () => this.stats.malformed++);
    const pre = this.#registry.take(peer);
    if (pre) {
      this.#accept(ch, local, peer, pre, 'pre-registered');
      return;
    }
    let answered: { to: WireType; nonce: number; msg: WireMessage } | undefined;
    const timer = setTimeout(() => {
      if (answered) return;
      this.stats.timedOut++;
      void ch.close();
    }, this.#timeoutMs);
    timer.unref();
    // Datagram data may arrive before a late pre-registration for its peer: adopt it then.
    const unwait = ch.datagram
      ? this.#registry.wait(peer, (pick) => {
          if (answered) return;
          answered = { to: 'prereg', nonce: -1, msg: { t: 'ack', nonce: -1 } };
          clearTimeout(timer);
          this.#accept(ch, local, peer, pick, 'pre-registered');
        })
      : () => undefined;
    const answer = (to: WireType, msg: WireMessage): void => {
      answered = { to, nonce: msg.nonce, msg };
      clearTimeout(timer);
      unwait();
      // Data from the server implies an ack, so an application that answers at once saves a datagram.
      if (msg.t === 'ack') ch.sendUnlessData(msg);
      else ch.sendMessage(msg).catch(() => undefined);
    };
    // After a refusal, keep answering duplicates (datagram) until the client surely gave up.
    const linger = (): void => {
      if (ch.datagram) setTimeout(() => void ch.close(), this.#timeoutMs).unref();
      else void ch.close();
    };
    ch.handler = {
      message: (m) => {
        if (answered) {
          if (m.t === answered.to && m.nonce === answered.nonce) ch.sendMessage(answered.msg).catch(() => undefined);
          return;
        }
        switch (m.t) {
          case 'offer': {
            const outcome = pickVariants(this.#info.offers, m.offers);
            if (outcome.ok) {
              const { server, client, decisions } = outcome.pick;
              const pick: AgreedPick = {
                server: { fingerprint: this.#info.fingerprint, variant: server },
                client: { fingerprint: m.fingerprint, variant: client, offer: m.offers[client]! },
                decisions,
              };
              answer('offer', { t: 'pick', nonce: m.nonce, pick });
              this.#accept(ch, local, peer, pick, '1-rtt');
            } else {
              answer('offer', { t: 'error', nonce: m.nonce, incompatibilities: outcome.incompatibilities });
              this.stats.incompatible++;
              this.#opts.onError?.(incompatibleError(peer, outcome.incompatibilities), peer);
              linger();
            }
            return;
          }
          case 'use': {
            const refused = this.#refuses(m.pick);
            if (refused === undefined) {
              answer('use', { t: 'ack', nonce: m.nonce });
              this.#accept(ch, local, peer, m.pick, '0-rtt');
            } else {
              answer('use', { t: 'reject', nonce: m.nonce, reason: refused, fingerprint: this.#info.fingerprint, offers: this.#info.offers });
              this.stats.rejected++;
              linger();
            }
            return;
          }
          case 'prereg': {
            const refused = this.#refuses(m.pick);
            if (refused === undefined) {
              this.stats.preRegistrations++;
              this.#registry.add(m.peer, m.pick);
            }
            answer('prereg', { t: 'prereg-ack', nonce: m.nonce, ok: refused === undefined, reason: refused ?? '' });
            linger();
            return;
          }
          default:
            // Answers are for clients; a server receiving one drops it.
            this.stats.malformed++;
        }
      },
      end: () => {
        clearTimeout(timer);
        unwait();
      },
    };
    ch.expectMessage();
  }

  /** Why this server cannot run `pick`, or undefined when it can. */
  #refuses(pick: AgreedPick): string | undefined {
    if (pick.server.fingerprint !== this.#info.fingerprint) return 'the server stack changed since this pick was negotiated';
    const offer = this.#info.offers[pick.server.variant];
    if (!offer) return `the server stack has no variant ${pick.server.variant}`;
    const why = incompatibilities(offer, pick.client.offer);
    return why.length === 0 ? undefined : `the client variant does not fit: ${why.map((w) => w.reason).join('; ')}`;
  }

  #accept(ch: Channel, local: string, peer: string, pick: AgreedPick, mode: Negotiation['mode']): void {
    ch.accepted();
    const variant = this.#info.variants[pick.server.variant]!;
    build(variant.chunnels, ch.data, { role: 'server', peer, passes: this.#opts.passes, signal: undefined }).then(
      ({ top, stack }) => {
        const negotiation: Negotiation = {
          mode,
          role: 'server',
          local,
          peer,
          variant: variant.chunnels.map((c) => c.name),
          stack,
          decisions: pick.decisions,
          pick,
          rejections: 0,
        };
        record(top, { current: () => negotiation, confirmed: Promise.resolve(negotiation) });
        if (mode === '1-rtt') this.stats.oneRtt++;
        else if (mode === '0-rtt') this.stats.zeroRtt++;
        else this.stats.preRegistered++;
        if (this.#closed) void top.close();
        else this.#ready.push(top as Conn<D>);
      },
      (err: unknown) => {
        this.stats.failed++;
        this.#opts.onError?.(err instanceof Error ? err : new Error(String(err)), peer);
        void ch.close();
      },
    );
  }
}
