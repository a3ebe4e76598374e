import { expectTypeOf, test } from 'vitest';
import { applyPass, makeStack, serialize, type SerializeChunnel, type Stack } from '@bertha/core';
import { maybeLocal, tls, type FusedTlsMaybeLocalChunnel, type MaybeLocalChunnel, type TlsChunnel } from '@bertha/chunnels-tls';
import { fuseTlsMaybeLocal } from '@bertha/chunnels-tls/passes';

test('the pass rewrites the stack type: [serialize, tls, maybe-local] → [serialize, tls+maybe-local]', () => {
  const stack = makeStack(serialize<{ id: number }>(), tls(), maybeLocal());
  expectTypeOf(stack).toEqualTypeOf<Stack<readonly [SerializeChunnel<{ id: number }>, TlsChunnel, MaybeLocalChunnel]>>();
  const fused = applyPass(stack, fuseTlsMaybeLocal);
  expectTypeOf(fused).toEqualTypeOf<Stack<readonly [SerializeChunnel<{ id: number }>, FusedTlsMaybeLocalChunnel]>>();
});

test('a stack without the pair is left as it is', () => {
  const stack = makeStack(serialize<string>(), tls());
  expectTypeOf(applyPass(stack, fuseTlsMaybeLocal)).toEqualTypeOf<Stack<readonly [SerializeChunnel<string>, TlsChunnel]>>();
});

test('maybe-local above tls does not match: the pass needs tls directly above maybe-local', () => {
  const stack = makeStack(maybeLocal(), tls());
  expectTypeOf(applyPass(stack, fuseTlsMaybeLocal)).toEqualTypeOf<Stack<readonly [MaybeLocalChunnel, TlsChunnel]>>();
});
