import { describe, expect, it } from 'vitest';
import { makeStack, mem, memNetwork, select, twoSided } from '@bertha/core';
import { connect, listen, memoryPickCache } from '@bertha/negotiate';
import { echo, layer, recvWithin, text } from './helpers.js';

describe('many clients', () => {
  it('negotiates 1,000 concurrent connections with one listener', async () => {
    const t = mem(memNetwork());
    const enc = (l: string) => twoSided('encryption', l);
    const stack = makeStack(text(), select(layer('plain', [enc('none')]), layer('tls', [enc('tls')])));
    const server = await listen(stack, t, { name: 'busy' });
    void echo(server);
    const cache = memoryPickCache();
    const conns = await Promise.all(Array.from({ length: 1000 }, () => connect(stack, t, server.address, { cache })));
    await Promise.all(
      conns.map(async (c, i) => {
        await c.send(`#${i}`);
        expect(await recvWithin(c, 10_000)).toBe(`#${i}`);
      }),
    );
    expect(server.stats.oneRtt).toBe(1000);
    await Promise.all(conns.map((c) => c.close()));
    await server.close();
  });
});
