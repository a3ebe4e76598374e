// CreateTopics (key 19), v0–v3.
import type { Reader, Writer } from '../wire.js';

export interface CreateTopicsRequest {
  readonly topics: ReadonlyArray<{
    readonly name: string;
    /** -1: the broker's default. */
    readonly numPartitions: number;
    readonly replicationFactor: number;
    readonly assignments: ReadonlyArray<{ readonly partition: number; readonly brokerIds: number[] }>;
  }>;
  readonly timeoutMs: number;
  readonly validateOnly: boolean;
}

export interface CreateTopicsResponse {
  readonly topics: ReadonlyArray<{ readonly name: string; readonly errorCode: number; readonly errorMessage: string | null }>;
}

export function decodeCreateTopicsRequest(r: Reader, version: number): CreateTopicsRequest {
  const topics = r.array((r) => {
    const name = r.string();
    const numPartitions = r.int32();
    const replicationFactor = r.int16();
    const assignments = r.array((r) => ({ partition: r.int32(), brokerIds: r.array((r) => r.int32()) }));
    r.array((r) => [r.string(), r.nullableString()]); // configs: accepted, not applied
    return { name, numPartitions, replicationFactor, assignments };
  });
  const timeoutMs = r.int32();
  const validateOnly = version >= 1 ? r.boolean() : false;
  return { topics, timeoutMs, validateOnly };
}

export function encodeCreateTopicsResponse(w: Writer, version: number, c: CreateTopicsResponse): void {
  if (version >= 2) w.int32(0);
  w.array(c.topics, (w, t) => {
    w.string(t.name).int16(t.errorCode);
    if (version >= 1) w.string(t.errorMessage);
  });
}
