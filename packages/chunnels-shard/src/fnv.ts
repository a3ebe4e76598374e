/**
 * The shard function: FNV-1a 64-bit over the first 4 bytes of the key,
 * modulo the number of shards. The 64-bit state is kept as two 32-bit
 * halves (no BigInt on the per-message path): multiplying by the prime
 * 2^40 + 0x1b3 is `h * 0x1b3 + (h << 40)`.
 */

export const FNV64_OFFSET_BASIS = 0xcbf29ce484222325n;
export const FNV64_PRIME = 0x100000001b3n;
/** How many leading key bytes choose the shard. */
export const SHARD_KEY_BYTES = 4;

const BASIS_HI = 0xcbf29ce4;
const BASIS_LO = 0x84222325;
const TWO_32 = 0x1_0000_0000;

/** FNV-1a 64 state, reused: no allocation per hash. */
let hi = BASIS_HI;
let lo = BASIS_LO;

function reset(): void {
  hi = BASIS_HI;
  lo = BASIS_LO;
}

function step(byte: number): void {
  lo = (lo ^ byte) >>> 0;
  const t = lo * 0x1b3; // < 2^41: exact in a double
  const carry = Math.floor(t / TWO_32);
  hi = (Math.imul(hi, 0x1b3) + carry + (lo << 8)) >>> 0;
  lo = t >>> 0;
}

/** `(hi·2^32 + lo) mod n` without BigInt. */
function stateMod(n: number): number {
  return ((hi % n) * (TWO_32 % n) + (lo % n)) % n;
}

/** FNV-1a 64 of `bytes[start, end)` (all of `bytes` by default). */
export function fnv1a64(bytes: Uint8Array, start = 0, end = bytes.length): bigint {
  reset();
  for (let i = start; i < end; i++) step(bytes[i] as number);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

function checkShards(shards: number): void {
  if (!Number.isInteger(shards) || shards < 1 || shards > 0x10000) throw new RangeError(`shards must be an integer in [1, 65536], got ${shards}`);
}

/**
 * The shard of a key whose bytes are `bytes[start, end)`: FNV-1a 64 over its
 * first 4 bytes (fewer when the key is shorter, none for an empty key)
 * modulo `shards`.
 */
export function shardOfBytes(bytes: Uint8Array, shards: number, start = 0, end = bytes.length): number {
  checkShards(shards);
  reset();
  const stop = Math.min(end, start + SHARD_KEY_BYTES);
  for (let i = start; i < stop; i++) step(bytes[i] as number);
  return stateMod(shards);
}

/** The shard of a string key: the same function over its first 4 UTF-8 bytes. */
export function shardOfString(key: string, shards: number): number {
  checkShards(shards);
  reset();
  let taken = 0;
  for (let i = 0; i < key.length && taken < SHARD_KEY_BYTES; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x80) {
      step(c);
      taken++;
      continue;
    }
    // Non-ASCII: encode this code point to UTF-8 and take what still fits.
    const cp = key.codePointAt(i) as number;
    if (cp > 0xffff) i++;
    for (const b of utf8(cp)) {
      if (taken === SHARD_KEY_BYTES) break;
      step(b);
      taken++;
    }
  }
  return stateMod(shards);
}

function utf8(cp: number): number[] {
  if (cp >= 0xd800 && cp < 0xe000) cp = 0xfffd; // a lone surrogate encodes as U+FFFD, as TextEncoder does
  if (cp < 0x800) return [0xc0 | (cp >> 6), 0x80 | (cp & 0x3f)];
  if (cp < 0x10000) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
  return [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
}

/** The shard of a key, string or bytes. */
export function shardOf(key: string | Uint8Array, shards: number): number {
  return typeof key === 'string' ? shardOfString(key, shards) : shardOfBytes(key, shards);
}
