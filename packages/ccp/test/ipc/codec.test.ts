import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@bertha/core';
import { IpcDecodeError } from '../../src/errors.js';
import { decodeMessages, encodeMessage, encodeMessages } from '../../src/ipc/codec.js';
import { type CcpMessage, MAX_VALUE } from '../../src/ipc/messages.js';
import { Opcode, RegType } from '../../src/program.js';
import { always, bind, cwnd, def, doReport, op, prim, program, report, vreport } from '../datapath/asm.js';
import { mulberry32 as rng } from '@bertha/core';

const hex = (s: string) => Uint8Array.from(s.trim().split(/\s+/), (b) => parseInt(b, 16));
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

/** The spec's golden program with a volatile report: DEF, BIND eventFlag, BIND report. */
const golden = program([def(vreport(0), 0)], [[always, [bind(vreport(0), { type: RegType.Immediate, index: 4 })]]]);

const samples: CcpMessage[] = [
  { type: 'create', socketId: 1, initCwnd: 100, mss: 10, srcIp: 1, srcPort: 2, dstIp: 3, dstPort: 4, algorithm: 'my-cool-alg' },
  { type: 'measure', socketId: 7, programUid: 3, fields: [0, 1, 0xffff_ffff, 2 ** 40 + 5, MAX_VALUE] },
  { type: 'close', socketId: 9 },
  { type: 'install', socketId: 1, programUid: 7, program: golden },
  {
    type: 'updateFields',
    socketId: 2,
    updates: [
      { regType: RegType.Implicit, regIndex: 4, value: 42 },
      { regType: RegType.ControlVolatile, regIndex: 109, value: 2 ** 33 },
    ],
  },
  { type: 'changeProg', socketId: 3, programUid: 12, updates: [{ regType: RegType.ControlNonVolatile, regIndex: 0, value: 5 }] },
  { type: 'changeProg', socketId: 3, programUid: 12, updates: [] },
  { type: 'updateFields', socketId: 2, updates: [] },
  { type: 'ready', datapathId: 0xaa },
];

describe('IPC test vectors (spec §3)', () => {
  it('READY', () => {
    expect(toHex(encodeMessage({ type: 'ready', datapathId: 0xaa }))).toBe('05 00 0c 00 00 00 00 00 aa 00 00 00');
  });

  it('close', () => {
    expect(toHex(encodeMessage({ type: 'close', socketId: 1 }))).toBe('01 00 10 00 01 00 00 00 00 00 00 00 00 00 00 00');
    expect(decodeMessages(hex('01 00 10 00 01 00 00 00 00 00 00 00 00 00 00 00'))).toEqual([{ type: 'close', socketId: 1 }]);
  });

  it('CREATE with my-cool-alg', () => {
    const name = Array.from(new TextEncoder().encode('my-cool-alg'), (b) => b.toString(16).padStart(2, '0'));
    const want = hex(
      '00 00 60 00 01 00 00 00 64 00 00 00 0a 00 00 00 01 00 00 00 02 00 00 00 03 00 00 00 04 00 00 00 ' +
        [...name, ...Array<string>(64 - name.length).fill('00')].join(' '),
    );
    expect(want.length).toBe(96);
    expect(encodeMessage(samples[0]!)).toEqual(want);
    expect(decodeMessages(want)).toEqual([samples[0]]);
  });

  it('UPDATE_FIELDS Cwnd <- 42', () => {
    const want = '03 00 19 00 01 00 00 00 01 00 00 00 02 04 00 00 00 2a 00 00 00 00 00 00 00';
    const msg: CcpMessage = { type: 'updateFields', socketId: 1, updates: [{ regType: RegType.Implicit, regIndex: 4, value: 42 }] };
    expect(toHex(encodeMessage(msg))).toBe(want);
    expect(decodeMessages(hex(want))).toEqual([msg]);
  });

  it('the 84-byte INSTALL_EXPR', () => {
    const want = hex(`02 00 54 00 01 00 00 00 07 00 00 00 01 00 00 00 03 00 00 00
      01 00 00 00 01 00 00 00 02 00 00 00 01 00 00 00
      02 05 00 00 00 00 05 00 00 00 00 01 00 00 00 00
      01 02 00 00 00 00 02 00 00 00 00 01 01 00 00 00
      01 05 00 00 00 00 05 00 00 00 00 01 04 00 00 00`);
    expect(want.length).toBe(84);
    expect(encodeMessage(samples[3]!)).toEqual(want);
    expect(decodeMessages(want)).toEqual([samples[3]]);
  });
});

