// Heartbeat (key 12), v0–v3.
import type { Reader, Writer } from '../wire.js';

export interface HeartbeatRequest {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
}

export function decodeHeartbeatRequest(r: Reader, version: number): HeartbeatRequest {
  const req = { groupId: r.string(), generationId: r.int32(), memberId: r.string() };
  if (version >= 3) r.nullableString(); // group instance id
  return req;
}

export function encodeHeartbeatResponse(w: Writer, version: number, errorCode: number): void {
  if (version >= 1) w.int32(0);
  w.int16(errorCode);
}
