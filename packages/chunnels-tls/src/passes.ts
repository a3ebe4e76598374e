/**
 * The optimization pass of this package, on its own subpath so that an
 * application adopts it by importing it:
 *
 *   import { fuseTlsMaybeLocal } from '@bertha/chunnels-tls/passes';
 *   await connect(stack, tcp(), addr, { passes: [fuseTlsMaybeLocal] });
 *
 * `[…, tls, maybe-local, …]` becomes `[…, tls+maybe-local, …]`, keeping both
 * Chunnels' options (the fused Chunnel shares the maybe-local directory, so
 * a server's announcement serves it).
 */
import { subst, type AnyChunnel } from '@bertha/core';
import { fusedTlsMaybeLocal } from './fused.js';
import type { MaybeLocalChunnel } from './maybe-local.js';
import type { TlsChunnel } from './tls.js';

export const fuseTlsMaybeLocal = subst(['*', 'tls', 'maybe-local', '*'], (matched: readonly AnyChunnel[]) => {
  const [t, local] = matched as readonly [TlsChunnel, MaybeLocalChunnel];
  return fusedTlsMaybeLocal({ tls: t.options, local: local.options });
});
