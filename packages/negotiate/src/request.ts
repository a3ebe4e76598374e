import { AbortError, ConnClosedError, InvalidArgumentError } from '@bertha/core';
import type { Channel } from './channel.js';
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
  const initial = opts.retransmit?.initialMs ?? 100;
  const max = opts.retransmit?.maxMs ?? 1000;
  const factor = opts.retransmit?.factor ?? 2;
  if (!(initial > 0) || !(max >= initial) || !(factor >= 1)) {
    throw new InvalidArgumentError('retransmit needs initialMs > 0, maxMs >= initialMs and factor >= 1');
  }
  const { signal } = opts;
  if (signal?.aborted) return Promise.reject(new AbortError(signal.reason));
  return new Promise((resolve, reject) => {
    let sends = 0;
    let wait = initial;
    let resend: NodeJS.Timeout | undefined;
    const finish = (settle: () => void): void => {
      clearTimeout(resend);
      clearTimeout(deadline);
      signal?.removeEventListener('abort', onAbort);
      ch.handler = { message: () => undefined, end: () => undefined };
      settle();
    };
    const onAbort = (): void => finish(() => reject(new AbortError(signal?.reason)));
    const deadline = setTimeout(() => {
      finish(() =>
        reject(
          new NegotiationError(
            'ERR_NEGOTIATION_TIMEOUT',
            `no negotiation answer from ${opts.peer} within ${opts.timeoutMs} ms (${sends} ${sends === 1 ? 'send' : 'sends'}): check that a @bertha/negotiate listener runs there, or raise timeoutMs`,
          ),
        ),
      );
    }, opts.timeoutMs);
    const send = (): void => {
      sends++;
      if (sends === 1 && opts.withData === true) ch.sendWithData(msg);
      else ch.sendMessage(msg).catch((err: unknown) => finish(() => reject(err instanceof Error ? err : new Error(String(err)))));
      if (ch.datagram) {
        resend = setTimeout(send, wait);
        wait = Math.min(wait * factor, max);
      }
    };
    ch.handler = {
      message: (m) => {
        if (m.nonce === msg.nonce && (answers as readonly string[]).includes(m.t)) {
          finish(() => resolve(m as Extract<WireMessage, { t: T }>));
        }
      },
      end: (err) =>
        finish(() =>
          reject(err instanceof ConnClosedError ? new ConnClosedError(`${opts.peer} closed the connection during negotiation: is it a @bertha/negotiate listener?`, { cause: err }) : err),
        ),
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    send();
    ch.expectMessage();
  });
}
