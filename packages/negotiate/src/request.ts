import { AbortError, ConnClosedError, InvalidArgumentError } from '@bertha/core';
import type { Channel } from './channel.js';
import { schedule, unschedule, type Timed } from './due-timer.js';
import { idle, type ChannelHandler } from './handler.js';
import { NegotiationError } from './errors.js';
import type { WireMessage, WireType } from './wire.js';

/** Retransmission of negotiation requests on datagram transports: exponential backoff, bounded by the timeout. */
export interface RetransmitOptions {
  /** First wait for an answer before sending again. Default 100 ms. */
  readonly initialMs?: number;
  /** Longest wait between two sends. Default 1,000 ms. */
  readonly maxMs?: number;
  /** Growth of the wait after each send. Default 2. */
  readonly factor?: number;
}

export interface RequestOptions {
  readonly timeoutMs: number;
  readonly retransmit: RetransmitOptions | undefined;
  readonly signal: AbortSignal | undefined;
  /** Names the peer in errors. */
  readonly peer: string;
  /** Datagram transports: the first send rides with the next data message (0-RTT). */
  readonly withData?: boolean;
}

export const DEFAULT_TIMEOUT_MS = 5000;

export function checkTimeout(ms: number | undefined): number {
  const t = ms ?? DEFAULT_TIMEOUT_MS;
  if (!(t > 0 && Number.isFinite(t))) throw new InvalidArgumentError(`timeoutMs must be a positive number of milliseconds, got ${String(ms)}`);
  return t;
}

/** How `exchange` ends: with the answer, or with the error that ended it. */
export type Answered<T extends WireType> = (err: Error | undefined, answer: Extract<WireMessage, { t: T }> | undefined) => void;

/**
 * Sends `msg` and resolves with the first answer of one of the types
 * `answers` carrying the same nonce. On datagram transports the request is
 * sent again with backoff until then; the whole exchange gives up after
 * `timeoutMs` with `ERR_NEGOTIATION_TIMEOUT`.
 */
export function request<T extends WireType>(
  ch: Channel,
  msg: WireMessage,
  answers: readonly T[],
  opts: RequestOptions,
): Promise<Extract<WireMessage, { t: T }>> {
  return new Promise((resolve, reject) => {
    exchange(ch, msg, answers, opts, (err, answer) => (err ? reject(err) : resolve(answer!)));
  });
}

/**
 * `request` with a callback, called synchronously when the answer is
 * dispatched (a 0-RTT connection confirms in the same turn as the data that
 * confirms it). Throws only for bad options.
 */
export function exchange<T extends WireType>(ch: Channel, msg: WireMessage, answers: readonly T[], opts: RequestOptions, done: Answered<T>): void {
  const initial = opts.retransmit?.initialMs ?? 100;
  const max = opts.retransmit?.maxMs ?? 1000;
  const factor = opts.retransmit?.factor ?? 2;
  if (!(initial > 0) || !(max >= initial) || !(factor >= 1)) {
    throw new InvalidArgumentError('retransmit needs initialMs > 0, maxMs >= initialMs and factor >= 1');
  }
  const { signal } = opts;
  if (signal?.aborted) return done(new AbortError(signal.reason), undefined);
  new Exchange(ch, msg, answers, opts, done, initial, max, factor).start();
}

/** One request in flight: re-sent on datagram transports until answered, given up at the deadline. */
class Exchange<T extends WireType> implements ChannelHandler, Timed {
  #sends = 0;
  #wait: number;
  #done = false;
  /** Made only when there is a signal to listen to. */
  #onAbort: (() => void) | undefined;
  #deadline = 0;
  /** When `fire` is due next (`Date.now()` ms): the next re-send, or the deadline if sooner. */
  due = 0;

  constructor(
    readonly ch: Channel,
    readonly msg: WireMessage,
    readonly answers: readonly T[],
    readonly opts: RequestOptions,
    readonly callback: Answered<T>,
    initial: number,
    readonly max: number,
    readonly factor: number,
  ) {
    this.#wait = initial;
  }

  start(): void {
    this.ch.handler = this;
    const { signal } = this.opts;
    if (signal) {
      this.#onAbort = () => this.#finish(new AbortError(signal.reason), undefined);
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
    if (this.opts.withData === true) this.ch.sendWithData(this.msg);
    else this.#sendAlone();
    this.#sends = 1;
    const now = Date.now();
    this.#deadline = now + this.opts.timeoutMs;
    this.#arm(now);
    this.ch.expectMessage();
  }

  // ChannelHandler
  message(m: WireMessage): void {
    if (m.nonce !== this.msg.nonce) return;
    if ((this.answers as readonly string[]).includes(m.t)) this.#finish(undefined, m as Extract<WireMessage, { t: T }>);
    else if (m.t === 'busy') this.#finish(new NegotiationError('ERR_NEGOTIATION_BUSY', `${this.opts.peer} refused the connection: ${m.reason}`), undefined);
  }

  end(err: Error | undefined): void {
    if (this.#done) return;
    let why = err;
    if (why === undefined) why = new ConnClosedError(`the connection to ${this.opts.peer} was closed during negotiation`);
    else if (why instanceof ConnClosedError) why = new ConnClosedError(`${this.opts.peer} closed the connection during negotiation: is it a @bertha/negotiate listener?`, { cause: err });
    this.#finish(why, undefined);
  }

  /** Datagram transports: due at the next re-send, or the deadline if sooner; streams: at the deadline. */
  #arm(now: number): void {
    this.due = this.ch.datagram ? Math.min(now + this.#wait, this.#deadline) : this.#deadline;
    schedule(this);
  }

  /** The shared timer: time to re-send, or to give up. */
  fire(now: number): void {
    if (this.#done) return;
    if (now >= this.#deadline) {
      const sends = this.#sends;
      this.#finish(
        new NegotiationError(
          'ERR_NEGOTIATION_TIMEOUT',
          `no negotiation answer from ${this.opts.peer} within ${this.opts.timeoutMs} ms (${sends} ${sends === 1 ? 'send' : 'sends'}): check that a @bertha/negotiate listener runs there, or raise timeoutMs`,
        ),
        undefined,
      );
      return;
    }
    this.#sends++;
    this.#sendAlone();
    this.#wait = Math.min(this.#wait * this.factor, this.max);
    this.#arm(now);
  }

  #sendAlone(): void {
    this.ch.sendMessage(this.msg).catch((err: unknown) => this.#finish(err instanceof Error ? err : new Error(String(err)), undefined));
  }

  #finish(err: Error | undefined, answer: Extract<WireMessage, { t: T }> | undefined): void {
    if (this.#done) return;
    this.#done = true;
    unschedule(this);
    if (this.#onAbort) this.opts.signal?.removeEventListener('abort', this.#onAbort);
    this.ch.handler = idle;
    this.callback(err, answer);
  }
}
