import type { Transport } from '@bertha/core';
import { MAX_CLOSE_WAIT_MS, openChannel } from './channel.js';
import { NegotiationError } from './errors.js';
import type { NegotiateOptions } from './options.js';
import type { AgreedPick } from './pick.js';
import { checkTimeout, request } from './request.js';
import { WireCodec, nonce } from './wire.js';

export interface PreRegistration<A> {
  /** The address the server will see the peer connect from. */
  readonly peer: A;
  /** The pick the peer will use, e.g. `negotiated(conn).pick` from a connection with the peer. */
  readonly pick: AgreedPick;
}

/**
 * Tells the listener at `server` that connections from `reg.peer` will use
 * `reg.pick` (a sharding server telling its shards, say), so the peer can
 * `connect(stack, base, server, { pick })` without negotiating. Resolves once
 * the server accepted; rejects with `ERR_NEGOTIATION_REJECTED` if the pick
 * does not fit its stack. The registration serves one connection and
 * expires after the listener's `preRegistrationTtlMs`.
 */
export async function preRegister<A>(base: Transport<A>, server: A, reg: PreRegistration<A>, opts: Omit<NegotiateOptions, 'passes'> = {}): Promise<void> {
  const where = base.format(server);
  const timeoutMs = checkTimeout(opts.timeoutMs);
  const conn = await base.connect(server, opts.signal ? { signal: opts.signal } : undefined);
  const ch = openChannel(
    conn,
    base.datagram,
    { codec: new WireCodec(), onMalformed: () => undefined, retransmit: opts.retransmit, closeWaitMs: Math.min(timeoutMs, MAX_CLOSE_WAIT_MS) },
    where,
  );
  try {
    const peer = base.format(reg.peer);
    const answer = await request(ch, { t: 'prereg', nonce: nonce(), peer, pick: reg.pick }, ['prereg-ack'], {
      timeoutMs,
      retransmit: opts.retransmit,
      signal: opts.signal,
      peer: where,
    });
    if (!answer.ok) throw new NegotiationError('ERR_NEGOTIATION_REJECTED', `${where} refused the pre-registration of ${peer}: ${answer.reason}`);
  } finally {
    await ch.close().catch(() => undefined);
  }
}
