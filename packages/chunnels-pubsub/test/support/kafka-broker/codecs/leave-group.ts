// LeaveGroup (key 13), v0–v3. Up to v2 one member leaves; from v3 a list of them.
import type { Reader, Writer } from '../wire.js';

export interface LeaveGroupRequest {
  readonly groupId: string;
  readonly memberIds: string[];
}

export interface LeaveGroupResponse {
  readonly errorCode: number;
  readonly members: ReadonlyArray<{ readonly memberId: string; readonly errorCode: number }>;
}

export function decodeLeaveGroupRequest(r: Reader, version: number): LeaveGroupRequest {
  const groupId = r.string();
  if (version < 3) return { groupId, memberIds: [r.string()] };
  const memberIds = r.array((r) => {
    const id = r.string();
    r.nullableString(); // group instance id
    return id;
  });
  return { groupId, memberIds };
}

export function encodeLeaveGroupResponse(w: Writer, version: number, l: LeaveGroupResponse): void {
  if (version >= 1) w.int32(0);
  w.int16(l.errorCode);
  if (version >= 3) w.array(l.members, (w, m) => w.string(m.memberId).string(null).int16(m.errorCode));
}
