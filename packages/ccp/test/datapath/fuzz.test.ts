import { describe, expect, it } from 'vitest';
import { CcpError } from '../../src/errors.js';
import { ArithmeticFaultError } from '../../src/datapath/errors.js';
import { MAX_VALUE } from '../../src/ipc/messages.js';
import { type CompiledProgram, type EventSpec, type Instruction, Opcode, type Reg, type RegType } from '../../src/program.js';
import { flowInfo, harness } from './harness.js';
import { mulberry32 as rng } from '@bertha/core';

/** Index bound per register type, slightly past the real limits so some programs are out of range. */
const INDEX_BOUND = [112, 2 ** 32, 7, 9, 16, 112, 112, 9, 112];
const WRITABLE = [0, 2, 3, 5, 6, 7, 8];

function randomProgram(rand: () => number): CompiledProgram {
  const pick = (n: number) => Math.floor(rand() * n);
  // Mostly valid (so programs install), sometimes anything: the checks must catch it.
  const wild = () => rand() < 0.01;
  const reg = (writable: boolean): Reg => {
    const type = (writable && !wild() ? WRITABLE[pick(WRITABLE.length)]! : pick(9)) as RegType;
    const bound = INDEX_BOUND[type]!;
    const index = wild() ? pick(bound) : pick(Math.min(bound - 2, type === 1 ? 50 : 3));
    return { type, index };
  };
  const instructions: Instruction[] = [];
  const numDefs = pick(4);
  let reports = 0;
  for (let i = 0; i < numDefs; i++) {
    const type = ([0, 5, 6, 8] as const)[pick(4)]!;
    const res: Reg = { type, index: type === 5 || type === 6 ? reports++ : i };
    instructions.push({ op: Opcode.Def, res, left: res, right: { type: 1, index: pick(1000) } });
  }
  const n = pick(40);
  for (let i = 0; i < n; i++) instructions.push({ op: (wild() ? pick(16) : 1 + pick(14)) as Opcode, res: reg(true), left: reg(false), right: reg(false) });
  const events: EventSpec[] = [];
  const numEvents = pick(6);
  const len = instructions.length;
  for (let e = 0; e < numEvents; e++) {
    const flagIdx = pick(len + 1);
    const bodyIdx = pick(len + 1);
    events.push({ flagIdx, numFlag: pick(len + 2 - flagIdx), bodyIdx, numBody: pick(len + 2 - bodyIdx) });
  }
  return { events, instructions };
}

function randomValue(rand: () => number): number {
  const r = rand();
  if (r < 0.05) return Number.NaN;
  if (r < 0.1) return MAX_VALUE * 2;
  if (r < 0.2) return 0;
  if (r < 0.9) return Math.floor(rand() * 1e6);
  return Math.floor(rand() * MAX_VALUE);
}

const inRange = (v: number) => Number.isInteger(v) && v >= 0 && v <= MAX_VALUE;

describe('fuzz: random instruction lists through install and invoke', () => {
  it('never crashes or hangs; only typed errors; every pushed or reported value stays in range', () => {
    const rand = rng(0xdead);
    const h = harness();
    let installed = 0;
    let faults = 0;
    for (let i = 0; i < 5000; i++) {
      const p = randomProgram(rand);
      try {
        h.dp.install(1, p);
      } catch (err) {
        expect(err).toBeInstanceOf(CcpError);
        continue;
      }
      installed++;
      const id = h.dp.createFlow(flowInfo);
      h.dp.handleMessage({ type: 'changeProg', socketId: id, programUid: 1, updates: [] });
      for (let k = 0; k < 20; k++) {
        h.advance(Math.floor(rand() * 50_000));
        const r = h.dp.invoke(id, {
          cwnd: randomValue(rand),
          rate: randomValue(rand),
          bytesAcked: randomValue(rand),
          bytesMisordered: randomValue(rand),
          lostPktsSample: randomValue(rand),
          packetsInFlight: randomValue(rand),
          rttSampleUs: randomValue(rand),
          wasTimeout: rand() < 0.1,
        });
        if (r !== undefined) {
          expect(r).toBeInstanceOf(ArithmeticFaultError);
          faults++;
        }
      }
      h.dp.closeFlow(id);
      for (const m of h.take()) if (m.type === 'measure') expect(m.fields.every(inRange)).toBe(true);
      expect(h.cwnd.splice(0).every(([, v]) => inRange(v) && v > 0)).toBe(true);
      expect(h.rate.splice(0).every(([, v]) => inRange(v) && v !== 0)).toBe(true);
    }
    // The generator must exercise both paths, not just rejections.
    expect(installed).toBeGreaterThan(500);
    expect(faults).toBeGreaterThan(100);
    expect(h.dp.stats.arithmeticFaults).toBe(faults);
  });
});
