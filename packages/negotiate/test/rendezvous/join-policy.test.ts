import { DecodeError, InvalidArgumentError, describeStack, makeStack, select, serialize } from '@bertha/core';
import { describe, expect, it } from 'vitest';
import { decodePick, encodePick, encodeStack } from '../../src/rendezvous/join-pick.js';
import { chooseVariant, numPeersAtMost } from '../../src/rendezvous/policy.js';
import { tag } from './join-helpers.js';

const names = (offers: ReturnType<typeof describeStack>, i: number) => offers[i]?.chunnels.map((c) => c.name);

describe('policies', () => {
  const nested = describeStack(makeStack(serialize<number>(), select(tag('a'), select(tag('b'), tag('c'), { prefer: 'second' })), select(tag('x'), tag('y'))));

  it('numPeersAtMost answers by participant count, both ways', () => {
    const p = numPeersAtMost(2, { then: 'a', otherwise: 'b' });
    expect([1, 2, 3, 10, 2].map(p)).toEqual(['a', 'a', 'b', 'b', 'a']);
    expect(() => numPeersAtMost(0, { then: 'a', otherwise: 'b' })).toThrow(InvalidArgumentError);
  });

  it('takes the stack preferences without a policy, and branch names or positions with one', () => {
    expect(names(nested, chooseVariant(nested, undefined))).toEqual(['serialize', 'a', 'x']);
    expect(names(nested, chooseVariant(nested, 'c'))).toEqual(['serialize', 'c', 'x']);
    // 'b' lives in a nested select: the outer one must take its second branch to reach it.
    expect(names(nested, chooseVariant(nested, 'b'))).toEqual(['serialize', 'b', 'x']);
    expect(names(nested, chooseVariant(nested, 'second'))).toEqual(['serialize', 'c', 'y']);
    expect(names(nested, chooseVariant(nested, [undefined, undefined, 'y']))).toEqual(['serialize', 'a', 'y']);
  });

  it('rejects branches the stack does not offer, saying which', () => {
    expect(() => chooseVariant(nested, 'z')).toThrow(/no select of the stack offers a branch named 'z'/);
    expect(() => chooseVariant(nested, [undefined, undefined, 'a'])).toThrow(/select 2 \(x\|y\) has no branch named 'a'/);
    expect(() => chooseVariant(nested, ['a', 'b'])).toThrow(/exclude each other/);
  });
});

describe('picks', () => {
  const offer = describeStack(makeStack(serialize<number>(), tag('a')))[0]!;

  it('round-trips, with equal stack bytes for the same stack and any epoch', () => {
    const stack = encodeStack(offer);
    const d = decodePick(encodePick(stack, 0xdeadbeef));
    expect(d.epoch).toBe(0xdeadbeef);
    expect(Buffer.from(d.stack)).toEqual(Buffer.from(encodeStack(offer)));
    expect(d.offer.chunnels).toEqual(offer.chunnels);
    expect(Buffer.from(decodePick(encodePick(stack, 1)).stack)).toEqual(Buffer.from(stack));
  });

  it('refuses malformed picks with a DecodeError', () => {
    for (const bad of [new Uint8Array(), Uint8Array.of(2, 0, 0, 0, 0, 0x90), Uint8Array.of(1, 0, 0, 0, 0, 0xc1), Uint8Array.of(1, 0, 0, 0, 0, 0x92, 0x90, 0x90)]) {
      expect(() => decodePick(bad)).toThrow(DecodeError);
    }
  });
});
