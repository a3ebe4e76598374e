import { describe, expect, it } from 'vitest';
import { OPERATORS, parse, tokenize } from '../../src/lang/index.js';

describe('lexer', () => {
  it('splits words and parentheses, skips comments, tracks line:column', () => {
    const tokens = tokenize('(a #c (x)\n\t bc)');
    expect(tokens.map((t) => [t.kind, t.text, t.pos.line, t.pos.column])).toEqual([
      ['open', '(', 1, 1],
      ['word', 'a', 1, 2],
      ['word', 'bc', 2, 3],
      ['close', ')', 2, 5],
      ['eof', '', 2, 6],
    ]);
  });
  it('ends a word at a comment', () => {
    expect(tokenize('foo#bar\nbaz').map((t) => t.text)).toEqual(['foo', 'baz', '']);
  });
});

describe('parser', () => {
  it('builds the AST with positions, the Report prefix and normalised operators', () => {
    const ast = parse(`(def (gain 3) (Report (volatile rtt +infinity)))
(when (and true Flow.was_timeout)
  (bind Report.rtt (ewma 2 Flow.rtt_sample_us))
  (report))`);
    expect(ast.decls).toEqual([
      { name: 'gain', volatile: false, init: { type: 'literal', literal: { kind: 'num', value: 3 }, text: '3', pos: { line: 1, column: 12 } }, inReportBlock: false, pos: { line: 1, column: 6 }, namePos: { line: 1, column: 7 } },
      {
        name: 'Report.rtt',
        volatile: true,
        init: { type: 'literal', literal: { kind: 'num', value: 0xffff_ffff }, text: '+infinity', pos: { line: 1, column: 37 } },
        inReportBlock: true,
        pos: { line: 1, column: 23 },
        namePos: { line: 1, column: 33 },
      },
    ]);
    const [ev] = ast.events;
    expect(ev!.pos).toEqual({ line: 2, column: 1 });
    expect(ev!.condition).toMatchObject({ type: 'binary', op: '&&', opText: 'and', pos: { line: 2, column: 7 } });
    expect(ev!.body[0]).toMatchObject({
      type: 'binary',
      op: ':=',
      left: { type: 'name', name: 'Report.rtt', pos: { line: 3, column: 9 } },
      right: { type: 'binary', op: 'ewma', left: { literal: { value: 2 } }, pos: { line: 3, column: 20 } },
    });
    expect(ev!.body[1]).toEqual({ type: 'command', command: 'report', pos: { line: 4, column: 3 } });
  });

  it('knows every operator spelling of the spec', () => {
    const words = ['+', '-', '*', '/', '==', '>', '<', 'max', 'min', 'wrapped_max', '&&', '||', ':=', 'if', '!if', 'ewma'];
    const wordForms = { add: '+', sub: '-', mul: '*', div: '/', eq: '==', gt: '>', lt: '<', and: '&&', or: '||', bind: ':=' };
    for (const w of words) expect(OPERATORS.get(w)).toBe(w);
    for (const [w, op] of Object.entries(wordForms)) expect(OPERATORS.get(w)).toBe(op);
    expect(OPERATORS.size).toBe(words.length + Object.keys(wordForms).length);
  });

  it('accepts an empty def and Report.* declared outside the block', () => {
    expect(parse('(def) (when true (report))').decls).toEqual([]);
    expect(parse('(def (volatile Report.x 1)) (when true (report))').decls[0]).toMatchObject({ name: 'Report.x', volatile: true, inReportBlock: false });
  });
});
