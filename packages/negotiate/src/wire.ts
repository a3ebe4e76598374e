/**
 * Negotiation wire format (version 2). See README.md, "Wire format".
 *
 * A negotiation message is a fixed 12-byte header of ours, a 12-byte stamp
 * for `use` only, then a MessagePack body with the fields of its kind:
 *
 *     0  u8   MAGIC (0xB7)          4  u32  nonce
 *     1  u8   WIRE_VERSION (2)      8  u32  body length n
 *     2  u8   kind (KINDS)         12  [use: u32 token, u64 sent-at ms]
 *     3  u8   flags (bit 0: data follows the body)
 *
 * Everything a receiver needs to recognise and route a message (magic,
 * version, kind, nonce, where the body and any data start) is read at fixed
 * offsets, never from MessagePack. The body of `offer`, `pick` and `use` is
 * the same bytes from connection to connection (the nonce and stamp are in
 * the header), so a codec encodes it once per object and decodes and
 * validates it once per distinct bytes. On datagram transports, data
 * messages are `TAG_DATA` followed by the payload.
 */
import { DecodeError, MAX_VARIANTS, type Capability, type Choice, type Incompatibility, type SelectDecision, type VariantOffer } from '@bertha/core';
import { Packr } from 'msgpackr';
import type { AgreedPick } from './pick.js';

export const WIRE_VERSION = 2;
/** First byte of a negotiation message. */
export const MAGIC = 0xb7;
/** First byte of a data message on a datagram transport. */
export const TAG_DATA = 0x00;
/** First byte of a data message a 0-RTT client sent before it knew the server's verdict (datagram transports). */
export const TAG_EARLY_DATA = 0x01;
export const HEADER_BYTES = 12;
/** `use` only: u32 token and u64 sent-at (ms since the Unix epoch, client clock), for replay protection. */
export const STAMP_BYTES = 12;
const FLAG_DATA = 0x01;

export type WireMessage =
  /** Client → server: every variant of the client's stack. */
  | { readonly t: 'offer'; readonly nonce: number; readonly fingerprint: string; readonly offers: readonly VariantOffer[] }
  /** Server → client: the pick (answers `offer`). */
  | { readonly t: 'pick'; readonly nonce: number; readonly pick: AgreedPick }
  /** Server → client: no pair of variants fits (answers `offer`). */
  | { readonly t: 'error'; readonly nonce: number; readonly incompatibilities: readonly Incompatibility[] }
  /** Client → server, 0-RTT: "use this pick"; data follows without waiting. `token` and `at` make it single-use. */
  | { readonly t: 'use'; readonly nonce: number; readonly token: number; readonly at: number; readonly pick: AgreedPick }
  /** Server → client: the pick of `use` is accepted. */
  | { readonly t: 'ack'; readonly nonce: number }
  /**
   * Server → client: the pick of `use` is refused; here are the server's
   * offers to pick again from. `oneRtt`: the pick is fine but this 0-RTT
   * request could not be shown to be fresh (replay protection): negotiate
   * with a round trip.
   */
  | { readonly t: 'reject'; readonly nonce: number; readonly reason: string; readonly oneRtt: boolean; readonly fingerprint: string; readonly offers: readonly VariantOffer[] }
  /** Third party → server: connections from `peer` will use `pick`. */
  | { readonly t: 'prereg'; readonly nonce: number; readonly peer: string; readonly pick: AgreedPick }
  /** Server → third party: answer to `prereg`. */
  | { readonly t: 'prereg-ack'; readonly nonce: number; readonly ok: boolean; readonly reason: string }
  /** Server → client: too many sessions; answers any request. */
  | { readonly t: 'busy'; readonly nonce: number; readonly reason: string }
  /** Either end, datagram transports: this end closed the connection. Re-sent until answered. */
  | { readonly t: 'close'; readonly nonce: number }
  /** Answer to `close`. */
  | { readonly t: 'closed'; readonly nonce: number };

export type WireType = WireMessage['t'];

/** Kind numbers on the wire: index + 1. Append only. */
const KINDS = ['offer', 'pick', 'error', 'use', 'ack', 'reject', 'prereg', 'prereg-ack', 'busy', 'close', 'closed'] as const satisfies readonly WireType[];
const KIND_OF = new Map<WireType, number>(KINDS.map((t, i) => [t, i + 1]));
const USE = KIND_OF.get('use')!;

// Plain MessagePack (no records extension), so any MessagePack decoder reads a body.
const packr = new Packr({ useRecords: false, structuredClone: false });

