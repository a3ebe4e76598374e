import { describe, expect, it } from 'vitest';
import { RegType, type CompiledProgram } from '../../src/program.js';
import { compile, disassemble, disassembleInstruction } from '../../src/lang/index.js';

const listing = (src: string): string[] => compile(src).instructions.map(disassembleInstruction);

/** One Num report `x`, one Bool report `b`: the frame most construct tests use. */
const frame = (body: string): string => `(def (Report (x 0) (b false))) (when true ${body})`;
const FRAME_PRELUDE = ['DEF report-nonvolatile#1 <- 0', 'DEF report-nonvolatile#0 <- 0', 'BIND eventFlag <- 1'];

describe('spec golden example', () => {
  it('compiles (def (Report.foo 0)) (when true (:= Report.foo 4)) exactly', () => {
    const p = compile('(def (Report.foo 0)) (when true (:= Report.foo 4))');
    expect(p.instructions.map(disassembleInstruction)).toEqual(['DEF report-nonvolatile#0 <- 0', 'BIND eventFlag <- 1', 'BIND report#0 <- 4']);
    expect(p.events).toEqual([{ flagIdx: 1, numFlag: 1, bodyIdx: 2, numBody: 1 }]);
    // DEF and BIND repeat the target as the left operand.
    expect(p.instructions[0]).toEqual({
      op: 2,
      res: { type: RegType.ReportNonVolatile, index: 0 },
      left: { type: RegType.ReportNonVolatile, index: 0 },
      right: { type: RegType.Immediate, index: 0 },
    });
    expect(p.reports).toEqual([{ name: 'Report.foo', valueType: 'num', volatile: false, init: 0, reg: { type: 6, index: 0 } }]);
    expect(p.controls).toEqual([]);
    expect(p.warnings).toEqual([]);
  });
});

describe('operators', () => {
  const numOps: Array<[string[], string]> = [
    [['+', 'add'], 'ADD'],
    [['-', 'sub'], 'SUB'],
    [['*', 'mul'], 'MUL'],
    [['/', 'div'], 'DIV'],
    [['max'], 'MAX'],
    [['min'], 'MIN'],
    [['wrapped_max'], 'MAXWRAP'],
  ];
  for (const [spellings, opcode] of numOps) {
    for (const op of spellings) {
      it(`${op} compiles to ${opcode} into a fresh tmp`, () => {
        expect(listing(frame(`(:= Report.x (${op} 7 Ack.bytes_acked))`))).toEqual([
          ...FRAME_PRELUDE,
          `${opcode} tmp#0 <- 7, Ack.bytes_acked`,
          'BIND report#0 <- tmp#0',
        ]);
      });
    }
  }
  const cmpOps: Array<[string[], string]> = [
    [['==', 'eq'], 'EQUIV'],
    [['>', 'gt'], 'GT'],
    [['<', 'lt'], 'LT'],
  ];
  for (const [spellings, opcode] of cmpOps) {
    for (const op of spellings) {
      it(`${op} compiles to ${opcode} and yields a Bool`, () => {
        expect(listing(frame(`(:= Report.b (${op} Report.x 3))`))).toEqual([...FRAME_PRELUDE, `${opcode} tmp#0 <- report#0, 3`, 'BIND report#1 <- tmp#0']);
      });
    }
  }
  for (const op of ['&&', 'and']) {
    it(`${op} compiles to MUL`, () => {
      expect(listing(frame(`(:= Report.b (${op} true Flow.was_timeout))`))).toEqual([
        ...FRAME_PRELUDE,
        'MUL tmp#0 <- 1, Flow.was_timeout',
        'BIND report#1 <- tmp#0',
      ]);
    });
  }
  for (const op of ['||', 'or']) {
    it(`${op} compiles to ADD`, () => {
      expect(listing(frame(`(:= Report.b (${op} false Report.b))`))).toEqual([...FRAME_PRELUDE, 'ADD tmp#0 <- 0, report#1', 'BIND report#1 <- tmp#0']);
    });
  }
  it('bind is the word form of :=', () => {
    expect(listing(frame('(bind Report.x 5)'))).toEqual(listing(frame('(:= Report.x 5)')));
  });
});

