import { describe, expect, it } from 'vitest';
import { base64, serialize } from '@bertha/core';
import { memPair, wrapBoth } from './pair.js';

describe('base64()', () => {
  it('carries bytes as base64 text over a text connection', async () => {
    const pair = await memPair();
    const [ta, tb] = await wrapBoth(serialize<string>(), pair.client, pair.server);
    const [a, b] = await wrapBoth(base64(), ta, tb);
    const payloads = [Uint8Array.from([0, 1, 2, 250, 255]), new Uint8Array(0), Uint8Array.from([9])];
    await a.sendBatch(payloads);
    const got = await b.recvBatch(10);
    expect(got.map((m) => [...m])).toEqual(payloads.map((m) => [...m]));

    await a.send(Uint8Array.from([104, 105]));
    expect(await tb.recv()).toBe('aGk=');
    await pair.close();
  });

  it('drops and counts text that is not valid base64', async () => {
    const pair = await memPair();
    const [ta, tb] = await wrapBoth(serialize<string>(), pair.client, pair.server);
    const b = await base64().connectWrap(tb, { role: 'server' });
    await ta.sendBatch(['not base64!', 'aGk', 'a=b=', 'aGk=']);
    expect([...(await b.recv())]).toEqual([104, 105]);
    expect(b.stats.dropped).toBe(3);
    await pair.close();
  });
});
