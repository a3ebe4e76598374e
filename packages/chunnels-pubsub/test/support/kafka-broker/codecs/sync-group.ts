// SyncGroup (key 14), v0–v3.
import type { Reader, Writer } from '../wire.js';

export interface SyncGroupRequest {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  /** Filled by the leader only: each member's assignment. */
  readonly assignments: ReadonlyArray<{ readonly memberId: string; readonly assignment: Buffer }>;
}

export interface SyncGroupResponse {
  readonly errorCode: number;
  readonly assignment: Buffer;
}

export function decodeSyncGroupRequest(r: Reader, version: number): SyncGroupRequest {
  const groupId = r.string();
  const generationId = r.int32();
  const memberId = r.string();
  if (version >= 3) r.nullableString(); // group instance id
  const assignments = r.array((r) => ({ memberId: r.string(), assignment: Buffer.from(r.bytes()) }));
  return { groupId, generationId, memberId, assignments };
}

export function encodeSyncGroupResponse(w: Writer, version: number, s: SyncGroupResponse): void {
  if (version >= 1) w.int32(0);
  w.int16(s.errorCode).bytes(s.assignment);
}
