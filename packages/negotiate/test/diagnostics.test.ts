import { describe, expect, it } from 'vitest';
import { makeStack, mem, memNetwork, select, twoSided } from '@bertha/core';
import {
  connect,
  listen,
  memoryPickCache,
  NEGOTIATE_FAILURE,
  NEGOTIATE_PICK,
  NEGOTIATE_START,
  UNHANDLED_NEGOTIATION_FAILURE,
  type NegotiateFailureMessage,
  type NegotiatePickMessage,
  type NegotiateStartMessage,
} from '@bertha/negotiate';
import { heard, runScript } from '../../core/test/diagnostics/helpers.js';
import { echo, layer, text } from './helpers.js';

const enc = (label: string) => twoSided('encryption', label);
const server = () => makeStack(text(), layer('tls', [enc('tls')]));

describe('bertha:negotiate channels', () => {
  it('publish start and pick, with one id per negotiation, on both ends of a negotiation that succeeds', async () => {
    const starts = heard<NegotiateStartMessage>(NEGOTIATE_START);
    const picks = heard<NegotiatePickMessage>(NEGOTIATE_PICK);
    const failures = heard<NegotiateFailureMessage>(NEGOTIATE_FAILURE);
    const t = mem(memNetwork());
    const l = await listen(server(), t, { name: 'diag-ok' });
    void echo(l);
    const conn = await connect(makeStack(text(), select(layer('plain', [enc('none')]), layer('tls', [enc('tls')]))), t, l.address, { cache: memoryPickCache() });
    await expect.poll(() => picks.length).toBe(2);

    const client = starts.find((m) => m.role === 'client')!;
    const srv = starts.find((m) => m.role === 'server')!;
    expect(client).toEqual({ id: client.id, role: 'client', peer: 'mem:diag-ok' });
    expect(srv.peer).toMatch(/^mem:diag-ok~client-/);
    expect(client.id).not.toBe(srv.id);
    const clientPick = picks.find((m) => m.role === 'client')!;
    expect(clientPick).toMatchObject({ id: client.id, peer: 'mem:diag-ok', conn, negotiation: { mode: '1-rtt', stack: ['text', 'tls'] } });
    expect(clientPick.negotiation.decisions[0]).toMatchObject({ taken: 'tls', rejected: 'plain' });
    expect(picks.find((m) => m.role === 'server')).toMatchObject({ id: srv.id, peer: srv.peer, negotiation: { role: 'server', stack: ['text', 'tls'] } });
    expect(failures).toEqual([]);
    await conn.close();
    await l.close();
  });

  it('publish a failure on both ends for incompatible stacks, with the error each end has', async () => {
    const starts = heard<NegotiateStartMessage>(NEGOTIATE_START);
    const failures = heard<NegotiateFailureMessage>(NEGOTIATE_FAILURE);
    const picks = heard<NegotiatePickMessage>(NEGOTIATE_PICK);
    const t = mem(memNetwork());
    const errors: Error[] = [];
    const l = await listen(server(), t, { name: 'diag-bad' }, { onError: (e) => errors.push(e) });
    const err = await connect(makeStack(text(), layer('plain', [enc('none')])), t, l.address, { cache: memoryPickCache() }).catch((e: unknown) => e);
    await expect.poll(() => failures.length).toBe(2);
    const client = failures.find((m) => m.role === 'client')!;
    expect(client).toEqual({ id: starts.find((m) => m.role === 'client')!.id, role: 'client', peer: 'mem:diag-bad', error: err });
    const srv = failures.find((m) => m.role === 'server')!;
    expect(srv.id).toBe(starts.find((m) => m.role === 'server')!.id);
    expect(srv.error).toBe(errors[0]);
    expect(srv.error).toMatchObject({ code: 'ERR_NEGOTIATION_INCOMPATIBLE' });
    expect(picks).toEqual([]);
    await l.close();
  });

  it('publish a failure for a peer that sends no negotiation in time', async () => {
    const failures = heard<NegotiateFailureMessage>(NEGOTIATE_FAILURE);
    const t = mem(memNetwork());
    const l = await listen(server(), t, { name: 'diag-silent' }, { timeoutMs: 100 });
    const silent = await t.connect({ name: 'diag-silent' });
    await silent.send(new Uint8Array([0]));
    await expect.poll(() => failures[0], { timeout: 5_000 }).toMatchObject({ role: 'server', error: { code: 'ERR_NEGOTIATION_TIMEOUT' } });
    await silent.close();
    await l.close();
  });
});

describe('a listener without onError', () => {
  it('warns once, on its first failed negotiation, naming the option', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      const t = mem(memNetwork());
      const l = await listen(server(), t, { name: 'diag-warn' });
      for (let i = 0; i < 3; i++) {
        await expect(connect(makeStack(text(), layer('plain', [enc('none')])), t, l.address, { cache: memoryPickCache() })).rejects.toMatchObject({
          code: 'ERR_NEGOTIATION_INCOMPATIBLE',
        });
      }
      await expect.poll(() => l.stats.incompatible).toBe(3);
      // Warnings are emitted on the next tick.
      await new Promise((r) => setImmediate(r));
      const ours = warnings.filter((w) => (w as NodeJS.ErrnoException).code === UNHANDLED_NEGOTIATION_FAILURE);
      expect(ours).toHaveLength(1);
      expect(ours[0]!.message).toMatch(/no onError.*stacks cannot talk.*Pass listen\(stack, base, addr, \{ onError/);

      // A listener with onError does not warn.
      const quiet = await listen(server(), t, { name: 'diag-quiet' }, { onError: () => undefined });
      await expect(connect(makeStack(text(), layer('plain', [enc('none')])), t, quiet.address, { cache: memoryPickCache() })).rejects.toThrow();
      await expect.poll(() => quiet.stats.incompatible).toBe(1);
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => (w as NodeJS.ErrnoException).code === UNHANDLED_NEGOTIATION_FAILURE)).toHaveLength(1);
      await l.close();
      await quiet.close();
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('DEBUG=bertha:negotiate', () => {
  const script = `
    import { makeStack, noop, mem } from '@bertha/core';
    import { connect, listen } from '@bertha/negotiate';
    const stack = makeStack(noop());
    const l = await listen(stack, mem(), { name: 'logged' });
    const c = await connect(stack, mem(), l.address);
    await (await l.accept()).close();
    await c.close();
    await l.close();`;

  it('prints start and pick on both ends when DEBUG enables it, and nothing of other namespaces', () => {
    const { stderr, status } = runScript(script, { DEBUG: 'bertha:negotiate' });
    expect(status).toBe(0);
    expect(stderr).toMatch(/bertha:negotiate #\d+ client start with mem:logged\n/);
    expect(stderr).toMatch(/bertha:negotiate #\d+ server start with mem:logged~client-\d+/);
    expect(stderr).toMatch(/bertha:negotiate #\d+ client pick 1-rtt with mem:logged: \[noop\]/);
    expect(stderr).toMatch(/bertha:negotiate #\d+ server pick 1-rtt with mem:logged~client-\d+: \[noop\]/);
    expect(stderr).not.toMatch(/bertha:conn/);
  }, 40_000);

  it('prints nothing without DEBUG', () => {
    const { stderr, status } = runScript(script, {});
    expect(status).toBe(0);
    expect(stderr).toBe('');
  }, 40_000);
});
