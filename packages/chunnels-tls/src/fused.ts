/**
 * fusedTlsMaybeLocal(options): what `[tls, maybeLocal]` does, without TLS on
 * the local path. Over the network it is TLS; when the peer proves it is on
 * this machine, the connection moves to its Unix socket and, if the peer is
 * fused too, carries messages unencrypted (the Unix socket never leaves the
 * kernel). A peer running the unfused pair gets TLS over the Unix socket, as
 * it expects: the fused Chunnel speaks the pair's protocol, so one end may
 * apply the pass and the other not.
 */
import type { Chunnel } from '@bertha/core';
import { publishPath } from './diagnostics.js';
import { localHandshake } from './local/handshake.js';
import { LOCALITY, handshakeOptions, type MaybeLocalOptions } from './maybe-local.js';
import { ENCRYPTION, TlsState, type TlsOptions } from './tls.js';

export interface FusedTlsMaybeLocalOptions {
  readonly tls?: TlsOptions;
  readonly local?: MaybeLocalOptions;
}

export type FusedTlsMaybeLocalChunnel = Chunnel<Uint8Array, Uint8Array, 'tls+maybe-local'> & { readonly options: FusedTlsMaybeLocalOptions };

export function fusedTlsMaybeLocal(options: FusedTlsMaybeLocalOptions = {}): FusedTlsMaybeLocalChunnel {
  const tls = new TlsState(options.tls ?? {});
  const hs = handshakeOptions(options.local ?? {}, true);
  const caps = [ENCRYPTION, LOCALITY];
  return {
    name: 'tls+maybe-local' as const,
    options,
    capabilities: () => caps,
    connectWrap: async (inner, ctx) => {
      const out = await localHandshake(inner, ctx, hs);
      const plain = out.local && out.plain;
      publishPath(() => ({ chunnel: 'tls+maybe-local', role: ctx.role, peer: ctx.peer, local: out.local, encrypted: !plain }));
      return plain ? out.conn : tls.start(out.conn, ctx);
    },
  };
}
