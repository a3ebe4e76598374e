import { unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { serialize, twoSided } from '@bertha/core';
import { bytes, memPair, wrapBoth } from './pair.js';

interface Point {
  x: number;
  label: string;
  tags: string[];
}

const isPoint = (v: unknown): v is Point => typeof v === 'object' && v !== null && typeof (v as Point).x === 'number';

describe('serialize()', () => {
  it('declares the msgpack serialization capability', () => {
    const c = serialize();
    expect(c.name).toBe('serialize');
    expect(c.capabilities()).toEqual([twoSided('serialization', 'msgpack')]);
  });

  it('round-trips values and batches', async () => {
    const pair = await memPair();
    const [a, b] = await wrapBoth(serialize<Point>(), pair.client, pair.server);
    const p1 = { x: 1, label: 'one', tags: ['a'] };
    const p2 = { x: 2.5, label: 'zwei', tags: [] };
    await a.send(p1);
    await a.sendBatch([p2, p1]);
    expect(await b.recv()).toEqual(p1);
    expect(await b.recvBatch(10)).toEqual([p2, p1]);
    await pair.close();
  });

  it('writes plain MessagePack any decoder reads', async () => {
    const pair = await memPair();
    const a = await serialize<{ k: string; n: number[] }>().connectWrap(pair.client, { role: 'client' });
    await a.send({ k: 'v', n: [1, 2, 3] });
    expect(unpack(await pair.server.recv())).toEqual({ k: 'v', n: [1, 2, 3] });
    await pair.close();
  });

  it('drops and counts bytes that do not decode or do not validate', async () => {
    const pair = await memPair();
    const b = await serialize<Point>({ validate: isPoint }).connectWrap(pair.server, { role: 'server' });
    const a = await serialize<unknown>().connectWrap(pair.client, { role: 'client' });
    await pair.client.sendBatch([bytes(0xc1), bytes(0x92, 1), bytes(0xd9, 10, 65)]);
    await a.send({ y: 'not a point' });
    await a.send({ x: 7, label: 'ok', tags: [] });
    expect(await b.recv()).toEqual({ x: 7, label: 'ok', tags: [] });
    expect(b.stats.dropped).toBe(4);
    expect(b.stats.received).toBe(1);
    await pair.close();
  });
});