describe('stateful forms write their target directly', () => {
  it('if compiles to IF target <- condition, value', () => {
    expect(listing(frame('(:= Report.x (if Flow.was_timeout 5))'))).toEqual([...FRAME_PRELUDE, 'IF report#0 <- Flow.was_timeout, 5']);
  });
  it('!if compiles to NOTIF', () => {
    expect(listing(frame('(:= Report.b (!if Report.b true))'))).toEqual([...FRAME_PRELUDE, 'NOTIF report#1 <- report#1, 1']);
  });
  it('ewma compiles to EWMA target <- weight, value', () => {
    expect(listing(frame('(:= Report.x (ewma 8 Flow.rtt_sample_us))'))).toEqual([...FRAME_PRELUDE, 'EWMA report#0 <- 8, Flow.rtt_sample_us']);
  });
  it('operands of if are computed first, left first', () => {
    expect(listing(frame('(:= Report.x (if (> Ack.bytes_acked 0) (+ Report.x 1)))'))).toEqual([
      ...FRAME_PRELUDE,
      'GT tmp#0 <- Ack.bytes_acked, 0',
      'ADD tmp#1 <- report#0, 1',
      'IF report#0 <- tmp#0, tmp#1',
    ]);
  });
  it('works on control variables', () => {
    expect(listing('(def (gain 0)) (when true (:= gain (ewma 2 Ack.bytes_acked)))')).toEqual([
      'DEF control-nonvolatile#0 <- 0',
      'BIND eventFlag <- 1',
      'EWMA control#0 <- 2, Ack.bytes_acked',
    ]);
  });
});

describe('commands, implicits and literals', () => {
  it('(report) and (fallthrough) set the implicit flags', () => {
    expect(listing(frame('(report) (fallthrough)'))).toEqual([...FRAME_PRELUDE, 'BIND shouldReport <- 1', 'BIND shouldContinue <- 1']);
  });
  it('Micros, Cwnd and Rate are assignable implicits', () => {
    expect(listing(frame('(:= Micros 0) (:= Cwnd (+ Cwnd Ack.bytes_acked)) (:= Rate Flow.rate_incoming)'))).toEqual([
      ...FRAME_PRELUDE,
      'BIND Micros <- 0',
      'ADD tmp#0 <- Cwnd, Ack.bytes_acked',
      'BIND Cwnd <- tmp#0',
      'BIND Rate <- Flow.rate_incoming',
    ]);
    const p = compile(frame('(:= Micros 0)'));
    expect(p.instructions[3]!.res).toEqual({ type: RegType.Implicit, index: 3 });
  });
  it('+infinity is the immediate 0xFFFFFFFF', () => {
    const p = compile('(def (Report (m +infinity))) (when true (:= Report.m (min Report.m Flow.rtt_sample_us)))');
    expect(p.instructions.map(disassembleInstruction)).toEqual([
      'DEF report-nonvolatile#0 <- +infinity',
      'BIND eventFlag <- 1',
      'MIN tmp#0 <- report#0, Flow.rtt_sample_us',
      'BIND report#0 <- tmp#0',
    ]);
    expect(p.instructions[0]!.right).toEqual({ type: RegType.Immediate, index: 0xffff_ffff });
    expect(p.reports[0]!.init).toBe(0xffff_ffff);
  });
  it('Bool literals are the immediates 1 and 0', () => {
    const p = compile('(def (Report (b true))) (when false (:= Report.b false))');
    expect(p.instructions.map(disassembleInstruction)).toEqual(['DEF report-nonvolatile#0 <- 1', 'BIND eventFlag <- 0', 'BIND report#0 <- 0']);
    expect(p.reports[0]).toMatchObject({ valueType: 'bool', init: 1 });
  });
  it('an expression statement is computed and warned about', () => {
    const p = compile(frame('(+ 1 2)'));
    expect(p.instructions.map(disassembleInstruction).slice(3)).toEqual(['ADD tmp#0 <- 1, 2']);
    expect(p.warnings).toMatchObject([{ code: 'unused-result', pos: { line: 1, column: 43 } }]);
  });
});

describe('conditions', () => {
  it("the condition's last operator writes eventFlag", () => {
    expect(listing(frame('(report)').replace('when true', 'when (&& (> Report.x 1) (< Report.x 9))'))).toEqual([
      'DEF report-nonvolatile#1 <- 0',
      'DEF report-nonvolatile#0 <- 0',
      'GT tmp#0 <- report#0, 1',
      'LT tmp#1 <- report#0, 9',
      'MUL eventFlag <- tmp#0, tmp#1',
      'BIND shouldReport <- 1',
    ]);
  });
  it('(when Report.x …) with a Bool report variable binds it to eventFlag', () => {
    const p = compile('(def (Report (flag false))) (when Report.flag (report))');
    expect(p.instructions.map(disassembleInstruction)).toEqual(['DEF report-nonvolatile#0 <- 0', 'BIND eventFlag <- report#0', 'BIND shouldReport <- 1']);
    expect(p.events).toEqual([{ flagIdx: 1, numFlag: 1, bodyIdx: 2, numBody: 1 }]);
  });
  it('a Bool primitive can be a condition', () => {
    expect(listing('(def) (when Flow.was_timeout (report))')).toEqual(['BIND eventFlag <- Flow.was_timeout', 'BIND shouldReport <- 1']);
  });
});

