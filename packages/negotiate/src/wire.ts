/**
 * Negotiation wire messages (version 1). See README.md, "Wire format".
 *
 * A negotiation message is the tag byte `TAG_NEGOTIATION` followed by one
 * MessagePack map `{ v: 1, t: <type>, nonce, … }`. On datagram transports
 * every data message is `TAG_DATA` followed by the payload; on stream
 * transports data follows the handshake untagged.
 */
import { MAX_VARIANTS, type Capability, type Choice, type Incompatibility, type SelectDecision, type VariantOffer } from '@bertha/core';
import { Packr } from 'msgpackr';
import type { AgreedPick } from './pick.js';

export const WIRE_VERSION = 1;
export const TAG_DATA = 0x00;
export const TAG_NEGOTIATION = 0x01;
/** Datagram transports: a negotiation message (u16 big-endian length, then the message) followed by one data message. */
export const TAG_NEGOTIATION_WITH_DATA = 0x02;

export type WireMessage =
  /** Client → server: every variant of the client's stack. */
  | { readonly t: 'offer'; readonly nonce: number; readonly fingerprint: string; readonly offers: readonly VariantOffer[] }
  /** Server → client: the pick (answers `offer`). */
  | { readonly t: 'pick'; readonly nonce: number; readonly pick: AgreedPick }
  /** Server → client: no pair of variants fits (answers `offer`). */
  | { readonly t: 'error'; readonly nonce: number; readonly incompatibilities: readonly Incompatibility[] }
  /** Client → server, 0-RTT: "use this pick"; data follows without waiting. */
  | { readonly t: 'use'; readonly nonce: number; readonly pick: AgreedPick }
  /** Server → client: the pick of `use` (or of `prereg`) is accepted. */
  | { readonly t: 'ack'; readonly nonce: number }
  /** Server → client: the pick of `use` is refused; here are the server's offers to pick again from. */
  | { readonly t: 'reject'; readonly nonce: number; readonly reason: string; readonly fingerprint: string; readonly offers: readonly VariantOffer[] }
  /** Third party → server: connections from `peer` will use `pick`. */
  | { readonly t: 'prereg'; readonly nonce: number; readonly peer: string; readonly pick: AgreedPick }
  /** Server → third party: answer to `prereg`. */
  | { readonly t: 'prereg-ack'; readonly nonce: number; readonly ok: boolean; readonly reason: string };

export type WireType = WireMessage['t'];

// Plain MessagePack (no records extension), so any MessagePack decoder reads it.
const packr = new Packr({ useRecords: false, structuredClone: false });

export function encodeMessage(msg: WireMessage): Uint8Array {
  const out = packBody(msg, 1, undefined);
  out[0] = TAG_NEGOTIATION;
  return out;
}

/**
 * Messages whose fields other than `nonce` repeat from connection to
 * connection: every 1-RTT client of a stack offers the same, the server
 * answers with the same pick, every 0-RTT client sends the same pick. They
 * are laid out as `{ v: 1, t, nonce: <uint32, always 5 bytes>, …rest }`
 * (still plain MessagePack), so the sender encodes `rest` once per object
 * and the receiver decodes and validates it once per distinct bytes.
 */
type Repeating = Extract<WireMessage, { t: 'offer' | 'pick' | 'use' }>;
const REPEATING: ReadonlySet<string> = new Set<WireType>(['offer', 'pick', 'use']);
const isRepeating = (m: WireMessage): m is Repeating => REPEATING.has(m.t);

/**
 * Encoded repeating messages by the object their `rest` comes from (the
 * offers, with their fingerprint, or the pick): the whole body with a
 * placeholder nonce, so encoding one is a copy and a nonce write.
 */
const templates = new WeakMap<object, { readonly t: WireType; readonly fingerprint: string | undefined; readonly body: Uint8Array }>();
const NONCE_KEY = Uint8Array.of(0xa5, 0x6e, 0x6f, 0x6e, 0x63, 0x65, 0xce); // "nonce", then uint32