describe('round trips', () => {
  it.each(samples.map((m) => [m.type, m] as const))('%s', (_t, msg) => {
    expect(decodeMessages(encodeMessage(msg))).toEqual([msg]);
  });

  it('several messages back to back in one datagram, at any byte offset of the buffer', () => {
    const bytes = encodeMessages(samples);
    expect(bytes.length).toBe(samples.reduce((n, m) => n + encodeMessage(m).length, 0));
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    expect(decodeMessages(shifted.subarray(3))).toEqual(samples);
  });

  it('u64 values above 2^53 - 1 decode saturated, never wrapped', () => {
    const bytes = encodeMessage({ type: 'measure', socketId: 1, programUid: 1, fields: [1] });
    new DataView(bytes.buffer).setUint32(16 + 4, 0xffff_ffff, true); // high word of field 0
    expect(decodeMessages(bytes)).toEqual([{ type: 'measure', socketId: 1, programUid: 1, fields: [MAX_VALUE] }]);
  });

  it('accepts a 64-byte algorithm name without NUL (portus would panic)', () => {
    const bytes = encodeMessage({ ...(samples[0] as CcpMessage & { type: 'create' }), algorithm: '' });
    bytes.fill(0x61, 32, 96);
    expect(decodeMessages(bytes)).toMatchObject([{ type: 'create', algorithm: 'a'.repeat(64) }]);
  });
});

describe('encoding rejects what the wire cannot carry', () => {
  const bad: [string, CcpMessage][] = [
    ['fractional value', { type: 'measure', socketId: 1, programUid: 1, fields: [1.5] }],
    ['value above 2^53-1', { type: 'measure', socketId: 1, programUid: 1, fields: [2 ** 60] }],
    ['negative value', { type: 'updateFields', socketId: 1, updates: [{ regType: RegType.Implicit, regIndex: 4, value: -1 }] }],
    ['empty MEASURE (that is a close)', { type: 'measure', socketId: 1, programUid: 1, fields: [] }],
    ['socket id 0', { type: 'close', socketId: 0 }],
    ['socket id above u32', { type: 'close', socketId: 2 ** 32 }],
    ['algorithm name of 64 bytes', { ...(samples[0] as CcpMessage & { type: 'create' }), algorithm: 'x'.repeat(64) }],
    ['invalid program', { type: 'install', socketId: 0, programUid: 1, program: program([], [[always, [op(Opcode.Add, prim(0), prim(0), prim(0))]]]) }],
  ];
  it.each(bad)('%s', (_why, msg) => {
    expect(() => encodeMessage(msg)).toThrow(InvalidArgumentError);
  });
});