describe('register allocation and tmps', () => {
  it('tmps restart at 0 for each condition and each body expression', () => {
    expect(listing(frame('(:= Report.x (+ (* 1 2) (* 3 4))) (:= Report.x (- Report.x 1))').replace('when true', 'when (> (+ 1 1) 0)'))).toEqual([
      'DEF report-nonvolatile#1 <- 0',
      'DEF report-nonvolatile#0 <- 0',
      'ADD tmp#0 <- 1, 1',
      'GT eventFlag <- tmp#0, 0',
      'MUL tmp#0 <- 1, 2',
      'MUL tmp#1 <- 3, 4',
      'ADD tmp#2 <- tmp#0, tmp#1',
      'BIND report#0 <- tmp#2',
      'SUB tmp#0 <- report#0, 1',
      'BIND report#0 <- tmp#0',
    ]);
  });

  it('numbers controls in declaration order, sorts DEFs by full name', () => {
    const p = compile('(def (gain 2) (volatile step 1) (Report (x 0)) (alpha 5)) (when (> Report.x gain) (:= Cwnd (* Cwnd alpha)))');
    expect(p.instructions.map(disassembleInstruction)).toEqual([
      'DEF report-nonvolatile#0 <- 0',
      'DEF control-nonvolatile#2 <- 5',
      'DEF control-nonvolatile#0 <- 2',
      'DEF control-volatile#1 <- 1',
      'GT eventFlag <- report#0, control#0',
      'MUL tmp#0 <- Cwnd, control#2',
      'BIND Cwnd <- tmp#0',
    ]);
    expect(p.controls).toEqual([
      { name: 'gain', valueType: 'num', volatile: false, init: 2, reg: { type: RegType.ControlNonVolatile, index: 0 } },
      { name: 'step', valueType: 'num', volatile: true, init: 1, reg: { type: RegType.ControlVolatile, index: 1 } },
      { name: 'alpha', valueType: 'num', volatile: false, init: 5, reg: { type: RegType.ControlNonVolatile, index: 2 } },
    ]);
  });

  it('numbers the Report block first, then Report.* declared outside it', () => {
    const p = compile('(def (Report.z 0) (Report (b 0) (volatile a 0)) (volatile Report.y 0)) (when true (report))');
    expect(p.reports.map((r) => [r.name, r.reg.type, r.reg.index])).toEqual([
      ['Report.b', RegType.ReportNonVolatile, 0],
      ['Report.a', RegType.ReportVolatile, 1],
      ['Report.z', RegType.ReportNonVolatile, 2],
      ['Report.y', RegType.ReportVolatile, 3],
    ]);
    expect(p.instructions.slice(0, 4).map(disassembleInstruction)).toEqual([
      'DEF report-volatile#1 <- 0',
      'DEF report-nonvolatile#0 <- 0',
      'DEF report-volatile#3 <- 0',
      'DEF report-nonvolatile#2 <- 0',
    ]);
  });

  it('locals get registers in order of first assignment and keep them across events', () => {
    expect(listing('(def (Report (x 0))) (when true (:= a (+ Ack.bytes_acked 1)) (:= b (> a 10)) (:= Report.x a)) (when b (:= a 0) (report))')).toEqual([
      'DEF report-nonvolatile#0 <- 0',
      'BIND eventFlag <- 1',
      'ADD tmp#0 <- Ack.bytes_acked, 1',
      'BIND local#0 <- tmp#0',
      'GT tmp#0 <- local#0, 10',
      'BIND local#1 <- tmp#0',
      'BIND report#0 <- local#0',
      'BIND eventFlag <- local#1',
      'BIND local#0 <- 0',
      'BIND shouldReport <- 1',
    ]);
  });
});

describe('comments', () => {
  it('are allowed anywhere, including inside bodies and expressions', () => {
    const commented = `# leading comment
(def (Report (x 0))) # after def
(when true # after the condition
  # a whole-line comment inside the body
  (:= Report.x # after the target
     (+ Report.x 1)) # after a statement
  #(report) commented out
)`;
    expect(listing(commented)).toEqual(listing('(def (Report (x 0))) (when true (:= Report.x (+ Report.x 1)))'));
    expect(listing(commented)).toHaveLength(4);
  });
});

