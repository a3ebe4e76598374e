import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createConnection, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { makeStack, mem, memNetwork, tcp, twoSided, udp, type Transport } from '@bertha/core';
import { NegotiationError, connect, listen, memoryPickCache } from '@bertha/negotiate';
import { Packr } from 'msgpackr';
import { MAGIC, TAG_DATA } from '../src/wire.js';
import { echo, layer, recvWithin, text } from './helpers.js';

const stack = makeStack(text(), layer('tls', [twoSided('encryption', 'tls')]));
const packr = new Packr({ useRecords: false });
/** A negotiation message of `kind` (wire version `version`) with `body` packed as it is. */
const neg = (kind: number, body: unknown, version = 2): Uint8Array => {
  const packed = body === undefined ? new Uint8Array(0) : packr.pack(body);
  const head = Buffer.alloc(12 + (kind === 4 ? 12 : 0));
  head.writeUInt8(MAGIC, 0);
  head.writeUInt8(version, 1);
  head.writeUInt8(kind, 2);
  head.writeUInt32BE(1, 4);
  head.writeUInt32BE(packed.byteLength, 8);
  return Buffer.concat([head, packed]);
};

describe('malformed negotiation packets', () => {
  it('are dropped and counted on datagram transports; the listener keeps serving', async () => {
    const t = mem(memNetwork());
    const server = await listen(stack, t, { name: 'junk' });
    void echo(server);
    const raw = await t.connect(server.address);
    await raw.sendBatch([
      new Uint8Array(0),
      Uint8Array.of(0x7f, 1, 2, 3),
      Uint8Array.of(MAGIC),
      Uint8Array.of(MAGIC, 2, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0xc1),
      Uint8Array.of(MAGIC, 2, 1, 0, 0, 0, 0, 1, 0, 0, 0, 9, 0x92, 0x01),
      neg(1, { fingerprint: 'x', offers: [{ chunnels: [], choices: [] }] }, 1),
      neg(1, { fingerprint: 'x', offers: [] }),
      neg(1, { fingerprint: 'x', offers: [{ chunnels: [{ name: 5 }], choices: [] }] }),
      neg(4, { pick: {} }),
      neg(5, undefined),
      neg(2, 'just a string'),
      neg(99, {}),
    ]);
    await expect.poll(() => server.stats.malformed).toBe(12);
    const conn = await connect(stack, t, server.address, { cache: memoryPickCache() });
    await conn.send('ok');
    expect(await recvWithin(conn)).toBe('ok');
    await conn.close();
    await raw.close();
    await server.close();
  });

  it('close only that connection on stream transports', async () => {
    const t = tcp();
    const server = await listen(stack, t, { host: '127.0.0.1', port: 0 });
    void echo(server);
    const raw = await t.connect(server.address);
    await raw.send(Uint8Array.of(TAG_DATA, 1, 2, 3));
    await expect(raw.recv({ signal: AbortSignal.timeout(2000) })).rejects.toMatchObject({ code: 'ERR_CONN_CLOSED' });
    expect(server.stats.malformed).toBe(1);
    const conn = await connect(stack, t, server.address, { cache: memoryPickCache() });
    await conn.send('ok');
    expect(await recvWithin(conn)).toBe('ok');
    await conn.close();
    await server.close();
  });
});

describe('random bytes on a TCP listener', () => {
  it('are counted as malformed (or, when they read as a frame still to come, time out); the listener keeps serving', async () => {
    const t = tcp();
    const server = await listen(stack, t, { host: '127.0.0.1', port: 0 }, { timeoutMs: 500 });
    void echo(server);
    const sockets: Socket[] = [];
    await Promise.all(
      Array.from({ length: 200 }, async () => {
        const s = createConnection(server.address.port, server.address.host);
        s.on('error', () => undefined);
        sockets.push(s);
        await new Promise<void>((resolve) => s.once('connect', resolve));
        s.write(randomBytes(64));
      }),
    );
    // The first 4 bytes are a frame length: above the 64 MiB limit (most), or a frame whose rest never comes.
    await expect.poll(() => server.stats.malformed + server.stats.timedOut, { timeout: 20_000 }).toBe(200);
    expect(server.stats.malformed).toBeGreaterThan(150);
    const conn = await connect(stack, t, server.address, { cache: memoryPickCache() });
    await conn.send('ok');
    expect(await recvWithin(conn)).toBe('ok');
    await conn.close();
    for (const s of sockets) s.destroy();
    await server.close();
  }, 60_000);
});

