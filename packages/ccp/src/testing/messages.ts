/** For transport tests: deterministic message sets and a check that they arrived intact. */
import { mulberry32 } from '@bertha/core';

/** `n` messages of sizes from 0 to `maxSize`, each filled from its index so a mix-up shows. */
export function makeMessages(n: number, maxSize: number, seed = 7): Uint8Array[] {
  const rand = mulberry32(seed);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const m = new Uint8Array(Math.floor(rand() * (maxSize + 1)));
    for (let j = 0; j < m.length; j++) m[j] = (i * 31 + j * 7) & 0xff;
    if (m.length >= 4) new DataView(m.buffer).setUint32(0, i);
    out.push(m);
  }
  return out;
}

/** Index of the first message that differs, or -1 when both lists are equal. */
export function firstMismatch(sent: readonly Uint8Array[], got: readonly Uint8Array[]): number {
  const n = Math.max(sent.length, got.length);
  for (let i = 0; i < n; i++) {
    const a = sent[i];
    const b = got[i];
    if (a === undefined || b === undefined || a.length !== b.length || !Buffer.from(a).equals(Buffer.from(b))) return i;
  }
  return -1;
}
