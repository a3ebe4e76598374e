/**
 * The negotiation behaviour every base transport must show; run by
 * udp/tcp/unix/mem.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { makeStack, select, twoSided, type Transport } from '@bertha/core';
import { NegotiationError, confirmed, connect, listen, memoryPickCache, negotiated, type NegotiatedListener } from '@bertha/negotiate';
import { echo, layer, recvWithin, text } from './helpers.js';

const enc = (label: string) => twoSided('encryption', label);

export function negotiationSuite<A>(name: string, base: () => Transport<A>, addr: () => A): void {
  describe(`negotiation over ${name}`, () => {
    const open: Array<NegotiatedListener<unknown, A>> = [];
    afterEach(async () => {
      await Promise.all(open.splice(0).map((l) => l.close()));
    });
    const serve = async <L extends NegotiatedListener<unknown, A>>(l: Promise<L>): Promise<L> => {
      const listener = await l;
      open.push(listener);
      void echo(listener);
      return listener;
    };

    it('negotiates a compatible stack, echoes, and tells both sides how', async () => {
      const t = base();
      const server = await serve(listen(makeStack(text(), layer('tls', [enc('tls')])), t, addr()));
      const client = makeStack(text(), select(layer('plain', [enc('none')]), layer('tls', [enc('tls')])));
      const conn = await connect(client, t, server.address, { cache: memoryPickCache() });
      await conn.send('hello');
      expect(await recvWithin(conn)).toBe('hello');
      const n = negotiated(conn)!;
      expect(n.mode).toBe('1-rtt');
      expect(n.stack).toEqual(['text', 'tls']);
      expect(n.decisions).toHaveLength(1);
      expect(n.decisions[0]).toMatchObject({ side: 'client', taken: 'tls', rejected: 'plain', preferred: false });
      expect(n.decisions[0]!.reason).toMatch(/encryption/);
      await conn.close();
      expect(server.stats.oneRtt).toBe(1);
    });

    it('fails on both sides for incompatible stacks, naming what did not match, and keeps serving', async () => {
      const t = base();
      const errors: Error[] = [];
      const server = await serve(listen(makeStack(text(), layer('tls', [enc('tls')])), t, addr(), { onError: (e) => errors.push(e) }));
      const bad = makeStack(text(), layer('plain', [enc('none')]));
      const err = await connect(bad, t, server.address, { cache: memoryPickCache() }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NegotiationError);
      expect((err as NegotiationError).code).toBe('ERR_NEGOTIATION_INCOMPATIBLE');
      expect((err as Error).message).toMatch(/encryption.*tls@1.*plain@1/);
      expect((err as NegotiationError).incompatibilities[0]).toMatchObject({ type: 'encryption', local: { labels: ['tls'] }, remote: { labels: ['none'] } });
      await expect.poll(() => errors.length).toBe(1);
      expect((errors[0] as NegotiationError).code).toBe('ERR_NEGOTIATION_INCOMPATIBLE');
      expect(server.stats.incompatible).toBe(1);

      const good = await connect(makeStack(text(), layer('tls', [enc('tls')])), t, server.address, { cache: memoryPickCache() });
      await good.send('still here');
      expect(await recvWithin(good)).toBe('still here');
      await good.close();
    });

    it('0-RTT: reuses a cached pick, data flows at once, the server acknowledges', async () => {
      const t = base();
      const stack = makeStack(text(), select(layer('plain', [enc('none')]), layer('tls', [enc('tls')])));
      const server = await serve(listen(stack, t, addr()));
      const cache = memoryPickCache();
      const first = await connect(stack, t, server.address, { cache });
      await first.close();
      const conn = await connect(stack, t, server.address, { cache, zeroRtt: true });
      await conn.send('early');
      expect(await recvWithin(conn)).toBe('early');
      expect((await confirmed(conn)).mode).toBe('0-rtt');
      expect(negotiated(conn)).toMatchObject({ mode: '0-rtt', stack: ['text', 'plain'], rejections: 0 });
      await conn.close();
      expect(server.stats.zeroRtt).toBe(1);
    });

    it('0-RTT rejected (the server stack changed): re-negotiates and re-sends the early data once', async () => {
      const t = base();
      const cache = memoryPickCache();
      const clientStack = makeStack(text(), select(layer('plain', [enc('none')]), layer('tls', [enc('tls')])));
      const before = await serve(listen(makeStack(text(), select(layer('plain', [enc('none')]), layer('tls', [enc('tls')]))), t, addr()));
      const where = before.address;
      await (await connect(clientStack, t, where, { cache })).close();
      await before.close();

      const after = await listen(makeStack(text(), layer('tls', [enc('tls')])), t, where);
      open.push(after);
      const conn = await connect(clientStack, t, where, { cache, zeroRtt: true });
      expect(negotiated(conn)!.stack).toEqual(['text', 'plain']);
      await conn.sendBatch(['one', 'two']);
      await conn.send('three');
      const accepted = await after.accept();
      const got: string[] = [];
      for (let i = 0; i < 3; i++) got.push(await recvWithin(accepted));
      expect(got).toEqual(['one', 'two', 'three']);
      const n = await confirmed(conn);
      expect(n).toMatchObject({ mode: '0-rtt', stack: ['text', 'tls'], rejections: 1 });
      expect(negotiated(accepted)!.stack).toEqual(['text', 'tls']);
      expect(after.stats.rejected).toBe(1);
      await accepted.send('back');
      expect(await recvWithin(conn)).toBe('back');
      // Nothing from the rejected attempt reaches the application twice.
      await expect(accepted.recv({ signal: AbortSignal.timeout(100) })).rejects.toThrow();
      await conn.close();
    });

    it('0-RTT rejected for a stack that no longer fits: every call reports the error', async () => {
      const t = base();
      const cache = memoryPickCache();
      const clientStack = makeStack(text(), layer('plain', [enc('none')]));
      const before = await serve(listen(clientStack, t, addr()));
      const where = before.address;
      await (await connect(clientStack, t, where, { cache })).close();
      await before.close();
      const errors: Error[] = [];
      const after = await serve(listen(makeStack(text(), layer('tls', [enc('tls')])), t, where, { onError: (e) => errors.push(e) }));
      const conn = await connect(clientStack, t, where, { cache, zeroRtt: true });
      await conn.send('lost').catch(() => undefined);
      const err = await confirmed(conn).catch((e: unknown) => e);
      expect((err as NegotiationError).code).toBe('ERR_NEGOTIATION_INCOMPATIBLE');
      await expect(conn.send('more')).rejects.toMatchObject({ code: 'ERR_NEGOTIATION_INCOMPATIBLE' });
      await expect(conn.recv()).rejects.toMatchObject({ code: 'ERR_NEGOTIATION_INCOMPATIBLE' });
      await expect.poll(() => errors.length).toBe(1);
      expect(after.stats.rejected).toBe(1);
      expect(after.stats.incompatible).toBe(1);
    });
  });
}