describe('timeouts and cancellation', () => {
  it('retransmits with backoff, then gives up with ERR_NEGOTIATION_TIMEOUT', async () => {
    const t: Transport<{ name: string }> = mem(memNetwork());
    const silent = await t.listen({ name: 'silent' });
    const offers: number[] = [];
    void (async () => {
      const c = await silent.accept();
      for await (const m of c) offers.push(m.byteLength);
    })();
    const err = await connect(stack, t, silent.address, { timeoutMs: 300, retransmit: { initialMs: 20, maxMs: 80 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NegotiationError);
    expect((err as NegotiationError).code).toBe('ERR_NEGOTIATION_TIMEOUT');
    expect((err as Error).message).toMatch(/mem:silent within 300 ms/);
    // 20 + 40 + 80 + 80 … ms: a handful of sends, not one and not hundreds.
    expect(offers.length).toBeGreaterThanOrEqual(3);
    expect(offers.length).toBeLessThanOrEqual(8);
    await silent.close();
  });

  it('drops a peer that never negotiates after timeoutMs', async () => {
    const t = mem(memNetwork());
    const server = await listen(stack, t, { name: 'idle' }, { timeoutMs: 50 });
    const raw = await t.connect(server.address);
    await expect.poll(() => server.stats.timedOut).toBe(1);
    await expect(raw.recv({ signal: AbortSignal.timeout(2000) })).rejects.toMatchObject({ code: 'ERR_CONN_CLOSED' });
    await server.close();
  });

  it('times out only the UDP peers that never negotiated, not those answered on their first datagram', async () => {
    const t = udp();
    const server = await listen(stack, t, { host: '127.0.0.1', port: 0 }, { timeoutMs: 50 });
    void echo(server);
    const cache = memoryPickCache();
    const oneRtt = await connect(stack, t, server.address, { cache });
    const zeroRtt = await connect(stack, t, server.address, { cache, zeroRtt: true });
    const silent = await t.connect(server.address);
    await silent.send(Uint8Array.of(TAG_DATA, 1));
    await expect.poll(() => server.stats.timedOut).toBe(1);
    await new Promise((r) => setTimeout(r, 120));
    expect(server.stats).toMatchObject({ timedOut: 1, oneRtt: 1, zeroRtt: 1 });
    for (const c of [oneRtt, zeroRtt]) {
      await c.send('still here');
      expect(await recvWithin(c)).toBe('still here');
    }
    await Promise.all([oneRtt.close(), zeroRtt.close(), silent.close()]);
    await server.close();
  });

  it('honours an AbortSignal', async () => {
    const t = mem(memNetwork());
    const silent = await t.listen({ name: 'silent' });
    const ac = new AbortController();
    const pending = connect(stack, t, silent.address, { signal: ac.signal });
    ac.abort();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    await silent.close();
  });
});

describe('a short-lived process', () => {
  it('exits once its negotiated connections are closed: no timer is left holding it', () => {
    // With a 60 s negotiation timeout, a timer left referenced would outlive the 30 s the child gets.
    const script = `
      import { makeStack, noop, tcp } from '@bertha/core';
      import { connect, listen } from '@bertha/negotiate';
      const stack = makeStack(noop());
      const l = await listen(stack, tcp(), { host: '127.0.0.1', port: 0 }, { timeoutMs: 60_000 });
      const c = await connect(stack, tcp(), l.address, { timeoutMs: 60_000 });
      await c.close();
      await l.close();`;
    const root = fileURLToPath(new URL('../../..', import.meta.url));
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, timeout: 30_000, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.signal).toBeNull();
    expect(run.status).toBe(0);
  }, 40_000);
});