function templateOf(msg: Repeating): Uint8Array {
  const from = msg.t === 'offer' ? msg.offers : msg.pick;
  const fingerprint = msg.t === 'offer' ? msg.fingerprint : undefined;
  const known = templates.get(from);
  if (known && known.t === msg.t && known.fingerprint === fingerprint) return known.body;
  const { t, nonce: _nonce, ...rest } = msg;
  // A map of one or two entries: keep the entries, drop the header (msgpackr writes map16, 3 bytes, or a fixmap, 1).
  const packed = packr.pack(rest);
  const entries = packed.subarray(packed[0] === 0xde ? 3 : 1);
  // Not from the shared pool: a template lives as long as its pick.
  const body = Buffer.alloc(nonceOffset(t) + 4 + entries.length);
  body[0] = 0x80 | (t === 'offer' ? 5 : 4);
  body[1] = 0xa1;
  body[2] = 0x76; // "v"
  body[3] = WIRE_VERSION;
  body[4] = 0xa1;
  body[5] = 0x74; // "t"
  body[6] = 0xa0 | t.length;
  body.write(t, 7, 'latin1');
  body.set(NONCE_KEY, 7 + t.length);
  body.set(entries, nonceOffset(t) + 4);
  templates.set(from, { t, fingerprint, body });
  return body;
}

/** Where the nonce of a repeating message of type `t` starts in its body. */
function nonceOffset(t: WireType): number {
  return 7 + t.length + NONCE_KEY.length;
}

/**
 * `msg` encoded into one new buffer, after `head` bytes left for the caller
 * and before `data` (0-RTT's first data message): no second copy.
 */
function packBody(msg: WireMessage, head: number, data: Uint8Array | undefined): Buffer {
  const tail = data?.byteLength ?? 0;
  const repeating = isRepeating(msg);
  const body = repeating ? templateOf(msg) : packr.pack({ v: WIRE_VERSION, ...msg });
  const out = Buffer.allocUnsafe(head + body.length + tail);
  out.set(body, head);
  if (repeating) out.writeUInt32BE(msg.nonce, head + nonceOffset(msg.t));
  if (data) out.set(data, head + body.length);
  return out;
}

/** One datagram carrying `msg` and the data message `data` (0-RTT: "use this pick" with the first data). */
export function encodeMessageWithData(msg: WireMessage, data: Uint8Array): Uint8Array | undefined {
  const out = packBody(msg, 3, data);
  const bodyLength = out.length - 3 - data.byteLength;
  if (bodyLength > 0xffff) return undefined;
  out[0] = TAG_NEGOTIATION_WITH_DATA;
  out.writeUInt16BE(bodyLength, 1);
  return out;
}

/** Where the data of a `TAG_NEGOTIATION_WITH_DATA` datagram starts; -1 when it is too short to say. */
export function withDataStart(bytes: Uint8Array): number {
  if (bytes.byteLength < 3) return -1;
  const start = 3 + ((bytes[1]! << 8) | bytes[2]!);
  return start <= bytes.byteLength ? start : -1;
}

/** The negotiation message of a `TAG_NEGOTIATION_WITH_DATA` datagram (its data starts at `withDataStart`); undefined when malformed. */
export function decodeMessageWithData(bytes: Uint8Array): WireMessage | undefined {
  const end = withDataStart(bytes);
  return end < 0 ? undefined : decodeBody(asBuffer(bytes), 3, end);
}

/** Decodes a tagged negotiation message; undefined for anything malformed (the caller drops and counts it). */
export function decodeMessage(bytes: Uint8Array): WireMessage | undefined {
  return bytes.byteLength >= 2 && bytes[0] === TAG_NEGOTIATION ? decodeBody(asBuffer(bytes), 1, bytes.byteLength) : undefined;
}