function expectDecodeError(bytes: Uint8Array, pattern?: RegExp): void {
  let caught: unknown;
  try {
    decodeMessages(bytes);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(IpcDecodeError);
  if (pattern) expect((caught as Error).message).toMatch(pattern);
}

describe('malformed input is always an IpcDecodeError', () => {
  it('every truncation of every valid message', () => {
    for (const msg of samples) {
      const bytes = encodeMessage(msg);
      for (let n = 0; n < bytes.length; n++) expectDecodeError(bytes.subarray(0, n));
    }
  });

  it('a valid message followed by a truncated one rejects the whole datagram', () => {
    const bytes = encodeMessages([samples[2]!, samples[3]!]);
    expectDecodeError(bytes.subarray(0, bytes.length - 1), /message 1 at byte 16/);
  });

  const golden84 = () => encodeMessage(samples[3]!);
  const cases: [string, () => Uint8Array, RegExp][] = [
    ['unknown type', () => hex('06 00 0c 00 00 00 00 00 aa 00 00 00'), /unknown message type 6/],
    ['length smaller than the header', () => hex('05 00 04 00 00 00 00 00 aa 00 00 00'), /smaller than the header/],
    ['length past the end', () => hex('05 00 0d 00 00 00 00 00 aa 00 00 00'), /truncated/],
    ['READY too long (oversized)', () => hex('05 00 0d 00 00 00 00 00 aa 00 00 00 00'), /does not match 12/],
    ['MEASURE count disagrees with length', () => hex('01 00 10 00 01 00 00 00 01 00 00 00 01 00 00 00'), /does not match 24/],
    ['MEASURE with more fields than report registers', () => {
      const b = encodeMessage({ type: 'measure', socketId: 1, programUid: 1, fields: [1] });
      new DataView(b.buffer).setUint32(12, 111, true);
      return b;
    }, /at most 110/],
    ['CREATE on socket 0', () => {
      const b = encodeMessage(samples[0]!);
      b.fill(0, 4, 8);
      return b;
    }, /socket id 0/],
    ['CREATE name not UTF-8', () => {
      const b = encodeMessage(samples[0]!);
      b[32] = 0xff;
      return b;
    }, /UTF-8/],
    ['UPDATE_FIELDS count as a huge u32', () => hex('03 00 19 00 01 00 00 00 ff ff ff ff 02 04 00 00 00 2a 00 00 00 00 00 00 00'), /does not match/],
    ['UPDATE_FIELDS of a primitive', () => hex('03 00 19 00 01 00 00 00 01 00 00 00 04 04 00 00 00 2a 00 00 00 00 00 00 00'), /cannot update/],
    ['UPDATE_FIELDS of Micros', () => hex('03 00 19 00 01 00 00 00 01 00 00 00 02 03 00 00 00 2a 00 00 00 00 00 00 00'), /cannot update/],
    ['UPDATE_FIELDS control index 110', () => hex('03 00 19 00 01 00 00 00 01 00 00 00 00 6e 00 00 00 2a 00 00 00 00 00 00 00'), /cannot update/],
    ['INSTALL with 257 events', () => {
      const b = golden84();
      new DataView(b.buffer).setUint32(12, 257, true);
      return b;
    }, /257 events/],
    ['INSTALL with 256 instructions', () => {
      const b = golden84();
      new DataView(b.buffer).setUint32(16, 256, true);
      return b;
    }, /256 instructions/],
    ['INSTALL with unknown opcode', () => {
      const b = golden84();
      b[52] = 15;
      return b;
    }, /opcode 15/],
    ['INSTALL with unknown register type', () => {
      const b = golden84();
      b[53] = 9; // result type of instruction 1
      return b;
    }, /register type 9/],
    ['INSTALL writing a primitive', () => {
      const b = golden84();
      b[69] = RegType.Primitive; // result type of instruction 2
      return b;
    }, /read-only/],
    ['INSTALL with tmp index 8', () => {
      const b = golden84();
      b[69] = RegType.Tmp;
      b[70] = 8;
      return b;
    }, /index 8/],
    ['INSTALL with an event running past the instructions', () => {
      const b = golden84();
      new DataView(b.buffer).setUint32(20 + 12, 2, true); // numBody 2 from index 2 of 3
      return b;
    }, /event 0/],
    ['INSTALL with a wrapping event range', () => {
      const b = golden84();
      new DataView(b.buffer).setUint32(20 + 8, 0xffff_ffff, true);
      return b;
    }, /event 0/],
    ['empty datagram', () => new Uint8Array(0), /empty/],
    ['oversized datagram', () => new Uint8Array(65_537), /exceeds/],
  ];
  it.each(cases)('%s', (_why, make, pattern) => expectDecodeError(make(), pattern));

  it('the DEF prologue rule, report numbering and read-only targets are enforced', () => {
    const bad: [ReturnType<typeof program>, RegExp][] = [
      [program([def(report(1), 0)], [[always, []]]), /Report registers must be numbered 0..0/],
      [program([], [[always, [def(report(0), 0)]]]), /DEF after the first non-DEF/],
      [program([def(cwnd, 1)], []), /DEF must target a Report or control/],
    ];
    for (const [p, pattern] of bad) {
      // Build the bytes by hand: the encoder refuses invalid programs.
      const body = encodeRaw(p);
      const full = new Uint8Array(20 + body.length);
      full.set(body, 20);
      const v = new DataView(full.buffer);
      v.setUint16(0, 2, true);
      v.setUint16(2, full.length, true);
      v.setUint32(8, 1, true);
      v.setUint32(12, p.events.length, true);
      v.setUint32(16, p.instructions.length, true);
      expectDecodeError(full, pattern);
    }
    expect(() => decodeMessages(encodeMessage({ type: 'install', socketId: 0, programUid: 1, program: program([def(report(0), 0)], [[always, [doReport]]]) }))).not.toThrow();
  });
});

function encodeRaw(p: ReturnType<typeof program>): Uint8Array {
  const out = new Uint8Array(16 * (p.events.length + p.instructions.length));
  const v = new DataView(out.buffer);
  let o = 0;
  for (const e of p.events) {
    [e.flagIdx, e.numFlag, e.bodyIdx, e.numBody].forEach((x, i) => v.setUint32(o + 4 * i, x, true));
    o += 16;
  }
  for (const ins of p.instructions) {
    v.setUint8(o, ins.op);
    [ins.res, ins.left, ins.right].forEach((r, i) => {
      v.setUint8(o + 1 + 5 * i, r.type);
      v.setUint32(o + 2 + 5 * i, r.index, true);
    });
    o += 16;
  }
  return out;
}

describe('fuzz', () => {
  it('100,000 random and mutated datagrams: only IpcDecodeError, never another exception', () => {
    const rand = rng(0xcc9);
    const valid = samples.map((m) => encodeMessage(m));
    let decoded = 0;
    for (let i = 0; i < 100_000; i++) {
      let bytes: Uint8Array;
      if (i % 2 === 0) {
        bytes = new Uint8Array(Math.floor(rand() * 120));
        for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(rand() * 256);
        // Make some headers plausible so the body decoders get exercised too.
        if (bytes.length >= 4 && rand() < 0.7) {
          bytes[0] = Math.floor(rand() * 7);
          bytes[1] = 0;
          bytes[2] = bytes.length & 0xff;
          bytes[3] = bytes.length >> 8;
        }
      } else {
        bytes = valid[Math.floor(rand() * valid.length)]!.slice();
        const flips = 1 + Math.floor(rand() * 4);
        for (let f = 0; f < flips; f++) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
      }
      try {
        decodeMessages(bytes);
        decoded++;
      } catch (err) {
        if (!(err instanceof IpcDecodeError)) throw new Error(`input ${toHex(bytes)} threw ${String(err)}`);
      }
    }
    // Some mutations stay valid (a changed value or id): the valid path is exercised too.
    expect(decoded).toBeGreaterThan(1000);
  });
});
