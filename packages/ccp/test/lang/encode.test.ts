import { InvalidArgumentError } from '@bertha/core';
import { describe, expect, it } from 'vitest';
import { IpcDecodeError, LimitError } from '../../src/errors.js';
import { Opcode, RegType, type CompiledProgram, type Instruction } from '../../src/program.js';
import {
  compile,
  decodeEvent,
  decodeInstruction,
  decodeProgramBody,
  encodeEvent,
  encodeInstruction,
  encodeProgramBody,
  programBodySize,
  INSTRUCTION_SIZE,
} from '../../src/lang/index.js';

const hex = (s: string): Uint8Array => Uint8Array.from(s.trim().split(/\s+/), (b) => parseInt(b, 16));
const INSTALL_HEADER = 20;

/** The 84-byte INSTALL_EXPR of spec §2: program uid 7 on socket 1. */
const SPEC_INSTALL = hex(`
  02 00 54 00 01 00 00 00 07 00 00 00 01 00 00 00 03 00 00 00
  01 00 00 00 01 00 00 00 02 00 00 00 01 00 00 00
  02 05 00 00 00 00 05 00 00 00 00 01 00 00 00 00
  01 02 00 00 00 00 02 00 00 00 00 01 01 00 00 00
  01 05 00 00 00 00 05 00 00 00 00 01 04 00 00 00`);

const imm = (index: number) => ({ type: RegType.Immediate, index });
const tmp = (index: number) => ({ type: RegType.Tmp, index });