/** Datagrams from our transports are Buffers already: no view is made for them. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Repeating messages already decoded and validated, by their bytes without
 * the nonce. Bounded: a peer sending ever new ones only evicts older ones.
 * Messages share the decoded objects (picks, offers): they are read-only.
 */
const known = new Map<string, Repeating>();
const KNOWN_MAX = 256;

/** Where the nonce of a body laid out as `packBody` writes repeating messages starts, and its cache key; undefined for any other layout. */
function repeatingLayout(body: Buffer): { nonceAt: number; key: string } | undefined {
  if (body.byteLength < 24 || body[1] !== 0xa1 || body[2] !== 0x76 || body[3] !== WIRE_VERSION || body[4] !== 0xa1 || body[5] !== 0x74) return undefined;
  const len = body[6]! ^ 0xa0;
  if (len > 5) return undefined;
  const keyAt = 7 + len;
  for (let i = 0; i < NONCE_KEY.length; i++) if (body[keyAt + i] !== NONCE_KEY[i]) return undefined;
  const nonceAt = keyAt + NONCE_KEY.length;
  if (body.byteLength <= nonceAt + 4) return undefined;
  return { nonceAt, key: body.toString('latin1', 0, keyAt) + body.toString('latin1', nonceAt + 4) };
}

/**
 * The last few repeating messages decoded, with their bytes, most recent
 * first: clients mostly send what others sent just before (a server sees the
 * same `offer` and `use` over and over), and comparing bytes costs a quarter
 * of building the cache key (a `use` carries the client's whole offer).
 */
const recent: { readonly bytes: Buffer; readonly nonceAt: number; readonly msg: Repeating }[] = [];
const RECENT_MAX = 4;

/** Decodes the message body in `bytes` from `start` to `end`, by its bytes when one of the last few repeats. */
function decodeBody(bytes: Buffer, start: number, end: number): WireMessage | undefined {
  for (const r of recent) {
    if (sameButNonce(bytes, start, end, r.bytes, r.nonceAt)) return withNonce(r.msg, bytes.readUInt32BE(start + r.nonceAt));
  }
  const body = bytes.subarray(start, end);
  const layout = repeatingLayout(body);
  if (!layout) return decodeUnknown(body);
  let msg = known.get(layout.key);
  if (!msg) {
    const decoded = decodeUnknown(body);
    if (!decoded || !isRepeating(decoded)) return decoded;
    msg = decoded;
    known.set(layout.key, msg);
    if (known.size > KNOWN_MAX) known.delete(known.keys().next().value as string);
  }
  recent.unshift({ bytes: Buffer.from(body), nonceAt: layout.nonceAt, msg });
  if (recent.length > RECENT_MAX) recent.pop();
  return withNonce(msg, body.readUInt32BE(layout.nonceAt));
}

/** `bytes[start, end)` equals `known` but for the nonce at `nonceAt`. */
function sameButNonce(bytes: Buffer, start: number, end: number, known: Buffer, nonceAt: number): boolean {
  return (
    end - start === known.length &&
    known.compare(bytes, start, start + nonceAt, 0, nonceAt) === 0 &&
    known.compare(bytes, start + nonceAt + 4, end, nonceAt + 4, known.length) === 0
  );
}

/** A repeating message with its own nonce; the rest is shared with earlier ones. */
function withNonce(msg: Repeating, nonce: number): Repeating {
  return msg.t === 'offer' ? { t: 'offer', nonce, fingerprint: msg.fingerprint, offers: msg.offers } : { t: msg.t, nonce, pick: msg.pick };
}

