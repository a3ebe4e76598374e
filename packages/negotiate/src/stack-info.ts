import { createHash } from 'node:crypto';
import { describeVariant, variants, type Stack, type Variant, type VariantOffer } from '@bertha/core';
import { MAX_CLOSE_WAIT_MS, clientChannel, type ChannelOptions } from './channel.js';
import { DEFAULT_TIMEOUT_MS } from './request.js';
import { WireCodec } from './wire.js';

/** What negotiation needs of a stack, computed once per Stack object. */
export interface StackInfo {
  readonly variants: readonly Variant[];
  readonly offers: readonly VariantOffer[];
  /** Chunnel names of each variant, application side first. */
  readonly names: readonly (readonly string[])[];
  /** Stable hash of `offers`: equal stacks (even in different processes) have equal fingerprints. */
  readonly fingerprint: string;
  /** Encodes and decodes the negotiation messages of this stack's client connections. */
  readonly codec: WireCodec;
  /** The channel options of this stack's client connections with the default timeout and retransmission. */
  readonly clientChannel: ChannelOptions;
}

const infos = new WeakMap<Stack, StackInfo>();

export function stackInfo(stack: Stack): StackInfo {
  let info = infos.get(stack);
  if (!info) {
    const vs = variants(stack);
    const offers = vs.map(describeVariant);
    const codec = new WireCodec();
    const clientChannelOptions = clientChannel(codec, undefined, Math.min(DEFAULT_TIMEOUT_MS, MAX_CLOSE_WAIT_MS));
    info = { variants: vs, offers, names: vs.map((v) => v.chunnels.map((c) => c.name)), fingerprint: fingerprint(offers), codec, clientChannel: clientChannelOptions };
    infos.set(stack, info);
  }
  return info;
}

/** SHA-256 (first 128 bits, hex) of the offers in canonical JSON (sorted keys). */
export function fingerprint(offers: readonly VariantOffer[]): string {
  return createHash('sha256').update(canonical(offers)).digest('hex').slice(0, 32);
}

function canonical(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonical).join(',')}]`;
  if (typeof x === 'object' && x !== null) {
    const entries = Object.entries(x as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(x);
}
