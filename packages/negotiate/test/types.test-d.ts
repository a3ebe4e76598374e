import { expectTypeOf, test } from 'vitest';
import { makeStack, mem, type Chunnel, type Conn } from '@bertha/core';
import { connect, listen } from '@bertha/negotiate';
import { layer, text } from './helpers.js';

test('connect and listen are typed from the stack', async () => {
  const stack = makeStack(text(), layer('tls'));
  const conn = await connect(stack, mem(), { name: 'x' });
  expectTypeOf(conn).toEqualTypeOf<Conn<string>>();
  const listener = await listen(stack, mem(), { name: 'x' });
  expectTypeOf(await listener.accept()).toEqualTypeOf<Conn<string>>();
});

test('a stack whose bottom does not take bytes is refused', async () => {
  const numbers = {} as Chunnel<number, string, 'numbers'>;
  // @ts-expect-error the bottom Chunnel must take Uint8Array
  await connect(makeStack(numbers), mem(), { name: 'x' });
});
