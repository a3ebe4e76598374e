import { describe, expectTypeOf, it } from 'vitest';
import { applyPass, makeStack, select, subst, wrap, type Chunnel, type Conn, type Stack, type StackBottom, type StackTop } from '@bertha/core';

interface Msg {
  key: string;
  value: number;
}
declare const ser: Chunnel<Uint8Array, Msg, 'serialize'>;
declare const b64: Chunnel<string, Uint8Array, 'base64'>;
declare const rel: Chunnel<Uint8Array, Uint8Array, 'reliable'>;
declare const ord: Chunnel<Uint8Array, Uint8Array, 'ordered'>;
declare const tls: Chunnel<Uint8Array, Uint8Array, 'tls'>;
declare const local: Chunnel<Uint8Array, Uint8Array, 'maybe-local'>;
declare const fused: Chunnel<Uint8Array, Uint8Array, 'tls+local'>;
declare const wrongFused: Chunnel<string, Uint8Array, 'bad-fused'>;
declare const bytes: Conn<Uint8Array>;
declare const text: Conn<string>;

describe('makeStack', () => {
  it('infers the application and base types with no annotations', () => {
    const s = makeStack(ser, ord, rel);
    expectTypeOf<StackTop<typeof s>>().toEqualTypeOf<Msg>();
    expectTypeOf<StackBottom<typeof s>>().toEqualTypeOf<Uint8Array>();
    const s2 = makeStack(ser, b64);
    expectTypeOf<StackBottom<typeof s2>>().toEqualTypeOf<string>();
  });

  it('rejects adjacent Chunnels that do not fit, at the offending argument', () => {
    // @ts-expect-error 'base64' needs a Conn of string below it, 'reliable' offers Uint8Array
    makeStack(ser, b64, rel);
    // @ts-expect-error 'ordered' needs Uint8Array below, 'serialize' provides Msg
    makeStack(ord, ser);
  });

  it('types select branches and rejects branches of different shapes', () => {
    const s = makeStack(ser, select(ord, rel, { prefer: 'second' }), rel);
    expectTypeOf<StackTop<typeof s>>().toEqualTypeOf<Msg>();
    const nested = makeStack(ser, select(select(ord, rel), tls));
    expectTypeOf<StackBottom<typeof nested>>().toEqualTypeOf<Uint8Array>();
    // @ts-expect-error branches must have the same Inner and Outer
    select(ord, b64);
  });
});

describe('wrap', () => {
  it('returns a Conn of the top type over a Conn of the bottom type', () => {
    const s = makeStack(ser, rel);
    expectTypeOf(wrap(s, bytes)).resolves.toEqualTypeOf<Conn<Msg>>();
    // @ts-expect-error the base must carry Uint8Array
    void wrap(s, text);
  });

  it('refuses stacks with select', () => {
    const s = makeStack(ser, select(ord, rel));
    // @ts-expect-error negotiate stacks with select
    void wrap(s, bytes);
  });
});

describe('optimization passes', () => {
  it('rewrites the stack type, with wildcards, and is a no-op type when not matching', () => {
    const pass = subst(['*', 'tls', 'maybe-local', '*'], fused);
    const s = makeStack(ser, tls, local, rel);
    const out = applyPass(s, pass);
    expectTypeOf(out).toEqualTypeOf<Stack<readonly [typeof ser, typeof fused, typeof rel]>>();
    const untouched = applyPass(makeStack(ser, rel), pass);
    expectTypeOf(untouched).toEqualTypeOf<Stack<readonly [typeof ser, typeof rel]>>();
  });

  it('honours anchors', () => {
    const atEnd = subst(['*', 'reliable'], ord);
    expectTypeOf(applyPass(makeStack(ser, rel), atEnd)).toEqualTypeOf<Stack<readonly [typeof ser, typeof ord]>>();
    expectTypeOf(applyPass(makeStack(ser, rel, tls), atEnd)).toEqualTypeOf<Stack<readonly [typeof ser, typeof rel, typeof tls]>>();
  });

  it('rejects a replacement whose types do not fit', () => {
    const bad = subst(['*', 'tls', 'maybe-local', '*'], wrongFused);
    // @ts-expect-error 'bad-fused' needs string below
    applyPass(makeStack(ser, tls, local, rel), bad);
  });
});
