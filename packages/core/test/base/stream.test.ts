import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AddressError, ConnClosedError, DecodeError, tcp, unix, type SocketAddress } from '@bertha/core';
import { FrameReader } from '../../src/base/framing.js';

function frame(payload: Uint8Array): Buffer {
  const b = Buffer.alloc(4 + payload.byteLength);
  b.writeUInt32BE(payload.byteLength, 0);
  b.set(payload, 4);
  return b;
}

/**
 * Feeds `chunks` to a reader the way a socket does: each read copies what is
 * available, up to the size of the buffer the reader asks for.
 * Frames are compared as hex strings: deep equality over Buffers is slow.
 */
function readAll(chunks: readonly Uint8Array[], max = 1 << 20): string[] {
  const frames: string[] = [];
  const reader = new FrameReader(max);
  reader.attach(
    (f) => frames.push(f.toString('hex')),
    (err) => {
      throw err;
    },
  );
  for (const chunk of chunks) {
    for (let off = 0; off < chunk.length; ) {
      const into = reader.buffer();
      const n = Math.min(into.length, chunk.length - off);
      into.set(chunk.subarray(off, off + n));
      off += n;
      reader.filled(n);
    }
  }
  return frames;
}

describe('FrameReader', () => {
  const payloads = [Buffer.from('hello'), Buffer.alloc(0), Buffer.alloc(300, 7), Buffer.from('x')];
  const stream = Buffer.concat(payloads.map(frame));
  const expected = payloads.map((p) => p.toString('hex'));

  it('reads many frames from one read', () => {
    expect(readAll([stream])).toEqual(expected);
  });

  it('reads frames that arrive a byte at a time', () => {
    expect(readAll(Array.from(stream, (b) => Uint8Array.of(b)))).toEqual(expected);
  });

  it('reads frames split at every possible point between two arrivals', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(readAll([stream.subarray(0, cut), stream.subarray(cut)])).toEqual(expected);
    }
  });

  it('reads large frames in place and small ones around them', () => {
    const big = [Buffer.alloc(100_000, 1), Buffer.from('small'), Buffer.alloc(70_000, 2), Buffer.alloc(20_000, 3), Buffer.alloc(0)];
    const wire = Buffer.concat(big.map(frame));
    const want = big.map((p) => p.toString('hex'));
    expect(readAll([wire])).toEqual(want);
    // Arrivals that cut headers and bodies at odd places.
    const cuts: Uint8Array[] = [];
    for (let off = 0, step = 1; off < wire.length; off += step, step = (step * 7 + 3) % 40_000) cuts.push(wire.subarray(off, off + step));
    expect(readAll(cuts)).toEqual(want);
  });

  it('reads a stream of equal large frames, and frames that break the pattern', () => {
    const big = [1, 2, 3, 4].map((b) => Buffer.alloc(20_000, b));
    const payloads = [...big, Buffer.from('small'), ...big.slice(0, 2), Buffer.alloc(30_000, 9), Buffer.alloc(2, 8)];
    const wire = Buffer.concat(payloads.map(frame));
    const want = payloads.map((p) => p.toString('hex'));
    expect(readAll([wire])).toEqual(want);
    // Arrivals cut at frame boundaries (every bet is read alone), and 3 bytes after them (inside the next header).
    const bounds: number[] = [];
    for (let off = 0, i = 0; i < payloads.length; off += 4 + payloads[i]!.length, i++) bounds.push(off);
    for (const shift of [0, 3]) {
      const cuts = [...bounds.slice(1).map((b) => b + shift), wire.length];
      const chunks = cuts.map((end, i) => wire.subarray(i === 0 ? 0 : cuts[i - 1], end));
      expect(readAll(chunks)).toEqual(want);
    }
  });

  it('copies frames out of its shared read buffer', () => {
    const reader = new FrameReader(1 << 20);
    const got: Buffer[] = [];
    reader.attach((f) => got.push(f), () => undefined);
    for (const text of ['first', 'second']) {
      const into = reader.buffer();
      into.set(frame(Buffer.from(text)));
      reader.filled(4 + text.length);
    }
    expect(got.map(String)).toEqual(['first', 'second']);
  });

  it('holds frames and a decode error until attached', () => {
    const reader = new FrameReader(10);
    const wire = Buffer.concat([frame(Buffer.from('ok')), frame(Buffer.alloc(11))]);
    reader.buffer().set(wire.subarray(0, 20));
    reader.onread.callback(20, reader.buffer());
    const frames: string[] = [];
    const errors: unknown[] = [];
    reader.attach((f) => frames.push(String(f)), (err) => errors.push(err));
    expect(frames).toEqual(['ok']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(DecodeError);
  });

  it('throws DecodeError on a frame over the limit', () => {
    expect(() => readAll([frame(Buffer.from('ok')), frame(Buffer.alloc(11))], 10)).toThrow(DecodeError);
    expect(readAll([frame(Buffer.from('ok'))], 10)).toEqual([Buffer.from('ok').toString('hex')]);
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
    const sent = [...big, ...small];
    let intact = 0;
    for await (const m of server) {
      if (Buffer.from(m).equals(sent[count]!)) intact++;
      bytes += m.byteLength;
      count++;
    }
    expect(intact).toBe(count);
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
