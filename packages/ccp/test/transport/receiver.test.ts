import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../src/transport/options.js';
import { TransportReceiver } from '../../src/transport/receiver.js';
import { decodeAck, encodeData, FLAG_FIRST, FLAG_LAST, type AckFrame } from '../../src/transport/wire.js';
import { ManualClock } from './manual-clock.js';

function receiver(clock: ManualClock): { r: TransportReceiver; acks: AckFrame[] } {
  const acks: AckFrame[] = [];
  const r = new TransportReceiver(clock, (p) => acks.push(decodeAck(p)!), resolveOptions({}), () => undefined);
  return { r, acks };
}

const packet = (seq: number): Uint8Array => encodeData(seq, FLAG_FIRST | FLAG_LAST, 1000 + seq, new Uint8Array(100));
// ManualClock defers to a microtask: the end of the current turn.
const turnEnd = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('TransportReceiver: ACKs', () => {
  it('acknowledges a burst of in-order packets once per 8, the rest at the end of the turn they arrived in', async () => {
    const clock = new ManualClock();
    const { r, acks } = receiver(clock);
    for (let seq = 0; seq < 7; seq++) r.onPacket(packet(seq));
    expect(acks).toHaveLength(0);
    for (let seq = 7; seq < 19; seq++) r.onPacket(packet(seq));
    expect(acks.map((a) => a.cumAck)).toEqual([8, 16]);
    await turnEnd();
    expect(acks.at(-1)).toEqual({ cumAck: 19, tsecr: 1018, cePackets: 0, ceBytes: 0, blocks: [] });
    // The next pair is a burst of its own.
    r.onPacket(packet(19));
    r.onPacket(packet(20));
    await turnEnd();
    expect(acks.map((a) => a.cumAck)).toEqual([8, 16, 19, 21]);
  });

  it('still acknowledges out-of-order packets at once, and a lone packet after the ACK delay', async () => {
    const clock = new ManualClock();
    const { r, acks } = receiver(clock);
    r.onPacket(packet(0));
    r.onPacket(packet(2));
    expect(acks.map((a) => [a.cumAck, ...a.blocks])).toEqual([[1, 2, 3]]);
    r.onPacket(packet(1));
    expect(acks.map((a) => a.cumAck)).toEqual([1, 3]);
    await turnEnd();
    expect(acks).toHaveLength(2);
    r.onPacket(packet(3));
    await turnEnd();
    expect(acks).toHaveLength(2);
    clock.advance(1000);
    expect(acks.map((a) => a.cumAck)).toEqual([1, 3, 4]);
  });
});
