import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../src/transport/options.js';
import { TransportSender } from '../../src/transport/sender.js';
import { decodeData, encodeAck } from '../../src/transport/wire.js';
import { ManualClock } from './manual-clock.js';

const native = { kind: 'native', algorithm: 'reno' } as const;

function sender(clock: ManualClock, extra: Parameters<typeof resolveOptions>[0] = {}): { s: TransportSender; sent: Uint8Array[] } {
  const sent: Uint8Array[] = [];
  const s = new TransportSender(clock, (p) => sent.push(p), native, resolveOptions(extra));
  return { s, sent };
}

describe('TransportSender: RTT samples only from genuine timestamp echoes', () => {
  it('ignores forged ACKs that acknowledge new data with a random timestamp echo', () => {
    const clock = new ManualClock();
    const { s, sent } = sender(clock);
    s.write(new Uint8Array(10 * 1448));
    expect(sent).toHaveLength(10);
    clock.advance(5000);
    // A genuine ACK for the first packet: 5 ms.
    s.onAck(encodeAck({ cumAck: 1, tsecr: decodeData(sent[0]!)!.tsval, cePackets: 0, ceBytes: 0, blocks: [] }));
    expect(s.stats.srttUs).toBe(5000);
    // Forged ACKs with acceptable cumulative ACKs: echoes never sent, in the future, or far older than the packets.
    let seed = 7;
    const random = (): number => (seed = (seed * 1_103_515_245 + 12_345) >>> 0);
    for (let cum = 2; cum <= 10; cum++) {
      clock.advance(100);
      s.onAck(encodeAck({ cumAck: cum, tsecr: random(), cePackets: 0, ceBytes: 0, blocks: [] }));
    }
    expect(s.stats.rejectedRttSamples).toBe(9);
    expect(s.stats.srttUs).toBe(5000);
    expect(s.rtoUs).toBeLessThan(1_000_000);
  });

  it('rejects an echo of a packet sent later than those the ACK covers, and one from the future', () => {
    const clock = new ManualClock();
    const { s, sent } = sender(clock);
    s.write(new Uint8Array(1448));
    clock.advance(1000);
    s.write(new Uint8Array(1448));
    clock.advance(1000);
    const second = decodeData(sent[1]!)!.tsval;
    // Covers packet 0 only, but echoes packet 1's later time: a sample shorter than the truth.
    s.onAck(encodeAck({ cumAck: 1, tsecr: second, cePackets: 0, ceBytes: 0, blocks: [] }));
    // Covers packet 1 and echoes a time not yet reached.
    s.onAck(encodeAck({ cumAck: 2, tsecr: second + 5000, cePackets: 0, ceBytes: 0, blocks: [] }));
    expect(s.stats.rejectedRttSamples).toBe(2);
    expect(s.stats.srttUs).toBe(0);
  });
});

describe('TransportSender: user timeout', () => {
  it('declares the peer gone when nothing is acknowledged for userTimeoutUs, and reports the unacknowledged bytes', () => {
    const clock = new ManualClock();
    const sent: Uint8Array[] = [];
    const s = new TransportSender(clock, (p) => sent.push(p), native, resolveOptions({ userTimeoutUs: 5_000_000 }));
    const failures: { code: string; unackedBytes: number }[] = [];
    s.onFailure = (err) => failures.push(err);
    s.write(new Uint8Array(3000));
    clock.advance(4_900_000);
    expect(failures).toHaveLength(0);
    clock.advance(200_000);
    expect(failures).toMatchObject([{ code: 'ERR_CCP_PEER_UNREACHABLE', unackedBytes: 3000 }]);
    // Closed: no timer keeps retransmitting.
    const n = sent.length;
    clock.advance(120_000_000);
    expect(sent).toHaveLength(n);
  });
});
