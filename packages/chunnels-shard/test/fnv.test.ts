import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@bertha/core';
import { FNV64_OFFSET_BASIS, fnv1a64, shardOf, shardOfBytes, shardOfString } from '@bertha/chunnels-shard';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('fnv1a64', () => {
  // Published FNV-1a 64-bit test vectors (Fowler/Noll/Vo reference test suite).
  it.each([
    ['', 0xcbf29ce484222325n],
    ['a', 0xaf63dc4c8601ec8cn],
    ['b', 0xaf63df4c8601f1a5n],
    ['foobar', 0x85944171f73967e8n],
    ['chongo was here!\n', 0x46810940eff5f915n],
  ])('hashes %j to the published value', (input, expected) => {
    expect(fnv1a64(bytes(input))).toBe(expected);
  });

  it('starts from the offset basis and matches a BigInt reference on random input', () => {
    expect(fnv1a64(new Uint8Array(0))).toBe(FNV64_OFFSET_BASIS);
    const rand = mulberry32(7);
    const reference = (b: Uint8Array): bigint => {
      let h = FNV64_OFFSET_BASIS;
      for (const x of b) h = ((h ^ BigInt(x)) * 0x100000001b3n) & 0xffffffffffffffffn;
      return h;
    };
    for (let n = 0; n < 500; n++) {
      const b = Uint8Array.from({ length: Math.floor(rand() * 40) }, () => Math.floor(rand() * 256));
      expect(fnv1a64(b)).toBe(reference(b));
    }
  });
});

describe('shardOf', () => {
  it('is FNV-1a 64 of the first 4 key bytes modulo the shard count', () => {
    for (const key of ['user1234', 'abcd', 'abcdefgh', 'zzzz-more']) {
      for (const n of [1, 2, 6, 7, 1000]) expect(shardOf(key, n)).toBe(Number(fnv1a64(bytes(key).subarray(0, 4)) % BigInt(n)));
    }
    expect(shardOf('abcdXYZ', 6)).toBe(shardOf('abcdQ', 6));
  });

  it('takes keys shorter than 4 bytes, and the empty key, without failing', () => {
    for (const key of ['', 'a', 'ab', 'abc']) expect(shardOf(key, 6)).toBe(Number(fnv1a64(bytes(key)) % 6n));
  });

  it('hashes a string key by its UTF-8 bytes, as the bytes of the same key', () => {
    const rand = mulberry32(11);
    const alphabet = ['a', 'Z', '0', 'é', 'ß', '中', '文', '😀', '\u{10ffff}', '\ud800'];
    for (let n = 0; n < 2000; n++) {
      const key = Array.from({ length: Math.floor(rand() * 6) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
      expect(shardOfString(key, 7)).toBe(shardOfBytes(bytes(key), 7));
    }
  });

  it('refuses a shard count outside [1, 65536]', () => {
    expect(() => shardOf('abcd', 0)).toThrow(RangeError);
    expect(() => shardOf('abcd', 1.5)).toThrow(RangeError);
  });
});
