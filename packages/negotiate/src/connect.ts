import { pickVariants, type Conn, type Stack, type StackTop, type Transport } from '@bertha/core';
import { build, datapath } from './build.js';
import { publishFailure, publishPick, publishStart } from './diagnostics/negotiate-channels.js';
import { MAX_CLOSE_WAIT_MS, clientChannel, onFirstData, openChannel, type Channel, type ChannelOptions } from './channel.js';
import { NegotiationError, incompatibleError } from './errors.js';
import { record, type Negotiation } from './negotiation.js';
import { OptimisticConn, Verdict, type Attempt, type Negotiator, type Rejection } from './optimistic-conn.js';
import type { FitsBase, NegotiateOptions } from './options.js';
import { defaultPickCache, pickKey, type PickCache } from './pick-cache.js';
import type { AgreedPick } from './pick.js';
import { DEFAULT_TIMEOUT_MS, checkTimeout, exchange, type RequestOptions } from './request.js';
import { stackInfo, type StackInfo } from './stack-info.js';
import { nonce, type WireMessage } from './wire.js';

export interface ConnectOptions extends NegotiateOptions {
  /**
   * Use a cached pick for this server and stack, if there is one: the
   * connection is usable at once and data goes out with "use this pick".
   * Default false (1-RTT). Either way a successful negotiation is cached.
   */
  readonly zeroRtt?: boolean;
  /** Where picks are kept for 0-RTT. Default: one in-memory cache per process. */
  readonly cache?: PickCache;
  /** Skip negotiation: use a pick agreed elsewhere and pre-registered at this server (datagram transports). */
  readonly pick?: AgreedPick;
  /** 0-RTT: messages kept for re-sending until the server accepts; further sends wait. Default 64. */
  readonly maxUnconfirmed?: number;
  /** 0-RTT: rejections tolerated (the server's stack changed again meanwhile) before giving up. Default 2. */
  readonly maxRejections?: number;
}

/**
 * One `connect` call: what every attempt of it shares (base connections,
 * channel options, requests), and what its 0-RTT connection calls back on
 * a rejection or a failure (no closures per connection).
 */
class Client<A> implements Negotiator<unknown> {
  /** This negotiation in the diagnostics channels. */
  readonly id: number;
  readonly key: string;
  readonly request: RequestOptions;
  /** Channel options: the stack's shared ones unless this call sets its own timeout or retransmission. */
  readonly channel: ChannelOptions;

  constructor(
    readonly info: StackInfo,
    readonly base: Transport<A>,
    readonly addr: A,
    readonly server: string,
    readonly cache: PickCache,
    readonly opts: ConnectOptions,
  ) {
    this.id = publishStart('client', server);
    this.key = pickKey(server, info.fingerprint);
    const timeoutMs = checkTimeout(opts.timeoutMs);
    this.request = { timeoutMs, retransmit: opts.retransmit, signal: opts.signal, peer: server };
    this.channel =
      opts.retransmit === undefined && timeoutMs === DEFAULT_TIMEOUT_MS
        ? info.clientChannel
        : clientChannel(info.codec, opts.retransmit, Math.min(timeoutMs, MAX_CLOSE_WAIT_MS));
  }

  renegotiate(rejection: Rejection, rejections: number): Promise<Attempt<unknown>> {
    return renegotiate(this, rejection, rejections);
  }

  failed(err: Error): void {
    publishFailure(this.id, 'client', this.server, err);
  }
}

/**
 * Opens a base connection to `addr`, negotiates `stack` with the listener
 * there, and builds the picked datapath bottom-up. Rejects with a
 * `NegotiationError` when the stacks cannot talk or the server does not
 * answer in time.
 */
export async function connect<S extends Stack, A>(
  stack: S & FitsBase<S>,
  base: Transport<A>,
  addr: A,
  opts: ConnectOptions = {},
): Promise<Conn<StackTop<S>>> {
  const info = stackInfo(stack);
  const server = base.format(addr);
  const client = new Client(info, base, addr, server, opts.cache ?? defaultPickCache, opts);
  try {
    if (opts.pick) return (await preRegistered(client, opts.pick)) as Conn<StackTop<S>>;
    if (opts.zeroRtt === true) {
      const got = client.cache.get(client.key);
      // A synchronous cache answers without a turn of the microtask queue.
      const cached = got instanceof Promise ? await got : got;
      if (cached && fits(info, cached)) {
        const conn = new OptimisticConn(await attempt(client, cached, 0), client, opts.maxUnconfirmed ?? 64);
        record(conn, conn);
        return conn as Conn<StackTop<S>>;
      }
    }
    return (await oneRtt(client, 0)).top as Conn<StackTop<S>>;
  } catch (err) {
    // In this function, not a wrapper around it: a connect costs no extra async frame for diagnostics.
    publishFailure(client.id, 'client', server, err);
    throw err;
  }
}

function fits(info: StackInfo, pick: AgreedPick): boolean {
  return pick.client.fingerprint === info.fingerprint && pick.client.variant < info.variants.length;
}

async function open<A>(c: Client<A>): Promise<{ ch: Channel; local: string }> {
  const conn = await c.base.connect(c.addr, c.opts.signal ? { signal: c.opts.signal } : undefined);
  return { ch: openChannel(conn, c.base.datagram, c.channel, c.server), local: c.base.format(conn.local) };
}

