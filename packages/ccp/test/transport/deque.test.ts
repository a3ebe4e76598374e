import { describe, expect, it } from 'vitest';
import { Deque } from '../../src/transport/deque.js';

describe('Deque', () => {
  it('takes from both ends and stays consistent across compaction', () => {
    const d = new Deque<number>();
    for (let i = 0; i < 10_000; i++) d.push(i);
    for (let i = 0; i < 9_000; i++) expect(d.shift()).toBe(i);
    expect(d.pop()).toBe(9_999);
    expect(d.size).toBe(999);
    expect(d.peek()).toBe(9_000);
    expect(d.at(998)).toBe(9_998);
    while (d.pop() !== undefined);
    expect(d.size).toBe(0);
    expect(d.shift()).toBeUndefined();
    d.push(7);
    expect(d.peek()).toBe(7);
  });
});
