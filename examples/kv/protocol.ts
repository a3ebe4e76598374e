/**
 * The store's messages. Requests carry the key first (the `keyFirst`
 * serializer guarantees it on the wire); replies carry the request's id.
 * One type for both directions, since a connection carries one type.
 */
import { Packr } from 'msgpackr';
import type { ShardError } from '@bertha/chunnels-shard';

export interface KvRequest {
  readonly key: string;
  readonly op: 'get' | 'put';
  readonly id: number;
  readonly value?: string;
}

export interface KvReply {
  readonly id: number;
  readonly ok: boolean;
  readonly value?: string;
  /** A sharder's or shard's error code (`ERR_SHARD_KEY`, `ERR_SHARD_UNAVAILABLE`, `ERR_BAD_REQUEST`). */
  readonly error?: string;
}

export type KvMessage = KvRequest | KvReply;

/** The field the store shards by. */
export const KEY_FIELD = 'key';

const packr = new Packr({ useRecords: false, structuredClone: false });

export function isRequest(m: unknown): m is KvRequest {
  if (typeof m !== 'object' || m === null) return false;
  const r = m as Partial<KvRequest>;
  return typeof r.key === 'string' && typeof r.id === 'number' && (r.op === 'get' || (r.op === 'put' && typeof r.value === 'string'));
}

export function isReply(m: unknown): m is KvReply {
  return typeof m === 'object' && m !== null && typeof (m as Partial<KvReply>).id === 'number' && typeof (m as Partial<KvReply>).ok === 'boolean';
}

export const encodeReply = (r: KvReply): Uint8Array => packr.pack(r);
/** A request written by hand, key first (what `keyFirst` guarantees), for clients without the Chunnel. */
export const encodeRequest = (r: KvRequest): Uint8Array =>
  packr.pack(r.value === undefined ? { key: r.key, op: r.op, id: r.id } : { key: r.key, op: r.op, id: r.id, value: r.value });
export const decode = (bytes: Uint8Array): unknown => packr.unpack(bytes);

/** What the sharder answers for a request it cannot deliver: an error reply the client matches by id. */
export function unroutableReply(request: Uint8Array, err: ShardError): Uint8Array | undefined {
  let id: unknown;
  try {
    id = (packr.unpack(request) as { id?: unknown }).id;
  } catch {
    return undefined;
  }
  return typeof id === 'number' ? encodeReply({ id, ok: false, error: err.code }) : undefined;
}