/** Builds the client's variant of `pick` over `ch` and describes it. */
async function instantiate<A>(c: Client<A>, ch: Channel, local: string, pick: AgreedPick, mode: Negotiation['mode'], rejections: number) {
  const variant = c.info.variants[pick.client.variant];
  if (!variant) throw new NegotiationError('ERR_NEGOTIATION_PROTOCOL', `${c.server} picked client variant ${pick.client.variant}, which this stack does not have`);
  const variantNames = c.info.names[pick.client.variant]!;
  const path = datapath(variant.chunnels, variantNames, c.opts.passes);
  const top = await build(path, ch.data, { role: 'client', peer: c.server, signal: c.opts.signal });
  const negotiation: Negotiation = {
    mode,
    role: 'client',
    local,
    peer: c.server,
    variant: variantNames,
    stack: path.stack,
    decisions: pick.decisions,
    pick,
    rejections,
    earlyData: undefined,
  };
  publishPick(c.id, top, negotiation);
  return { top, negotiation };
}

/** Offer every variant, wait for the pick (re-sending on datagram transports), build it. */
async function oneRtt<A>(c: Client<A>, rejections: number): Promise<Attempt<unknown>> {
  const { ch, local } = await open(c);
  try {
    const offer = { t: 'offer', nonce: nonce(), fingerprint: c.info.fingerprint, offers: c.info.offers } as const;
    const answer = await new Promise<Extract<WireMessage, { t: 'pick' | 'error' }>>((resolve, reject) => {
      exchange(ch, offer, ['pick', 'error'], c.request, (err, a) => (err ? reject(err) : resolve(a!)));
    });
    if (answer.t === 'error') {
      await c.cache.delete(c.key);
      throw incompatibleError(c.server, answer.incompatibilities);
    }
    if (!fits(c.info, answer.pick)) {
      throw new NegotiationError('ERR_NEGOTIATION_PROTOCOL', `${c.server} answered with a pick for another stack: is it running another negotiation version?`);
    }
    ch.accepted();
    await c.cache.set(c.key, answer.pick);
    const { top, negotiation } = await instantiate(c, ch, local, answer.pick, '1-rtt', rejections);
    record(top, negotiation);
    const verdict = new Verdict();
    verdict.settle(undefined);
    return { top, negotiation, verdict };
  } catch (err) {
    await ch.close().catch(() => undefined);
    throw err;
  }
}

const USE_ANSWERS = ['ack', 'reject'] as const;

/** Sends "use this pick" and builds its stack at once; the server's verdict comes in `verdict`. */
async function attempt<A>(c: Client<A>, pick: AgreedPick, rejections: number): Promise<Attempt<unknown>> {
  const { ch, local } = await open(c);
  ch.accepted();
  const verdict = new Verdict();
  // Nonce and token: the request's unique value for the server's replay protection; `at` bounds its lifetime.
  const use = { t: 'use', nonce: nonce(), token: nonce(), at: Date.now(), pick } as const;
  const { timeoutMs, retransmit, peer } = c.request;
  // The connect's signal ends with the connect call; the verdict may come later.
  exchange(ch, use, USE_ANSWERS, { timeoutMs, retransmit, peer, signal: undefined, withData: true }, (err, answer) => {
    if (err) return verdict.settle(err);
    if (answer!.t === 'reject') return verdict.settle(answer);
    if (rejections === 0) verdict.settle(undefined);
    else {
      // A pick that replaced a rejected one: cache it before confirming.
      Promise.resolve(c.cache.set(c.key, pick)).then(
        () => verdict.settle(undefined),
        (e: unknown) => verdict.settle(e instanceof Error ? e : new Error(String(e))),
      );
    }
  });
  // Data from the server means it accepted the pick, whether or not its ack arrived yet (it may not come at all).
  onFirstData(ch, use);
  try {
    const { top, negotiation } = await instantiate(c, ch, local, pick, '0-rtt', rejections);
    return { top, negotiation, verdict };
  } catch (err) {
    await ch.close().catch(() => undefined);
    throw err;
  }
}

/** After a rejection: pick from the server's offers and try 0-RTT again, or fall back to 1-RTT. */
async function renegotiate<A>(c: Client<A>, rejection: Rejection, rejections: number): Promise<Attempt<unknown>> {
  await c.cache.delete(c.key);
  const maxRejections = c.opts.maxRejections ?? 2;
  if (rejections > maxRejections) {
    throw new NegotiationError('ERR_NEGOTIATION_REJECTED', `${c.server} rejected ${rejections} picks in a row (last: ${rejection.reason}): retry later; messages sent on this connection were not delivered`);
  }
  // The server could not tell the request from a replay: a round trip proves this client is live.
  if (rejection.oneRtt) return oneRtt(c, rejections);
  const outcome = pickVariants(rejection.offers, c.info.offers);
  // Without a compatible pair, a full offer lets the server report the error on its side too.
  if (!outcome.ok) return oneRtt(c, rejections);
  const { server, client, decisions } = outcome.pick;
  const pick: AgreedPick = {
    server: { fingerprint: rejection.fingerprint, variant: server },
    client: { fingerprint: c.info.fingerprint, variant: client, offer: c.info.offers[client]! },
    decisions,
  };
  return attempt(c, pick, rejections);
}

/** A pick registered at the server by a third party: no negotiation at all. */
async function preRegistered<A>(c: Client<A>, pick: AgreedPick): Promise<Conn<unknown>> {
  if (!fits(c.info, pick)) {
    throw new NegotiationError('ERR_NEGOTIATION_PROTOCOL', 'connect({ pick }): the pick was agreed for another stack; pass the stack it was negotiated with');
  }
  const { ch, local } = await open(c);
  ch.accepted();
  ch.read();
  try {
    const { top, negotiation } = await instantiate(c, ch, local, pick, 'pre-registered', 0);
    record(top, negotiation);
    return top;
  } catch (err) {
    await ch.close().catch(() => undefined);
    throw err;
  }
}
