/**
 * maybeLocal(options): when the peer proves it runs on this machine (see
 * local/handshake.ts), the connection moves to its Unix socket; otherwise it
 * stays on the network connection below. Needs a reliable, ordered Conn
 * below (the handshake's messages must arrive). A server announces its
 * address in the directory (`directory.announce`) for clients to find it.
 */
import { InvalidArgumentError, twoSided, type Capability, type Chunnel } from '@bertha/core';
import { publishPath } from './diagnostics.js';
import { defaultDirectory, type LocalDirectory } from './local/directory.js';
import { localHandshake, type HandshakeOptions } from './local/handshake.js';

export interface MaybeLocalOptions {
  /** Where services are announced and looked up. Default: `defaultDirectory()`. */
  readonly directory?: LocalDirectory;
  /** How long the handshake may wait for the peer. Default 5,000 ms. */
  readonly timeoutMs?: number;
}

export type MaybeLocalChunnel = Chunnel<Uint8Array, Uint8Array, 'maybe-local'> & { readonly options: MaybeLocalOptions };

/** Both ends must run the handshake. */
export const LOCALITY: Capability = twoSided('locality', 'maybe-local');

export function handshakeOptions(opts: MaybeLocalOptions, fused: boolean): HandshakeOptions {
  const timeoutMs = opts.timeoutMs ?? 5000;
  if (!(timeoutMs > 0)) throw new InvalidArgumentError(`maybe-local: timeoutMs must be positive, got ${timeoutMs}`);
  return { directory: opts.directory ?? defaultDirectory(), fused, timeoutMs };
}

export function maybeLocal(options: MaybeLocalOptions = {}): MaybeLocalChunnel {
  const hs = handshakeOptions(options, false);
  const caps = [LOCALITY];
  return {
    name: 'maybe-local' as const,
    options,
    capabilities: () => caps,
    connectWrap: async (inner, ctx) => {
      const out = await localHandshake(inner, ctx, hs);
      publishPath(() => ({ chunnel: 'maybe-local', role: ctx.role, peer: ctx.peer, local: out.local, encrypted: false }));
      return out.conn;
    },
  };
}
