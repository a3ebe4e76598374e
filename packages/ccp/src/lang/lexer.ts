/**
 * Splits datapath-program source into parentheses and words. A word is a
 * maximal run of characters other than whitespace, parentheses and `#`; the
 * parser decides what a word means. `#` starts a comment that runs to the end
 * of the line, wherever it appears.
 */
import type { SourcePos } from '../errors.js';

export type TokenKind = 'open' | 'close' | 'word' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly pos: SourcePos;
}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c;
const OPEN = 0x28;
const CLOSE = 0x29;
const HASH = 0x23;
const NEWLINE = 0x0a;

/** Tokenizes the whole source; the last token is always `eof`. */
export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let lineStart = 0;
  let i = 0;
  const n = source.length;
  while (i < n) {
    const c = source.charCodeAt(i);
    if (c === NEWLINE) {
      i++;
      line++;
      lineStart = i;
    } else if (isSpace(c)) {
      i++;
    } else if (c === HASH) {
      while (i < n && source.charCodeAt(i) !== NEWLINE) i++;
    } else if (c === OPEN || c === CLOSE) {
      tokens.push({ kind: c === OPEN ? 'open' : 'close', text: source[i]!, pos: { line, column: i - lineStart + 1 } });
      i++;
    } else {
      const start = i;
      while (i < n) {
        const d = source.charCodeAt(i);
        if (isSpace(d) || d === OPEN || d === CLOSE || d === HASH) break;
        i++;
      }
      tokens.push({ kind: 'word', text: source.slice(start, i), pos: { line, column: start - lineStart + 1 } });
    }
  }
  tokens.push({ kind: 'eof', text: '', pos: { line, column: i - lineStart + 1 } });
  return tokens;
}
