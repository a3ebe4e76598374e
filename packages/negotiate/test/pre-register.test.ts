import { describe, expect, it } from 'vitest';
import { makeStack, mem, memNetwork, twoSided, udp } from '@bertha/core';
import { NegotiationError, connect, listen, memoryPickCache, negotiated, preRegister } from '@bertha/negotiate';
import { layer, recvWithin, text } from './helpers.js';

const stack = makeStack(text(), layer('tls', [twoSided('encryption', 'tls')]));

describe('third-party pre-registration', () => {
  it('lets a registered peer skip negotiation (registration after its first data)', async () => {
    const t = mem(memNetwork());
    const canonical = await listen(stack, t, { name: 'canonical' });
    const shard = await listen(stack, t, { name: 'shard-1' });
    const first = await connect(stack, t, canonical.address, { cache: memoryPickCache() });
    const pick = negotiated(await canonical.accept())!.pick;

    const direct = await connect(stack, t, shard.address, { pick: negotiated(first)!.pick });
    expect(negotiated(direct)!.mode).toBe('pre-registered');
    await direct.send('to the shard');
    await preRegister(t, shard.address, { peer: { name: negotiated(direct)!.local.slice('mem:'.length) }, pick });
    const accepted = await shard.accept();
    expect(negotiated(accepted)).toMatchObject({ mode: 'pre-registered', stack: ['text', 'tls'] });
    expect(await recvWithin(accepted)).toBe('to the shard');
    await accepted.send('from the shard');
    expect(await recvWithin(direct)).toBe('from the shard');
    expect(shard.stats).toMatchObject({ preRegistrations: 1, preRegistered: 1, oneRtt: 0 });
    await Promise.all([first.close(), direct.close(), canonical.close(), shard.close()]);
  });

  it('registers ahead of the connection over UDP', async () => {
    const t = udp();
    const shard = await listen(stack, t, { host: '127.0.0.1', port: 0 });
    const helper = await listen(stack, t, { host: '127.0.0.1', port: 0 });
    const viaHelper = await connect(stack, t, helper.address, { cache: memoryPickCache() });
    const pick = negotiated(viaHelper)!.pick;
    // A raw socket stands for the peer, so its address is known before it sends.
    const peerConn = await t.connect(shard.address);
    await preRegister(t, shard.address, { peer: peerConn.local, pick });
    await peerConn.send(Uint8Array.of(0, ...new TextEncoder().encode('hi'), 0));
    const accepted = await shard.accept();
    expect(negotiated(accepted)!.mode).toBe('pre-registered');
    await Promise.all([viaHelper.close(), peerConn.close(), helper.close(), shard.close()]);
  });

  it('is refused for a pick the server stack cannot run', async () => {
    const t = mem(memNetwork());
    const other = makeStack(text(), layer('plain', [twoSided('encryption', 'none')]));
    const a = await listen(other, t, { name: 'a' });
    const b = await listen(stack, t, { name: 'b' });
    const c = await connect(other, t, a.address, { cache: memoryPickCache() });
    const err = await preRegister(t, b.address, { peer: { name: 'someone' }, pick: negotiated(c)!.pick }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NegotiationError);
    expect((err as NegotiationError).code).toBe('ERR_NEGOTIATION_REJECTED');
    expect((err as Error).message).toMatch(/stack changed/);
    await Promise.all([c.close(), a.close(), b.close()]);
  });
});
