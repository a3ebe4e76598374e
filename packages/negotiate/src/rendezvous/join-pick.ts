/**
 * The pick `join` stores in the rendezvous (the store treats it as opaque bytes):
 *
 *   u8   version   1
 *   u32  epoch     random id of this commit, big-endian; tags every data message
 *                  sent with it (see switch-conn.ts), so a pick committed again
 *                  later gets fresh stack instances
 *   ...  stack     MessagePack array (arrays only, so the bytes are deterministic):
 *                  [ chunnels: [name, capabilities: [kind, type, labels, universe?][]][],
 *                    choices: [select, branch, option0, option1][] ]
 *
 * Two picks run the same stack when their `stack` bytes are equal.
 */
import { randomInt } from 'node:crypto';
import { DecodeError, MAX_VARIANTS, type Capability, type Choice, type VariantOffer } from '@bertha/core';
import { Packr } from 'msgpackr';

const VERSION = 1;
const HEADER = 5;
const MAX_ITEMS = 256;
const MAX_STRING = 4096;
const packr = new Packr({ useRecords: false, structuredClone: false });

export interface DecodedPick {
  readonly epoch: number;
  /** The encoded stack: compare these bytes to tell whether two picks run the same stack. */
  readonly stack: Uint8Array;
  readonly offer: VariantOffer;
}

export function encodeStack(offer: VariantOffer): Uint8Array {
  const caps = (cs: readonly Capability[]) =>
    cs.map((c) => (c.kind === 'two-sided' ? ['two-sided', c.type, [...c.labels]] : ['one-sided', c.type, [...c.labels], [...c.universe]]));
  const body = [
    offer.chunnels.map((c) => [c.name, caps(c.capabilities)]),
    offer.choices.map((c) => [c.select, c.branch, c.options[0], c.options[1]]),
  ];
  return new Uint8Array(packr.pack(body));
}

/** A fresh epoch id: random, so that picks made concurrently or after a store restart do not collide. */
export function newEpoch(): number {
  return randomInt(0, 0x1_0000_0000);
}

export function encodePick(stack: Uint8Array, epoch: number): Uint8Array {
  const out = new Uint8Array(HEADER + stack.byteLength);
  out[0] = VERSION;
  new DataView(out.buffer).setUint32(1, epoch);
  out.set(stack, HEADER);
  return out;
}

/** Decodes a pick read from the store; throws `DecodeError` for anything `encodePick` did not write. */
export function decodePick(bytes: Uint8Array): DecodedPick {
  // Every member in a process reads the same state objects: decode each pick once, not once per member.
  let decoded = decodedPicks.get(bytes);
  if (decoded === undefined) decodedPicks.set(bytes, (decoded = decodeUncached(bytes)));
  return decoded;
}

const decodedPicks = new WeakMap<Uint8Array, DecodedPick>();

function decodeUncached(bytes: Uint8Array): DecodedPick {
  if (bytes.byteLength <= HEADER || bytes[0] !== VERSION) {
    throw new DecodeError(`the rendezvous holds a pick this version cannot read (version ${bytes[0] ?? 'none'}): are all members running the same @bertha/negotiate?`);
  }
  const epoch = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1);
  const stack = bytes.subarray(HEADER);
  let body: unknown;
  try {
    body = packr.unpack(stack);
  } catch (cause) {
    throw new DecodeError('the rendezvous pick is not valid MessagePack', { cause });
  }
  const offer = toOffer(body);
  if (offer === undefined) throw new DecodeError('the rendezvous pick does not describe a stack');
  return { epoch, stack, offer };
}

const isStr = (x: unknown): x is string => typeof x === 'string' && x.length <= MAX_STRING;
const isStrs = (x: unknown): x is string[] => Array.isArray(x) && x.length <= MAX_ITEMS && x.every(isStr);

function toCapability(x: unknown): Capability | undefined {
  if (!Array.isArray(x) || !isStr(x[1]) || !isStrs(x[2])) return undefined;
  if (x[0] === 'two-sided' && x.length === 3) return { kind: 'two-sided', type: x[1], labels: x[2] };
  if (x[0] === 'one-sided' && x.length === 4 && isStrs(x[3])) return { kind: 'one-sided', type: x[1], labels: x[2], universe: x[3] };
  return undefined;
}

function toOffer(body: unknown): VariantOffer | undefined {
  if (!Array.isArray(body) || body.length !== 2) return undefined;
  const [chunnels, choices] = body as unknown[];
  if (!Array.isArray(chunnels) || chunnels.length === 0 || chunnels.length > MAX_ITEMS) return undefined;
  if (!Array.isArray(choices) || choices.length > MAX_VARIANTS) return undefined;
  const cs: VariantOffer['chunnels'][number][] = [];
  for (const c of chunnels as unknown[]) {
    if (!Array.isArray(c) || !isStr(c[0]) || !Array.isArray(c[1]) || c[1].length > MAX_ITEMS) return undefined;
    const capabilities = (c[1] as unknown[]).map(toCapability);
    if (capabilities.some((x) => x === undefined)) return undefined;
    cs.push({ name: c[0], capabilities: capabilities as Capability[] });
  }
  const chs: Choice[] = [];
  for (const x of choices as unknown[]) {
    const c = x as unknown[];
    if (!Array.isArray(c) || c.length !== 4 || !Number.isSafeInteger(c[0]) || (c[1] !== 0 && c[1] !== 1) || !isStr(c[2]) || !isStr(c[3])) return undefined;
    // Whether the proposer preferred this branch does not matter for running it.
    chs.push({ select: c[0] as number, branch: c[1], preferred: false, options: [c[2], c[3]] });
  }
  return { chunnels: cs, choices: chs };
}
