import { describe, expect, it } from 'vitest';
import { CcpError, CheckError, LimitError, ParseError } from '../../src/errors.js';
import { compile, MAX_NESTING } from '../../src/lang/index.js';

function failure(src: string): unknown {
  try {
    compile(src);
  } catch (err) {
    return err;
  }
  throw new Error(`expected ${JSON.stringify(src)} to be rejected`);
}

type Case = [source: string, line: number, column: number, message: RegExp];

function expectPositioned(Cls: typeof ParseError | typeof CheckError, cases: Case[]): void {
  for (const [src, line, column, message] of cases) {
    it(`${JSON.stringify(src)} → ${line}:${column} ${String(message)}`, () => {
      const err = failure(src);
      expect(err).toBeInstanceOf(Cls);
      const e = err as ParseError | CheckError;
      expect(e.pos).toEqual({ line, column });
      expect(e.message.startsWith(`${line}:${column}: `)).toBe(true);
      expect(e.message).toMatch(message);
      expect(e.code).toBe(Cls === ParseError ? 'ERR_CCP_PARSE' : 'ERR_CCP_CHECK');
    });
  }
}

describe('ParseError with line:column', () => {
  expectPositioned(ParseError, [
    ['(when true (report))', 1, 1, /starts with \(def/],
    ['  \n(def\n  (x 1)\n', 2, 1, /never closed/],
    ['(def)\n(when true (report)', 2, 1, /never closed/],
    ['(def)\n(when true (foo 1 2))', 2, 13, /unknown operator 'foo'/],
    ['(def) (when true\n   (reset))', 2, 4, /\(reset\).*\(:= Micros 0\)/],
    ['(def) (when true (+ 1 2 3))', 1, 25, /exactly two operands/],
    ['(def (x 4294967296)) (when true (report))', 1, 9, /does not fit the 32-bit immediate/],
    ['(def (when 0)) (when true (report))', 1, 7, /reserved word/],
    ['(def) (when true + 1)', 1, 18, /must come right after '\('/],
    ['(def) (when true)', 1, 7, /at least one body expression/],
    ['(def (x 0))', 1, 12, /at least one \(when/],
    ['(def) (when true (report)))', 1, 27, /expected '\(when …\)', found '\)'/],
    ['(def) (when true (:= 1abc 2))', 1, 22, /not a valid name/],
    ['(def) (when true (:= a..b 2))', 1, 22, /not a valid name/],
    ['(def) (when true (:= __x 2))', 1, 22, /reserved/],
    ['(def (Report (Report.x 0))) (when true (report))', 1, 15, /prefix is added for you/],
    ['(def (Report (a 0)) (Report (b 0))) (when true (report))', 1, 21, /only one \(Report …\) block/],
    ['(def (Report)) (when true (report))', 1, 6, /at least one declaration/],
    ['(def) (when true (report 1))', 1, 26, /takes no arguments/],
    ['(def (x)) (when true (report))', 1, 8, /initial value of 'x'/],
    ['(def (x y)) (when true (report))', 1, 9, /initial value of 'x'/],
    ['(def) (def) (when true (report))', 1, 8, /only once/],
    ['(def) (when true (when true 1))', 1, 19, /only allowed at top level/],
    ['(def) (when true ())', 1, 19, /expected an operator/],
  ]);

  it(`rejects expressions nested deeper than ${MAX_NESTING} levels without exhausting the stack`, () => {
    const depth = 100_000;
    const err = failure(`(def) (when true ${'(+ 1 '.repeat(depth)}1${')'.repeat(depth)})`);
    expect(err).toBeInstanceOf(ParseError);
    expect((err as ParseError).message).toMatch(/nested deeper than 32 levels/);
  });
});

describe('CheckError with line:column', () => {
  expectPositioned(CheckError, [
    ['(def)\n(when (> Ack.bytes_ackd 0) (report))', 2, 10, /unknown name 'Ack.bytes_ackd': did you mean 'Ack.bytes_acked'\?/],
    ['(def) (when true (:= x (+ y 1)))', 1, 27, /unknown name 'y'.*assigned before it is read/],
    ['(def) (when true (:= x (+ x 1)))', 1, 27, /unknown name 'x'/],
    ['(def) (when true (:= Ack.now 1))', 1, 22, /cannot assign to 'Ack.now': primitives are read-only/],
    ['(def) (when true (:= 5 1))', 1, 22, /can only assign to a variable, not to 5/],
    ['(def) (when true (:= x (+ Flow.was_timeout 1)))', 1, 27, /'\+' takes Num operands, but Flow.was_timeout is Bool/],
    ['(def) (when (&& 1 true) (report))', 1, 17, /'&&' takes Bool operands, but 1 is Num/],
    ['(def) (when (> true 1) (report))', 1, 16, /'>' takes Num operands/],
    ['(def (Report (x 0))) (when true (:= Report.x true))', 1, 46, /cannot assign true \(Bool\) to 'Report.x' \(Num\)/],
    ['(def) (when true (:= a 1) (:= a false))', 1, 33, /cannot assign false \(Bool\) to 'a' \(Num\)/],
    ['(def) (when true (:= a (if true 1)))', 1, 24, /'if' is allowed only as the direct right side.*'a' is a new local/],
    ['(def (Report (x 0))) (when true (:= Report.x (+ (if true 1) 2)))', 1, 49, /'if' is allowed only as the direct right side/],
    ['(def) (when true (:= Cwnd (ewma 2 3)))', 1, 27, /'ewma' is allowed only.*built-in variable/],
    ['(def) (when (!if true true) (report))', 1, 13, /'!if' is allowed only/],
    ['(def)\n(when Ack.bytes_acked (report))', 2, 7, /when condition must be Bool, but Ack.bytes_acked is Num/],
    ['(def) (when 1 (report))', 1, 13, /must be Bool/],
    ['(def (Report (x 0))) (when true (:= Report.y 1))', 1, 37, /'Report.y' is not declared.*Did you mean 'Report.x'\?/],
    ['(def) (when true (:= Ack.foo 1))', 1, 22, /unknown primitive 'Ack.foo'/],
    ['(def (x 0) (x 1)) (when true (report))', 1, 13, /'x' is declared twice \(first at 1:7\)/],
    ['(def (Report (x 0)) (Report.x 1)) (when true (report))', 1, 22, /'Report.x' is declared twice/],
    ['(def (Cwnd 0)) (when true (report))', 1, 7, /built-in variable/],
    ['(def (Ack.mine 0)) (when true (report))', 1, 7, /reserved for primitives/],
    ['(def) (when (> (:= a 1) 0) (report))', 1, 16, /assignment \(:= …\) is a statement/],
    ['(def) (when true (:= a (:= b 1)))', 1, 24, /assignment \(:= …\) is a statement/],
    ['(def) (when (report) (report))', 1, 13, /\(report\) is a statement/],
    ['(def) (when true (:= a (fallthrough)))', 1, 24, /\(fallthrough\) is a statement/],
    ['(def (Report (x 0))) (when true (:= Report.x (ewma 11 1)))', 1, 52, /ewma weight 11 is above 10/],
    ['(def (Report (b false))) (when true (:= Report.b (if true 5)))', 1, 59, /cannot assign 5 \(Num\) to 'Report.b' \(Bool\)/],
    ['(def (Report (b false))) (when true (:= Report.b (ewma 1 5)))', 1, 50, /ewma yields a Num, but 'Report.b' is Bool/],
  ]);
});

describe('LimitError naming the limit', () => {
  const limitCases: Array<[string, string, RegExp]> = [
    ['9 tmps in one body expression', `(def (Report (x 0))) (when true (:= Report.x ${'(+ 1 '.repeat(9)}1${')'.repeat(9)}))`, /needs 9 tmp registers.*maxTmpRegisters/],
    ['9 locals', `(def) (when true ${Array.from({ length: 9 }, (_, i) => `(:= l${i} ${i})`).join(' ')})`, /9 local variables.*maxLocalRegisters/],
    ['111 Report variables', `(def (Report ${Array.from({ length: 111 }, (_, i) => `(r${i} 0)`).join(' ')})) (when true (report))`, /111 Report variables.*maxReportRegisters/],
    ['111 controls', `(def ${Array.from({ length: 111 }, (_, i) => `(c${i} 0)`).join(' ')}) (when true (report))`, /111 control variables.*maxControlRegisters/],
    ['256 instructions', `(def) (when true ${'(:= Micros 0) '.repeat(255)})`, /256 instructions.*maxInstructions/],
    ['257 events', `(def) ${'(when true (report)) '.repeat(257)}`, /257 when clauses.*maxEvents/],
  ];
  for (const [what, src, message] of limitCases) {
    it(`rejects ${what}`, () => {
      const err = failure(src);
      expect(err).toBeInstanceOf(LimitError);
      expect((err as LimitError).code).toBe('ERR_CCP_LIMIT');
      expect((err as LimitError).message).toMatch(message);
    });
  }

  it('accepts programs exactly at the limits', () => {
    expect(compile(`(def (Report (x 0))) (when true (:= Report.x ${'(+ 1 '.repeat(8)}1${')'.repeat(8)}))`).instructions).toHaveLength(11);
    expect(compile(`(def) (when true ${Array.from({ length: 8 }, (_, i) => `(:= l${i} ${i})`).join(' ')})`).instructions).toHaveLength(9);
    expect(compile(`(def (Report ${Array.from({ length: 110 }, (_, i) => `(r${i} 0)`).join(' ')})) (when true (report))`).reports).toHaveLength(110);
    expect(compile(`(def) (when true ${'(:= Micros 0) '.repeat(254)})`).instructions).toHaveLength(255);
    expect(compile(`(def) ${'(when true (fallthrough)) '.repeat(127)}`).events).toHaveLength(127);
  });

  it("does not count the condition's last operator as a tmp (it writes eventFlag)", () => {
    const p = compile(`(def) (when (> ${'(+ 1 '.repeat(8)}1${')'.repeat(8)} 0) (report))`);
    expect(p.instructions).toHaveLength(10);
  });
});

describe('warnings', () => {
  it('flags a new local that looks like a typo of a known name', () => {
    const cases: Array<[string, string, number]> = [
      ['(def (Report (acked 0))) (when true (:= acked 1))', 'Report.acked', 41],
      ['(def (gain 1)) (when true (:= gian 2))', 'gain', 31],
      ['(def) (when true (:= rate 5))', 'Rate', 22],
      ['(def) (when true (:= micros 0))', 'Micros', 22],
    ];
    for (const [src, meant, column] of cases) {
      const { warnings } = compile(src);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ code: 'possible-typo', pos: { line: 1, column } });
      expect(warnings[0]!.message).toContain(`did you mean '${meant}'?`);
    }
  });
  it('does not flag ordinary locals', () => {
    expect(compile('(def (gain 1) (Report (rtt 0))) (when true (:= count 1) (:= x 2) (:= rtt_sum 3))').warnings).toEqual([]);
  });
  it('flags division by the literal 0', () => {
    expect(compile('(def) (when true (:= a (/ 4 0)))').warnings).toMatchObject([{ code: 'division-by-zero', pos: { line: 1, column: 29 } }]);
  });
});

describe('error classes', () => {
  it('are CcpErrors with stable codes', () => {
    for (const src of ['(', '(def) (when true (:= Ack.now 1))', `(def) ${'(when true (report)) '.repeat(300)}`]) {
      const err = failure(src);
      expect(err).toBeInstanceOf(CcpError);
      expect((err as CcpError).code).toMatch(/^ERR_CCP_(PARSE|CHECK|LIMIT)$/);
    }
  });
});
