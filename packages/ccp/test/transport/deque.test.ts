import { describe, expect, it } from 'vitest';
import { Deque } from '../../src/transport/deque.js';

describe('Deque', () => {
  it('takes from both ends and stays consistent as it grows', () => {
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
    expect(d.peek()).toBeUndefined();
    d.push(7);
    expect(d.peek()).toBe(7);
  });

  it('keeps order when the ring wraps around and then grows', () => {
    const d = new Deque<number>();
    let next = 0;
    let expected = 0;
    // A steady queue of 10 wraps the 16-slot ring many times; then it grows past it while wrapped.
    for (let i = 0; i < 10; i++) d.push(next++);
    for (let i = 0; i < 100; i++) {
      d.push(next++);
      expect(d.shift()).toBe(expected++);
    }
    for (let i = 0; i < 50; i++) d.push(next++);
    expect(d.size).toBe(next - expected);
    for (let i = 0; i < d.size; i++) expect(d.at(i)).toBe(expected + i);
    d.clear();
    expect(d.size).toBe(0);
    d.push(1);
    expect(d.pop()).toBe(1);
  });
});