describe('program body encoding', () => {
  it('encodes the volatile golden program to exactly the bytes of spec §2', () => {
    const p = compile('(def (Report (volatile foo 0))) (when true (:= Report.foo 4))');
    const buf = new Uint8Array(INSTALL_HEADER + programBodySize(p));
    const view = new DataView(buf.buffer);
    // The INSTALL_EXPR header belongs to ipc/; written here only to compare the whole message.
    view.setUint16(0, 2, true);
    view.setUint16(2, buf.length, true);
    view.setUint32(4, 1, true);
    view.setUint32(8, 7, true);
    view.setUint32(12, p.events.length, true);
    view.setUint32(16, p.instructions.length, true);
    expect(encodeProgramBody(p, view, INSTALL_HEADER)).toBe(84);
    expect(buf).toEqual(SPEC_INSTALL);
  });

  it('decodes the spec bytes back to the compiled program', () => {
    const p = compile('(def (Report (volatile foo 0))) (when true (:= Report.foo 4))');
    const view = new DataView(SPEC_INSTALL.buffer);
    expect(decodeProgramBody(view, INSTALL_HEADER, 1, 3)).toEqual({ events: p.events, instructions: p.instructions });
  });

  it('round-trips a program using every register type and +infinity', () => {
    const p = compile(`(def (gain 3) (volatile step +infinity) (Report (volatile x 0) (b false)))
      (when (> Micros Flow.rtt_sample_us)
        (:= l (+ Report.x gain)) (:= Report.x (ewma 5 l)) (:= step (max step Cwnd)) (:= Report.b (if Flow.was_timeout true)) (report))`);
    const types = new Set(p.instructions.flatMap((i) => [i.res.type, i.left.type, i.right.type]));
    expect([...types].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const view = new DataView(new ArrayBuffer(programBodySize(p) + 8));
    expect(encodeProgramBody(p, view, 8)).toBe(8 + programBodySize(p));
    expect(decodeProgramBody(view, 8, p.events.length, p.instructions.length)).toEqual({ events: p.events, instructions: p.instructions });
  });

  it('lays out one instruction as op | resType res | leftType left | rightType right, little-endian', () => {
    const view = new DataView(new ArrayBuffer(INSTRUCTION_SIZE));
    const instr: Instruction = { op: Opcode.Ewma, res: { type: RegType.ControlVolatile, index: 0x42 }, left: imm(0xffff_ffff), right: tmp(7) };
    encodeInstruction(instr, view, 0);
    expect(new Uint8Array(view.buffer)).toEqual(hex('05 08 42 00 00 00 01 ff ff ff ff 07 07 00 00 00'));
    expect(decodeInstruction(view, 0)).toEqual(instr);
  });

  it('lays out one event as four u32', () => {
    const view = new DataView(new ArrayBuffer(16));
    encodeEvent({ flagIdx: 1, numFlag: 2, bodyIdx: 0x0300, numBody: 4 }, view, 0);
    expect(new Uint8Array(view.buffer)).toEqual(hex('01 00 00 00 02 00 00 00 00 03 00 00 04 00 00 00'));
    expect(decodeEvent(view, 0)).toEqual({ flagIdx: 1, numFlag: 2, bodyIdx: 0x300, numBody: 4 });
  });
});

describe('decoding rejects what libccp would trust blindly', () => {
  const good: Instruction = { op: Opcode.Add, res: tmp(0), left: imm(1), right: imm(2) };
  const encoded = (patch: (bytes: Uint8Array) => void): DataView => {
    const view = new DataView(new ArrayBuffer(INSTRUCTION_SIZE));
    encodeInstruction(good, view, 0);
    patch(new Uint8Array(view.buffer));
    return view;
  };
  const cases: Array<[string, (b: Uint8Array) => void, RegExp]> = [
    ['opcode 15', (b) => (b[0] = 15), /opcode 15/],
    ['register type 9', (b) => (b[6] = 9), /left register type 9/],
    ['an immediate result', (b) => (b[1] = RegType.Immediate), /read-only/],
    ['a primitive result', (b) => ((b[1] = RegType.Primitive), (b[2] = 0)), /read-only/],
    ['tmp index 8', (b) => (b[2] = 8), /index 8 is out of range/],
    ['primitive index 15', (b) => ((b[11] = RegType.Primitive), (b[12] = 15)), /right register index 15/],
    ['implicit index 6', (b) => ((b[6] = RegType.Implicit), (b[7] = 6)), /index 6/],
    ['report index 110', (b) => ((b[1] = RegType.ReportVolatile), (b[2] = 110)), /index 110/],
    ['a DEF into a tmp', (b) => (b[0] = Opcode.Def), /DEF must target/],
  ];
  for (const [what, patch, message] of cases) {
    it(`rejects ${what}`, () => {
      expect(() => decodeInstruction(encoded(patch), 0)).toThrow(IpcDecodeError);
      expect(() => decodeInstruction(encoded(patch), 0)).toThrow(message);
    });
  }

  it('rejects events reaching past the instructions, counts over the limits and truncated bodies', () => {
    const p = compile('(def) (when true (report))');
    const view = new DataView(new ArrayBuffer(programBodySize(p)));
    encodeProgramBody(p, view, 0);
    view.setUint32(12, 2, true); // numBody 2 of 2 instructions starting at 1
    expect(() => decodeProgramBody(view, 0, 1, 2)).toThrow(/reaches past the 2 instructions/);
    expect(() => decodeProgramBody(view, 0, 1, 256)).toThrow(/256 instructions exceed libccp's limit of 255/);
    expect(() => decodeProgramBody(view, 0, 257, 0)).toThrow(/257 events/);
    expect(() => decodeProgramBody(view, 0, 1, 3)).toThrow(IpcDecodeError);
    expect(() => decodeProgramBody(view, 40, 1, 2)).toThrow(/do not fit a buffer of 48 bytes/);
  });
});

describe('encoding rejects invalid programs', () => {
  it('throws InvalidArgumentError for a bad opcode, register or event, or a short buffer', () => {
    const view = new DataView(new ArrayBuffer(64));
    const bad: Instruction[] = [
      { op: 15 as Opcode, res: tmp(0), left: imm(0), right: imm(0) },
      { op: Opcode.Add, res: { type: 9 as RegType, index: 0 }, left: imm(0), right: imm(0) },
      { op: Opcode.Add, res: tmp(0), left: imm(2 ** 32), right: imm(0) },
      { op: Opcode.Add, res: tmp(0), left: imm(-1), right: imm(0) },
      { op: Opcode.Bind, res: imm(0), left: imm(0), right: imm(0) },
    ];
    for (const instr of bad) expect(() => encodeInstruction(instr, view, 0)).toThrow(InvalidArgumentError);
    const ok: Instruction = { op: Opcode.Add, res: tmp(0), left: imm(0), right: imm(0) };
    expect(() => encodeInstruction(ok, view, 56)).toThrow(/do not fit a buffer of 64 bytes/);
    expect(() => encodeEvent({ flagIdx: 0.5, numFlag: 0, bodyIdx: 0, numBody: 0 }, view, 0)).toThrow(InvalidArgumentError);
    const outOfRange: CompiledProgram = { events: [{ flagIdx: 0, numFlag: 2, bodyIdx: 0, numBody: 0 }], instructions: [ok] };
    expect(() => encodeProgramBody(outOfRange, view, 0)).toThrow(/reaches past/);
  });

  it('throws LimitError for a program libccp cannot hold', () => {
    const ok: Instruction = { op: Opcode.Add, res: tmp(0), left: imm(0), right: imm(0) };
    const big: CompiledProgram = { events: [], instructions: Array.from({ length: 256 }, () => ok) };
    expect(() => encodeProgramBody(big, new DataView(new ArrayBuffer(programBodySize(big))), 0)).toThrow(LimitError);
  });
});
