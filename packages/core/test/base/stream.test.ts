import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AddressError, ConnClosedError, DecodeError, FrameDecoder, tcp, unix, type SocketAddress } from '@bertha/core';

function frame(payload: Uint8Array): Buffer {
  const b = Buffer.alloc(4 + payload.byteLength);
  b.writeUInt32BE(payload.byteLength, 0);
  b.set(payload, 4);
  return b;
}

/** Frames are compared as hex strings: deep equality over Buffers is slow. */
function collect(max = 1 << 20): { frames: string[]; decoder: FrameDecoder } {
  const frames: string[] = [];
  return { frames, decoder: new FrameDecoder(max, (f) => frames.push(Buffer.from(f).toString('hex'))) };
}

describe('FrameDecoder', () => {
  const payloads = [Buffer.from('hello'), Buffer.alloc(0), Buffer.alloc(300, 7), Buffer.from('x')];
  const stream = Buffer.concat(payloads.map(frame));
  const expected = payloads.map((p) => p.toString('hex'));

  it('decodes many frames from one chunk', () => {
    const { frames, decoder } = collect();
    decoder.push(stream);
    expect(frames).toEqual(expected);
  });

  it('decodes frames split at every byte', () => {
    const { frames, decoder } = collect();
    for (let i = 0; i < stream.length; i++) decoder.push(stream.subarray(i, i + 1));
    expect(frames).toEqual(expected);
  });

  it('decodes frames split at every possible point between two chunks', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const { frames, decoder } = collect();
      decoder.push(stream.subarray(0, cut));
      decoder.push(stream.subarray(cut));
      expect(frames).toEqual(expected);
    }
  });

  it('throws DecodeError on a frame over the limit', () => {
    const { frames, decoder } = collect(10);
    decoder.push(frame(Buffer.from('ok')));
    expect(() => decoder.push(frame(Buffer.alloc(11)))).toThrow(DecodeError);
    expect(frames).toEqual([Buffer.from('ok').toString('hex')]);
  });
});

async function rawTcp(addr: SocketAddress): Promise<Socket> {
  const s = netConnect({ host: addr.host, port: addr.port });
  await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
  return s;
}

describe('tcp framing on the wire', () => {
  it('reassembles a frame the peer writes in pieces', async () => {
    const l = await tcp().listen({ host: '127.0.0.1', port: 0 });
    const raw = await rawTcp(l.address);
    const wire = Buffer.concat([frame(Buffer.from('split across writes')), frame(Buffer.from('second'))]);
    // Cuts inside the first header, inside the first payload, and inside the second header.
    const cuts = [0, 2, 11, 25, wire.length];
    for (let i = 1; i < cuts.length; i++) {
      raw.write(wire.subarray(cuts[i - 1], cuts[i]));
      // Let each piece arrive as its own chunk.
      await new Promise((r) => setTimeout(r, 5));
    }
    const conn = await l.accept();
    expect((await conn.recv()).toString()).toBe('split across writes');
    expect((await conn.recv()).toString()).toBe('second');
    raw.destroy();
    await l.close();
  });

  it('closes only the connection that sent an oversized frame, and counts it', async () => {
    const t = tcp({ maxFrameSize: 1024 });
    const l = await t.listen({ host: '127.0.0.1', port: 0 });
    const good = await t.connect(l.address);
    await good.send(Buffer.from('good'));
    const goodServer = await l.accept();
    expect((await goodServer.recv()).toString()).toBe('good');

    const raw = await rawTcp(l.address);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1_000_000, 0);
    raw.write(header);
    const bad = await l.accept();
    const err = await bad.recv().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnClosedError);
    expect((err as Error).cause).toBeInstanceOf(DecodeError);
    expect(bad.stats.dropped).toBe(1);
    expect(l.stats.dropped).toBe(1);
    await new Promise<void>((resolve) => raw.once('close', () => resolve()));

    await goodServer.send(Buffer.from('still fine'));
    expect((await good.recv()).toString()).toBe('still fine');
    const next = await t.connect(l.address);
    await next.send(Buffer.from('new peer'));
    expect((await (await l.accept()).recv()).toString()).toBe('new peer');
    raw.destroy();
    await Promise.all([good.close(), next.close()]);
    await l.close();
  });

  it('sends far more than the socket buffers, waiting for drain, and delivers it intact', async () => {
    const t = tcp();
    const l = await t.listen({ host: '127.0.0.1', port: 0 });
    const client = await t.connect(l.address);
    await client.send(Buffer.from('start'));
    const server = await l.accept();
    await server.recv();
    // 16 MiB in large and small messages, sent while nobody reads.
    const big = Array.from({ length: 12 }, (_, i) => Buffer.alloc(1 << 20, i));
    const small = Array.from({ length: 4096 }, (_, i) => Buffer.alloc(1000, i));
    const sending = (async () => {
      await client.sendBatch(big);
      await client.sendBatch(small);
      await client.close();
    })();
    let bytes = 0;
    let count = 0;
    for await (const m of server) {
      const expected = count < 12 ? count : (count - 12) & 0xff;
      expect(m[0]).toBe(expected & 0xff);
      expect(m[m.length - 1]).toBe(expected & 0xff);
      bytes += m.byteLength;
      count++;
    }
    await sending;
    expect(count).toBe(12 + 4096);
    expect(bytes).toBe(12 * (1 << 20) + 4096 * 1000);
    await l.close();
  });
});

describe('unix sockets', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bertha-unix-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('replaces a stale socket file left by a dead process', async () => {
    const path = join(dir, 'stale.sock');
    // A process that dies while listening leaves its socket file behind.
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(existsSync(path)).toBe(true);
    const t = unix();
    const l = await t.listen({ path });
    const c = await t.connect({ path });
    await c.send(Buffer.from('fresh'));
    expect((await (await l.accept()).recv()).toString()).toBe('fresh');
    await c.close();
    await l.close();
    expect(existsSync(path)).toBe(false);
  });

  it('refuses a path that is not a socket', async () => {
    const path = join(dir, 'plain-file');
    writeFileSync(path, 'data');
    await expect(unix().listen({ path })).rejects.toBeInstanceOf(AddressError);
    expect(existsSync(path)).toBe(true);
  });
});
