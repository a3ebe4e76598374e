import { describe, expect, it } from 'vitest';
import { unpack } from 'msgpackr';
import { DecodeError } from '@bertha/core';
import { HEADER_BYTES, MAGIC, STAMP_BYTES, WIRE_VERSION, WireCodec, dataStart, type WireMessage } from '../src/wire.js';
import type { AgreedPick } from '../src/pick.js';

const offer = { chunnels: [{ name: 'tls', capabilities: [{ kind: 'two-sided' as const, type: 'encryption', labels: ['tls'] }] }], choices: [] };
const pick: AgreedPick = {
  server: { fingerprint: 'f'.repeat(32), variant: 1 },
  client: { fingerprint: 'c'.repeat(32), variant: 0, offer },
  decisions: [{ side: 'server', select: 0, taken: 'tls', rejected: 'plain', preferred: false, reason: 'the peer has no plain' }],
};
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex').replace(/(..)(?!$)/g, '$1 ');

/** One message of every kind. */
const samples: WireMessage[] = [
  { t: 'offer', nonce: 0, fingerprint: 'c'.repeat(32), offers: [offer] },
  { t: 'pick', nonce: 7, pick },
  { t: 'error', nonce: 8, incompatibilities: [{ type: 'encryption', kind: 'two-sided', reason: 'no match', local: { labels: ['tls'], chunnels: ['tls'] }, remote: { labels: [], chunnels: [] } }] },
  { t: 'use', nonce: 0xffff_fffe, token: 0x0102_0304, at: 1_764_000_000_123, pick },
  { t: 'ack', nonce: 9 },
  { t: 'reject', nonce: 10, reason: 'moved', oneRtt: true, fingerprint: 'f'.repeat(32), offers: [offer] },
  { t: 'prereg', nonce: 11, peer: 'udp:127.0.0.1:9', pick },
  { t: 'prereg-ack', nonce: 12, ok: false, reason: 'no' },
  { t: 'busy', nonce: 13, reason: 'full' },
  { t: 'close', nonce: 14 },
  { t: 'closed', nonce: 15 },
];

describe('the negotiation wire format', () => {
  it('puts a fixed header of ours in front: magic, version, kind, flags, nonce, body length', () => {
    const codec = new WireCodec();
    expect(hex(codec.encode({ t: 'ack', nonce: 7 }))).toBe('b7 02 05 00 00 00 00 07 00 00 00 00');
    const use = codec.encode({ t: 'use', nonce: 1, token: 0xaabbccdd, at: 0x1_0000_0002, pick }, Uint8Array.of(0xee));
    expect(hex(use.subarray(0, HEADER_BYTES + STAMP_BYTES))).toBe(`b7 02 04 01 00 00 00 01 ${hex(Buffer.from([0, 0, (use.length - 25) >> 8, (use.length - 25) & 0xff]))} aa bb cc dd 00 00 00 01 00 00 00 02`);
    expect(dataStart(use)).toBe(use.length - 1);
    expect(use[use.length - 1]).toBe(0xee);
  });

  it('round-trips every kind, and every body is plain MessagePack', () => {
    const codec = new WireCodec();
    for (const msg of samples) {
      const bytes = codec.encode(msg);
      expect(bytes[0]).toBe(MAGIC);
      expect(bytes[1]).toBe(WIRE_VERSION);
      expect(codec.decode(bytes)).toEqual(msg);
      expect(dataStart(bytes)).toBe(-1);
      const at = HEADER_BYTES + (msg.t === 'use' ? STAMP_BYTES : 0);
      if (bytes.length > at) {
        const { t: _t, nonce: _n, ...fields } = msg as Record<string, unknown>;
        delete fields['token'];
        delete fields['at'];
        expect(unpack(bytes.subarray(at))).toEqual(fields);
      }
    }
  });

  it('decodes a repeated body once: later messages with other nonces share the first decoded pick', () => {
    const codec = new WireCodec();
    const first = codec.decode(new WireCodec().encode({ t: 'use', nonce: 1, token: 1, at: 5, pick })) as Extract<WireMessage, { t: 'use' }>;
    const again = codec.decode(new WireCodec().encode({ t: 'use', nonce: 2, token: 9, at: 6, pick })) as Extract<WireMessage, { t: 'use' }>;
    expect(again).toMatchObject({ nonce: 2, token: 9, at: 6 });
    expect(again.pick).toBe(first.pick);
  });

  it('never serves a different pick, or an invalid one, from what it decoded before', () => {
    const codec = new WireCodec();
    const bytes = Buffer.from(new WireCodec().encode({ t: 'use', nonce: 1, token: 1, at: 1, pick }));
    codec.decode(bytes);
    const other = new WireCodec().encode({ t: 'use', nonce: 1, token: 1, at: 1, pick: { ...pick, server: { ...pick.server, variant: 0 } } });
    expect((codec.decode(other) as Extract<WireMessage, { t: 'use' }>).pick.server.variant).toBe(0);
    // A corrupted copy: the variant's positive fixint becomes a string header.
    const at = bytes.indexOf(Buffer.from('variant')) + 'variant'.length;
    bytes[at] = 0xa1;
    expect(() => codec.decode(bytes)).toThrow(DecodeError);
  });

  it('fuzz: random and mutated inputs decode or throw DecodeError, nothing else, and never hang', () => {
    const codec = new WireCodec();
    // A seeded xorshift32: the same inputs every run.
    let state = 12345;
    const rand = (): number => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) / 0x1_0000_0000;
    };
    const byte = (): number => Math.floor(rand() * 256);
    const valid = samples.map((m) => codec.encode(m));
    let decoded = 0;
    let refused = 0;
    for (let i = 0; i < 30_000; i++) {
      let input: Uint8Array;
      const base = valid[i % valid.length]!;
      switch (i % 5) {
        case 0: // random bytes
          input = Uint8Array.from({ length: Math.floor(rand() * 80) }, byte);
          break;
        case 1: // a valid header, a random body
          input = Buffer.concat([base.subarray(0, HEADER_BYTES), Uint8Array.from({ length: Math.floor(rand() * 60) }, byte)]);
          break;
        case 2: {
          // a few bytes of a valid message flipped
          input = Uint8Array.from(base);
          for (let k = 1 + Math.floor(rand() * 3); k > 0; k--) input[Math.floor(rand() * input.length)] = byte();
          break;
        }
        case 3: // truncated or extended
          input = rand() < 0.5 ? base.subarray(0, Math.floor(rand() * base.length)) : Buffer.concat([base, Uint8Array.from({ length: 1 + Math.floor(rand() * 8) }, byte)]);
          break;
        default: {
          // a valid message whose body length claims more or less
          input = Uint8Array.from(base);
          Buffer.from(input.buffer).writeUInt32BE(Math.floor(rand() * 0xffff_ffff), 8);
        }
      }
      try {
        codec.decode(input);
        decoded++;
      } catch (err) {
        expect(err).toBeInstanceOf(DecodeError);
        refused++;
      }
    }
    expect(decoded + refused).toBe(30_000);
    expect(refused).toBeGreaterThan(20_000);
    // A decoder that looped, or allocated by a claimed length, would run into the test's timeout.
  }, 60_000);
});