/** The body fields of a kind: the message without `t`, `nonce` and the stamp. */
type Fields = Record<string, unknown>;

/** Messages whose body repeats from connection to connection: encoded once per object, decoded once per distinct bytes. */
type Repeating = Extract<WireMessage, { t: 'offer' | 'pick' | 'use' }>;

/** Decoded bodies kept per codec: a server sees the same few over and over. */
const RECENT_MAX = 8;

/**
 * Encodes and decodes negotiation messages. Each listener, and each stack
 * that connects, has its own: what it remembers (encoded bodies by object,
 * the last few decoded bodies) is that endpoint's, bounded, and shared by no
 * one else. Decoded bodies are shared by the messages that carry them:
 * read-only.
 */
export class WireCodec {
  /** Encoded bodies by the object they come from (a stack's offers, a pick). */
  readonly #bodies = new WeakMap<object, { readonly fingerprint: string | undefined; readonly body: Uint8Array }>();
  /** The last bodies decoded, most recent first. */
  readonly #recent: { readonly kind: number; readonly bytes: Buffer; readonly fields: Fields }[] = [];

  /** `msg` as bytes; with `data`, one datagram carrying both (0-RTT: "use this pick" with the first data). */
  encode(msg: WireMessage, data?: Uint8Array): Buffer {
    const kind = KIND_OF.get(msg.t)!;
    const body = this.#body(msg);
    const stamp = kind === USE ? STAMP_BYTES : 0;
    const at = HEADER_BYTES + stamp;
    const out = Buffer.allocUnsafe(at + body.byteLength + (data?.byteLength ?? 0));
    out[0] = MAGIC;
    out[1] = WIRE_VERSION;
    out[2] = kind;
    out[3] = data ? FLAG_DATA : 0;
    out.writeUInt32BE(msg.nonce, 4);
    out.writeUInt32BE(body.byteLength, 8);
    if (msg.t === 'use') {
      out.writeUInt32BE(msg.token, 12);
      out.writeUInt32BE(Math.floor(msg.at / 0x1_0000_0000), 16);
      out.writeUInt32BE(msg.at >>> 0, 20);
    }
    out.set(body, at);
    if (data) out.set(data, at + body.byteLength);
    return out;
  }

  #body(msg: WireMessage): Uint8Array {
    switch (msg.t) {
      case 'offer':
      case 'pick':
      case 'use':
        return this.#repeating(msg);
      case 'ack':
      case 'close':
      case 'closed':
        return EMPTY;
      default: {
        const { t: _t, nonce: _nonce, ...fields } = msg;
        return packr.pack(fields);
      }
    }
  }

  #repeating(msg: Repeating): Uint8Array {
    const from = msg.t === 'offer' ? msg.offers : msg.pick;
    const fingerprint = msg.t === 'offer' ? msg.fingerprint : undefined;
    const known = this.#bodies.get(from);
    if (known && known.fingerprint === fingerprint) return known.body;
    const body = packr.pack(msg.t === 'offer' ? { fingerprint: msg.fingerprint, offers: msg.offers } : { pick: msg.pick });
    // A copy: packr's result may be a view of its shared buffer, and this one is kept.
    const kept = Uint8Array.from(body);
    this.#bodies.set(from, { fingerprint, body: kept });
    return kept;
  }

  /** The negotiation message `bytes` starts with; throws `DecodeError` for anything else. */
  decode(bytes: Uint8Array): WireMessage {
    const len = bytes.byteLength;
    if (len < HEADER_BYTES) throw malformed(`${len} bytes, shorter than the ${HEADER_BYTES}-byte header`);
    const b = asBuffer(bytes);
    if (b[0] !== MAGIC) throw malformed(`magic byte 0x${b[0]!.toString(16)}, expected 0x${MAGIC.toString(16)}`);
    if (b[1] !== WIRE_VERSION) throw malformed(`wire version ${b[1]}, this end speaks ${WIRE_VERSION}: upgrade the older end`);
    const kind = b[2]!;
    const t = KINDS[kind - 1];
    if (t === undefined) throw malformed(`unknown kind ${kind}`);
    const flags = b[3]!;
    if ((flags & ~FLAG_DATA) !== 0) throw malformed(`unknown flags 0x${flags.toString(16)}`);
    const nonce = b.readUInt32BE(4);
    const n = b.readUInt32BE(8);
    const at = HEADER_BYTES + (kind === USE ? STAMP_BYTES : 0);
    const end = at + n;
    if (end > len) throw malformed(`body of ${n} bytes overruns the ${len}-byte message`);
    if (end !== len && (flags & FLAG_DATA) === 0) throw malformed(`${len - end} bytes after the body and no data flag`);
    switch (t) {
      case 'ack':
      case 'close':
      case 'closed':
        if (n !== 0) throw malformed(`a ${t} has no body, got ${n} bytes`);
        return { t, nonce };
      case 'use': {
        const hi = b.readUInt32BE(16);
        if (hi > 0x1f_ffff) throw malformed('sent-at time beyond 2^53 ms');
        const fields = this.#fields(kind, t, b, at, end);
        return { t, nonce, token: b.readUInt32BE(12), at: hi * 0x1_0000_0000 + b.readUInt32BE(20), pick: fields['pick'] as AgreedPick };
      }
      default:
        return { t, nonce, ...this.#fields(kind, t, b, at, end) } as WireMessage;
    }
  }

  /** The validated fields of the body `b[start, end)` of kind `t`; from the recent bodies when it repeats one. */
  #fields(kind: number, t: WireType, b: Buffer, start: number, end: number): Fields {
    const recent = this.#recent;
    const size = end - start;
    for (let i = 0; i < recent.length; i++) {
      const r = recent[i]!;
      if (r.kind === kind && r.bytes.length === size && r.bytes.compare(b, start, end) === 0) {
        if (i > 0) {
          recent.splice(i, 1);
          recent.unshift(r);
        }
        return r.fields;
      }
    }
    let fields: unknown;
    try {
      fields = packr.unpack(b.subarray(start, end));
    } catch (err) {
      throw malformed(`the ${t} body is not MessagePack (${err instanceof Error ? err.message : String(err)})`);
    }
    if (!isObj(fields) || !VALID[t](fields)) throw malformed(`the ${t} body lacks or mistypes its fields`);
    if (t === 'offer' || t === 'pick' || t === 'use') {
      recent.unshift({ kind, bytes: Buffer.from(b.subarray(start, end)), fields });
      if (recent.length > RECENT_MAX) recent.pop();
    }
    return fields;
  }
}

