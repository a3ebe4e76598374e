import { describe, expect, it } from 'vitest';
import { decodeAck, decodeData, encodeAck, encodeData } from '../../src/transport/wire.js';
import { RangeSet } from '../../src/transport/range-set.js';

describe('transport wire format', () => {
  it('round-trips DATA and ACK packets, 48-bit sequence numbers included', () => {
    const payload = new Uint8Array([9, 8, 7]);
    const d = decodeData(encodeData(2 ** 40 + 5, 3, 0xdeadbeef, payload))!;
    expect(d).toMatchObject({ seq: 2 ** 40 + 5, flags: 3, tsval: 0xdeadbeef });
    expect([...d.payload]).toEqual([9, 8, 7]);
    const ack = { cumAck: 2 ** 33, tsecr: 42, cePackets: 3, ceBytes: 4000, blocks: [2 ** 33 + 2, 2 ** 33 + 4, 2 ** 33 + 9, 2 ** 33 + 10] };
    expect(decodeAck(encodeAck(ack))).toEqual(ack);
  });

  it('rejects truncated, padded and inconsistent packets', () => {
    const data = encodeData(1, 1, 0, new Uint8Array(10));
    expect(decodeData(data.subarray(0, data.length - 1))).toBeUndefined();
    expect(decodeData(new Uint8Array([...data, 0]))).toBeUndefined();
    expect(decodeData(Uint8Array.from(data, (b, i) => (i === 1 ? 0x80 : b)))).toBeUndefined();
    // A SACK block at or below the cumulative ACK, or empty.
    expect(decodeAck(encodeAck({ cumAck: 10, tsecr: 0, cePackets: 0, ceBytes: 0, blocks: [10, 12] }))).toBeUndefined();
    expect(decodeAck(encodeAck({ cumAck: 10, tsecr: 0, cePackets: 0, ceBytes: 0, blocks: [12, 12] }))).toBeUndefined();
  });
});

describe('packet buffers from shared slabs', () => {
  it('never hand out the same bytes twice, across slabs and for packets larger than a slab share', () => {
    const sizes = [1448, 0, 8192, 65_000, 1448];
    const packets: { seq: number; fill: number; bytes: Uint8Array }[] = [];
    for (let seq = 0; seq < 1000; seq++) {
      const fill = seq % 251;
      packets.push({ seq, fill, bytes: encodeData(seq, 3, seq, new Uint8Array(sizes[seq % sizes.length]!).fill(fill)) });
    }
    for (const { seq, fill, bytes } of packets) {
      const d = decodeData(bytes)!;
      expect(d.seq).toBe(seq);
      expect(d.payload.every((b) => b === fill)).toBe(true);
    }
  });
});

describe('RangeSet', () => {
  it('merges ranges and reports only what is new', () => {
    const r = new RangeSet();
    const fresh: number[][] = [];
    r.add(5, 8);
    r.add(10, 12);
    r.add(4, 11, (s, e) => fresh.push([s, e]));
    expect(fresh).toEqual([
      [4, 5],
      [8, 10],
    ]);
    expect([r.rangeCount, r.start(0), r.end(0)]).toEqual([1, 4, 12]);
    r.add(20, 21);
    r.dropBelow(11);
    expect([r.start(0), r.end(0), r.start(1)]).toEqual([11, 12, 20]);
    expect(r.has(20) && !r.has(19)).toBe(true);
  });
});