const GENERIC_CA = `
(def (Report
    (volatile acked 0)
    (volatile sacked 0)
    (volatile loss 0)
    (volatile timeout false)
    (volatile rtt 0)
    (volatile inflight 0)
))
(when true
    (:= Report.inflight Flow.packets_in_flight)
    (:= Report.rtt Flow.rtt_sample_us)
    (:= Report.acked (+ Report.acked Ack.bytes_acked))
    (:= Report.sacked (+ Report.sacked Ack.packets_misordered))
    (:= Report.loss Ack.lost_pkts_sample)
    (:= Report.timeout Flow.was_timeout)
    (fallthrough)
)
(when (|| Report.timeout (> Report.loss 0))
    (report)
    (:= Micros 0)
)
(when (> Micros Flow.rtt_sample_us)
    (report)
    (:= Micros 0)
)`;

describe('reference generic congestion-avoidance program (spec §5)', () => {
  it('compiles to the expected instructions and events', () => {
    const p = compile(GENERIC_CA);
    expect(p.instructions.map(disassembleInstruction)).toEqual([
      'DEF report-volatile#0 <- 0',
      'DEF report-volatile#5 <- 0',
      'DEF report-volatile#2 <- 0',
      'DEF report-volatile#4 <- 0',
      'DEF report-volatile#1 <- 0',
      'DEF report-volatile#3 <- 0',
      'BIND eventFlag <- 1',
      'BIND report#5 <- Flow.packets_in_flight',
      'BIND report#4 <- Flow.rtt_sample_us',
      'ADD tmp#0 <- report#0, Ack.bytes_acked',
      'BIND report#0 <- tmp#0',
      'ADD tmp#0 <- report#1, Ack.packets_misordered',
      'BIND report#1 <- tmp#0',
      'BIND report#2 <- Ack.lost_pkts_sample',
      'BIND report#3 <- Flow.was_timeout',
      'BIND shouldContinue <- 1',
      'GT tmp#0 <- report#2, 0',
      'ADD eventFlag <- report#3, tmp#0',
      'BIND shouldReport <- 1',
      'BIND Micros <- 0',
      'GT eventFlag <- Micros, Flow.rtt_sample_us',
      'BIND shouldReport <- 1',
      'BIND Micros <- 0',
    ]);
    expect(p.events).toEqual([
      { flagIdx: 6, numFlag: 1, bodyIdx: 7, numBody: 9 },
      { flagIdx: 16, numFlag: 2, bodyIdx: 18, numBody: 2 },
      { flagIdx: 20, numFlag: 1, bodyIdx: 21, numBody: 2 },
    ]);
    expect(p.reports.map((r) => r.name)).toEqual(['Report.acked', 'Report.sacked', 'Report.loss', 'Report.timeout', 'Report.rtt', 'Report.inflight']);
    expect(p.reports.every((r) => r.volatile && r.reg.type === RegType.ReportVolatile)).toBe(true);
    expect(p.warnings).toEqual([]);
  });

  it('its slow-start variant compiles', () => {
    const p = compile(`(def (Report (volatile loss 0)))
      (when true (:= Cwnd (+ Cwnd Ack.bytes_acked)) (:= Report.loss Ack.lost_pkts_sample) (fallthrough))
      (when (> Report.loss 0) (report))`);
    expect(p.events).toHaveLength(2);
  });
});

describe('disassemble', () => {
  it('lists instructions with event markers and variable names', () => {
    const p = compile('(def (Report.foo 0)) (when true (:= Report.foo 4))');
    expect(disassemble(p)).toBe(
      ['0  DEF report-nonvolatile#0 <- 0  ; Report.foo', '; when #0 condition (1)', '1  BIND eventFlag <- 1', '; when #0 body (1)', '2  BIND report#0 <- 4'].join('\n'),
    );
  });
  it('lists a bare CompiledProgram, including unknown register numbers', () => {
    const p: CompiledProgram = {
      events: [],
      instructions: [{ op: 0, res: { type: RegType.Implicit, index: 9 }, left: { type: RegType.Primitive, index: 99 }, right: { type: RegType.Local, index: 1 } }],
    };
    expect(disassemble(p)).toBe('0  ADD implicit#9 <- primitive#99, local#1');
  });
});