const EMPTY = new Uint8Array(0);

/** Whether `bytes` claims to be a negotiation message (its first byte). */
export function isNegotiation(bytes: Uint8Array): boolean {
  return bytes[0] === MAGIC;
}

/** Where the data of a message that `decode` accepted starts; -1 when none follows. */
export function dataStart(bytes: Uint8Array): number {
  if ((bytes[3]! & FLAG_DATA) === 0) return -1;
  const b = asBuffer(bytes);
  return HEADER_BYTES + (b[2] === USE ? STAMP_BYTES : 0) + b.readUInt32BE(8);
}

function malformed(why: string): DecodeError {
  return new DecodeError(`malformed negotiation message: ${why}`);
}

/** Datagrams from our transports are Buffers already: no view is made for them. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A fresh nonce: matches answers to the request they answer. */
export function nonce(): number {
  return (Math.random() * 0x1_0000_0000) >>> 0;
}

// ---- validation of untrusted input -------------------------------------------

const MAX_STRING = 4096;
const MAX_ITEMS = 256;

/** Per kind: whether a decoded body has the kind's fields. */
const VALID: Record<WireType, (m: Fields) => boolean> = {
  offer: (m) => isStr(m['fingerprint']) && arrayOf(m['offers'], isVariantOffer, MAX_VARIANTS) && m['offers'].length > 0,
  pick: (m) => isPick(m['pick']),
  use: (m) => isPick(m['pick']),
  error: (m) => arrayOf(m['incompatibilities'], isIncompatibility),
  reject: (m) =>
    isStr(m['reason']) && typeof m['oneRtt'] === 'boolean' && isStr(m['fingerprint']) && arrayOf(m['offers'], isVariantOffer, MAX_VARIANTS) && m['offers'].length > 0,
  prereg: (m) => isStr(m['peer']) && isPick(m['pick']),
  'prereg-ack': (m) => typeof m['ok'] === 'boolean' && isStr(m['reason']),
  busy: (m) => isStr(m['reason']),
  ack: () => true,
  close: () => true,
  closed: () => true,
};

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array);
}
function isStr(x: unknown): x is string {
  return typeof x === 'string' && x.length <= MAX_STRING;
}
function isNat(x: unknown): x is number {
  return Number.isSafeInteger(x) && (x as number) >= 0;
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
