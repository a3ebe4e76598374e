// ApiVersions (key 18), v0–v3. Its request body is ignored (v3's names the client
// software), and its response header is v0 at every version, so a client can read
// the answer before it knows what the broker speaks. A client asking for a version
// above 3 gets UNSUPPORTED_VERSION in the v0 shape with the supported list, and retries
// with a version from it (KIP-511).
import type { Writer } from '../wire.js';

export interface ApiVersionsResponse {
  readonly errorCode: number;
  readonly apiKeys: ReadonlyArray<{ readonly apiKey: number; readonly min: number; readonly max: number }>;
}

export function encodeApiVersionsResponse(w: Writer, version: number, r: ApiVersionsResponse): void {
  w.int16(r.errorCode);
  if (version >= 3) {
    // Flexible: compact array (length + 1), an empty tagged-field section after each entry and at the end.
    w.uvarint(r.apiKeys.length + 1);
    for (const k of r.apiKeys) w.int16(k.apiKey).int16(k.min).int16(k.max).uvarint(0);
    w.int32(0).uvarint(0);
    return;
  }
  w.array(r.apiKeys, (w, k) => w.int16(k.apiKey).int16(k.min).int16(k.max));
  if (version >= 1) w.int32(0);
}
