import { describe, expect, it } from 'vitest';
import { unpack } from 'msgpackr';
import { decodeMessage, encodeMessage, type WireMessage } from '../src/wire.js';
import type { AgreedPick } from '../src/pick.js';

const offer = { chunnels: [{ name: 'tls', capabilities: [{ kind: 'two-sided' as const, type: 'encryption', labels: ['tls'] }] }], choices: [] };
const pick: AgreedPick = {
  server: { fingerprint: 'f'.repeat(32), variant: 1 },
  client: { fingerprint: 'c'.repeat(32), variant: 0, offer },
  decisions: [{ side: 'server', select: 0, taken: 'tls', rejected: 'plain', preferred: false, reason: 'the peer has no plain' }],
};

describe('wire encoding of repeating messages (offer, pick, use)', () => {
  const messages: WireMessage[] = [
    { t: 'use', nonce: 0xffff_fffe, pick },
    { t: 'pick', nonce: 7, pick },
    { t: 'offer', nonce: 0, fingerprint: 'c'.repeat(32), offers: [offer] },
  ];

  it('is plain MessagePack, and decodes to the message sent, nonce included', () => {
    for (const msg of messages) {
      for (const nonce of [msg.nonce, 12345]) {
        const bytes = encodeMessage({ ...msg, nonce });
        expect(unpack(bytes.subarray(1))).toEqual({ v: 1, ...msg, nonce });
        expect(decodeMessage(bytes)).toEqual({ ...msg, nonce });
      }
    }
  });

  it('decodes a repeated pick once: later copies share the first decoded pick', () => {
    const first = decodeMessage(encodeMessage({ t: 'use', nonce: 1, pick })) as Extract<WireMessage, { t: 'use' }>;
    const again = decodeMessage(encodeMessage({ t: 'use', nonce: 2, pick })) as Extract<WireMessage, { t: 'use' }>;
    expect(again.nonce).toBe(2);
    expect(again.pick).toBe(first.pick);
  });

  it('never serves a different pick, or an invalid one, from what it decoded before', () => {
    const bytes = Buffer.from(encodeMessage({ t: 'use', nonce: 1, pick }));
    decodeMessage(bytes);
    // Same layout, other server variant: a different message.
    const other = Buffer.from(encodeMessage({ t: 'use', nonce: 1, pick: { ...pick, server: { ...pick.server, variant: 0 } } }));
    expect((decodeMessage(other) as Extract<WireMessage, { t: 'use' }>).pick.server.variant).toBe(0);
    // A corrupted copy: the variant's positive fixint becomes a string header.
    const at = bytes.indexOf(Buffer.from('variant')) + 'variant'.length;
    bytes[at] = 0xa1;
    expect(decodeMessage(bytes)).toBeUndefined();
  });
});