function decodeUnknown(body: Uint8Array): WireMessage | undefined {
  let m: unknown;
  try {
    m = packr.unpack(body);
  } catch {
    return undefined;
  }
  if (!isObj(m) || m['v'] !== WIRE_VERSION || !isNonce(m['nonce'])) return undefined;
  switch (m['t']) {
    case 'offer':
      return isStr(m['fingerprint']) && arrayOf(m['offers'], isVariantOffer, MAX_VARIANTS) && m['offers'].length > 0 ? (m as WireMessage) : undefined;
    case 'pick':
    case 'use':
      return isPick(m['pick']) ? (m as WireMessage) : undefined;
    case 'error':
      return arrayOf(m['incompatibilities'], isIncompatibility, 256) ? (m as WireMessage) : undefined;
    case 'ack':
      return m as WireMessage;
    case 'reject':
      return isStr(m['reason']) && isStr(m['fingerprint']) && arrayOf(m['offers'], isVariantOffer, MAX_VARIANTS) && m['offers'].length > 0
        ? (m as WireMessage)
        : undefined;
    case 'prereg':
      return isStr(m['peer']) && isPick(m['pick']) ? (m as WireMessage) : undefined;
    case 'prereg-ack':
      return typeof m['ok'] === 'boolean' && isStr(m['reason']) ? (m as WireMessage) : undefined;
    default:
      return undefined;
  }
}

/** A fresh nonce: matches answers to the request they answer. */
export function nonce(): number {
  return (Math.random() * 0x1_0000_0000) >>> 0;
}

// ---- validation of untrusted input -------------------------------------------

const MAX_STRING = 4096;
const MAX_ITEMS = 256;

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array);
}
function isStr(x: unknown): x is string {
  return typeof x === 'string' && x.length <= MAX_STRING;
}
function isNat(x: unknown): x is number {
  return Number.isSafeInteger(x) && (x as number) >= 0;
}
function isNonce(x: unknown): x is number {
  return isNat(x) && x <= 0xffff_ffff;
}
function arrayOf<T>(x: unknown, item: (y: unknown) => y is T, max = MAX_ITEMS): x is T[] {
  return Array.isArray(x) && x.length <= max && x.every(item);
}
function isStrings(x: unknown): x is string[] {
  return arrayOf(x, isStr);
}

function isCapability(x: unknown): x is Capability {
  if (!isObj(x) || !isStr(x['type']) || !isStrings(x['labels'])) return false;
  return x['kind'] === 'two-sided' || (x['kind'] === 'one-sided' && isStrings(x['universe']));
}

function isChoice(x: unknown): x is Choice {
  return (
    isObj(x) &&
    isNat(x['select']) &&
    (x['branch'] === 0 || x['branch'] === 1) &&
    typeof x['preferred'] === 'boolean' &&
    isStrings(x['options']) &&
    x['options'].length === 2
  );
}

function isVariantOffer(x: unknown): x is VariantOffer {
  return (
    isObj(x) &&
    arrayOf(x['chunnels'], (c: unknown): c is VariantOffer['chunnels'][number] => isObj(c) && isStr(c['name']) && arrayOf(c['capabilities'], isCapability)) &&
    arrayOf(x['choices'], isChoice)
  );
}

function isDecision(x: unknown): x is SelectDecision {
  return (
    isObj(x) &&
    (x['side'] === 'server' || x['side'] === 'client') &&
    isNat(x['select']) &&
    isStr(x['taken']) &&
    isStr(x['rejected']) &&
    typeof x['preferred'] === 'boolean' &&
    isStr(x['reason'])
  );
}

function isPick(x: unknown): x is AgreedPick {
  if (!isObj(x) || !isObj(x['server']) || !isObj(x['client'])) return false;
  const s = x['server'];
  const c = x['client'];
  return (
    isStr(s['fingerprint']) &&
    isNat(s['variant']) &&
    isStr(c['fingerprint']) &&
    isNat(c['variant']) &&
    isVariantOffer(c['offer']) &&
    arrayOf(x['decisions'], isDecision)
  );
}

function isSide(x: unknown): boolean {
  return isObj(x) && isStrings(x['labels']) && isStrings(x['chunnels']);
}

function isIncompatibility(x: unknown): x is Incompatibility {
  return isObj(x) && isStr(x['type']) && isStr(x['kind']) && isStr(x['reason']) && isSide(x['local']) && isSide(x['remote']);
}
