// Metadata (key 3), v0–v6.
import type { Reader, Writer } from '../wire.js';

export interface MetadataRequest {
  /** null: all topics. */
  readonly topics: string[] | null;
  readonly allowAutoTopicCreation: boolean;
}

export interface MetadataResponse {
  readonly broker: { readonly nodeId: number; readonly host: string; readonly port: number };
  readonly clusterId: string;
  readonly topics: ReadonlyArray<{ readonly errorCode: number; readonly name: string; readonly partitions: number }>;
}

export function decodeMetadataRequest(r: Reader, version: number): MetadataRequest {
  const topics = version === 0 ? r.array((r) => r.string()) : r.nullableArray((r) => r.string());
  const allowAutoTopicCreation = version >= 4 ? r.boolean() : true;
  // v0 says "all topics" with an empty list; v1+ with null.
  return { topics: version === 0 && topics?.length === 0 ? null : topics, allowAutoTopicCreation };
}

export function encodeMetadataResponse(w: Writer, version: number, m: MetadataResponse): void {
  if (version >= 3) w.int32(0);
  w.array([m.broker], (w, b) => {
    w.int32(b.nodeId).string(b.host).int32(b.port);
    if (version >= 1) w.string(null);
  });
  if (version >= 2) w.string(m.clusterId);
  if (version >= 1) w.int32(m.broker.nodeId);
  w.array(m.topics, (w, t) => {
    w.int16(t.errorCode).string(t.name);
    if (version >= 1) w.boolean(false);
    w.array(Array.from({ length: t.partitions }, (_, i) => i), (w, p) => {
      w.int16(0).int32(p).int32(m.broker.nodeId);
      w.array([m.broker.nodeId], (w, id) => w.int32(id));
      w.array([m.broker.nodeId], (w, id) => w.int32(id));
      if (version >= 5) w.array([], () => undefined);
    });
  });
}
