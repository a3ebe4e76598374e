import type { SelectDecision, VariantOffer } from '@bertha/core';

/**
 * What two ends agreed on, in a form either can send to a third: the
 * server's variant (checked against its stack's fingerprint) and the
 * client's variant with its offer (so a server can check compatibility
 * without the client's whole stack).
 */
export interface AgreedPick {
  readonly server: { readonly fingerprint: string; readonly variant: number };
  readonly client: { readonly fingerprint: string; readonly variant: number; readonly offer: VariantOffer };
  /** How each select was decided when this pick was made (by the server, 1-RTT). */
  readonly decisions: readonly SelectDecision[];
}
