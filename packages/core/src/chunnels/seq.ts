/**
 * Serial-number arithmetic on 32-bit sequence numbers (RFC 1982): the signed
 * distance from `b` to `a`, correct across wrap-around as long as the two are
 * less than 2^31 apart.
 */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** The sequence number after `seq`, wrapping at 2^32. */
export function seqNext(seq: number): number {
  return (seq + 1) >>> 0;
}

/** A DataView over exactly the bytes of `bytes`. */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
