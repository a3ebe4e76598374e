/**
 * The exact text `tsc` prints for a stack, select, pass or bottom that does
 * not fit: each snippet is compiled with the TypeScript compiler API under the
 * repository's tsconfig, and its diagnostics are compared word for word.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
const dir = mkdtempSync(join(tmpdir(), 'bertha-tsc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const header = `
import { applyPass, makeStack, mem, select, subst, wrap, type Chunnel, type Conn } from '@bertha/core';
import { connect } from '@bertha/negotiate';
declare const ser: Chunnel<Uint8Array, { a: string }, 'serialize'>;
declare const upper: Chunnel<{ a: number }, { b: boolean }, 'upper'>;
declare const b64: Chunnel<string, Uint8Array, 'base64'>;
declare const rel: Chunnel<Uint8Array, Uint8Array, 'reliable'>;
declare const ord: Chunnel<Uint8Array, Uint8Array, 'ordered'>;
declare const tls: Chunnel<Uint8Array, Uint8Array, 'tls'>;
declare const local: Chunnel<Uint8Array, Uint8Array, 'maybe-local'>;
declare const wrongFused: Chunnel<string, Uint8Array, 'bad-fused'>;
declare const numbers: Chunnel<number, string, 'numbers'>;
declare const bytes: Conn<Uint8Array>;
export {};
`;

const snippets = {
  stack: 'makeStack(ser, b64, rel);',
  stackObjects: 'makeStack(upper, ser);',
  stackSelect: 'makeStack(upper, select(ord, rel), rel);',
  select: 'select(ord, b64);',
  pass: `applyPass(makeStack(ser, tls, local, rel), subst(['*', 'tls', 'maybe-local', '*'], wrongFused));`,
  wrap: 'void wrap(makeStack(ser, select(ord, rel)), bytes);',
  bottom: `void connect(makeStack(numbers), mem(), { name: 'x' });`,
  fits: `void connect(makeStack(ser, select(ord, rel), rel), mem(), { name: 'x' });`,
};
type Snippet = keyof typeof snippets;

/** The first line of each diagnostic per snippet: one program compiles them all (.mts: ESM outside any package). */
function compileAll(): Record<Snippet, string[]> {
  const files = Object.entries(snippets).map(([name, code]) => {
    const file = join(dir, `${name}.mts`);
    writeFileSync(file, `${header}${code}\n`);
    return [name, file] as const;
  });
  const program = ts.createProgram(
    files.map(([, f]) => f),
    config.options,
  );
  return Object.fromEntries(
    files.map(([name, file]) => [
      name,
      ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n').split('\n')[0]!),
    ]),
  ) as Record<Snippet, string[]>;
}
let errors: Record<Snippet, string[]>;
beforeAll(() => {
  errors = compileAll();
}, 120_000);

describe('tsc prints the sentence at the argument that does not fit', () => {
  it('makeStack: names both Chunnels and both Conn types', () => {
    expect(errors.stack).toEqual([
      `Argument of type 'Chunnel<Uint8Array<ArrayBufferLike>, Uint8Array<ArrayBufferLike>, "reliable">' is not assignable to parameter of type '"bertha: 'base64' cannot sit on 'reliable': 'base64' needs a Conn of string below it, 'reliable' offers a Conn of Uint8Array"'.`,
    ]);
    expect(errors.stackObjects).toEqual([
      `Argument of type 'Chunnel<Uint8Array<ArrayBufferLike>, { a: string; }, "serialize">' is not assignable to parameter of type '"bertha: 'upper' cannot sit on 'serialize': 'upper' needs a Conn of { a: number } below it, 'serialize' offers a Conn of { a: string }"'.`,
    ]);
  });

  it('select: names both branches and their types', () => {
    expect(errors.select).toEqual([
      `Argument of type 'Chunnel<string, Uint8Array<ArrayBufferLike>, "base64">' is not assignable to parameter of type '"bertha: select('ordered', 'base64'): both branches must have the same Inner and Outer types; 'ordered' takes Uint8Array and offers Uint8Array, 'base64' takes string and offers Uint8Array"'.`,
    ]);
  });

  it('applyPass: names the replacement and both sides of the fit', () => {
    expect(errors.pass).toEqual([
      `Argument of type 'Pass<readonly ["*", "tls", "maybe-local", "*"], Chunnel<string, Uint8Array<ArrayBufferLike>, "bad-fused">>' is not assignable to parameter of type '"bertha: pass replacement 'bad-fused' does not fit where it goes: it takes string and offers Uint8Array, the Chunnels it replaces take Uint8Array and offer Uint8Array"'.`,
    ]);
  });

  it('wrap: refuses a stack with select', () => {
    expect(errors.wrap[0]).toMatch(
      /^Argument of type 'Stack<.*>' is not assignable to parameter of type '"bertha: wrap\(\) needs a stack without select: negotiate it with connect\(\)\/listen\(\) from @bertha\/negotiate, or pick a branch"'\.$/,
    );
  });

  it('connect: a bottom Chunnel that does not take bytes', () => {
    expect(errors.bottom).toEqual([
      `Argument of type 'Stack<readonly [Chunnel<number, string, "numbers">]>' is not assignable to parameter of type 'Stack<readonly [Chunnel<number, string, "numbers">]> & "bertha: the bottom Chunnel of the stack must take Uint8Array, the messages of a base connection; this one takes number"'.`,
    ]);
  });

  it('a select sits where its branches fit, names the select, and a stack that fits compiles clean', () => {
    expect(errors.stackSelect[0]).toMatch(
      /^Argument of type 'Select<.*>' is not assignable to parameter of type '"bertha: 'upper' cannot sit on 'select\(ordered\|reliable\)': 'upper' needs a Conn of \{ a: number \} below it, 'select\(ordered\|reliable\)' offers a Conn of Uint8Array"'\.$/,
    );
    expect(errors.fits).toEqual([]);
  });
});
