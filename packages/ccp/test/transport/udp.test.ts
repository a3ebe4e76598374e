import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Conn, makeStack, serialize, transport, wrap } from '@bertha/core';
import { afterEach, describe, expect, it } from 'vitest';
import { ccpTransport, type CcpTransportConn, type CcpTransportOptions } from '../../src/transport/conn.js';
import { firstMismatch, makeMessages } from '@bertha/ccp/testing';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));

/** A UDP client and the server side of it on loopback, both wrapped in `ccpTransport(opts)` (raw bytes). */
async function udpPair(opts: CcpTransportOptions) {
  const udp = transport('udp');
  const listener = await udp.listen({ host: '127.0.0.1', port: 0 });
  const client = await udp.connect(listener.address);
  const chunnel = ccpTransport(opts);
  const a = await chunnel.connectWrap(client, { role: 'client' });
  return {
    a,
    /** The server end exists once the client's first packet arrived. */
    accept: async (): Promise<CcpTransportConn> => chunnel.connectWrap(await listener.accept(), { role: 'server' }),
    close: async () => {
      await listener.close();
    },
  };
}

async function collect<T>(conn: Conn<T>, n: number): Promise<T[]> {
  const got: T[] = [];
  while (got.length < n) got.push(...(await conn.recvBatch(n - got.length)));
  return got;
}

describe('ccpTransport over UDP on loopback', () => {
  it('transfers 5 MB in 64 KiB messages, byte-identical, with the in-process agent', async () => {
    const { a, accept, close } = await udpPair({ mss: 8192 });
    const sent = makeMessages(80, 131_072, 11);
    const sending = a.sendBatch(sent);
    const b = await accept();
    const got = await collect(b, sent.length);
    await sending;
    expect(firstMismatch(sent, got)).toBe(-1);
    expect(a.sender.socketId).toBeGreaterThan(0);
    // close() lingers until everything sent is acknowledged.
    await a.close();
    expect(a.sender.idle).toBe(true);
    expect(a.sender.stats.deliveredBytes).toBe(sent.reduce((n, m) => n + m.length, 0));
    await b.close();
    await close();
  });

  it('carries many small typed messages through makeStack(serialize(), ccpTransport()) with native Cubic', async () => {
    const udp = transport('udp');
    const listener = await udp.listen({ host: '127.0.0.1', port: 0 });
    const stack = makeStack(serialize<{ i: number; s: string }>(), ccpTransport({ cc: { kind: 'native', algorithm: 'cubic' } }));
    const client = await wrap(stack, await udp.connect(listener.address));
    const msgs = Array.from({ length: 20_000 }, (_, i) => ({ i, s: 'x'.repeat(i % 50) }));
    const sending = client.sendBatch(msgs);
    const server = await wrap(stack, await listener.accept(), { role: 'server' });
    const got = await collect(server, msgs.length);
    await sending;
    expect(got).toEqual(msgs);
    // And back the other way on the same connection.
    await server.send({ i: -1, s: 'reply' });
    expect(await client.recv()).toEqual({ i: -1, s: 'reply' });
    await client.close();
    await server.close();
    await listener.close();
  });
});

describe('ccpTransport when the peer dies', () => {
  const native = { kind: 'native', algorithm: 'reno' } as const;

  // Bounded by the port-unreachable answer to the next (re)transmission, or at worst by the
  // default userTimeoutUs (30 s): on a loaded machine the RTO may have backed off far.
  it('fails a pending sendBatch, and later calls, with PeerUnreachableError when the peer socket closes mid-transfer', { timeout: 60_000 }, async () => {
    const { a, accept, close } = await udpPair({ cc: native });
    const sending = a.sendBatch(makeMessages(320, 65_536, 5)); // 20 MB: waits on the 4 MiB send buffer
    const b = await accept();
    await collect(b, 10);
    await close(); // the receiver's socket is gone: the OS answers with port unreachable
    await expect(sending).rejects.toMatchObject({ code: 'ERR_CCP_PEER_UNREACHABLE' });
    await expect(a.send(new Uint8Array(1))).rejects.toMatchObject({ code: 'ERR_CCP_PEER_UNREACHABLE' });
    await expect(a.recv()).rejects.toMatchObject({ code: 'ERR_CCP_PEER_UNREACHABLE' });
  });

  it('declares a silent peer gone after userTimeoutUs, and close() reports data never acknowledged', { timeout: 30_000 }, async () => {
    // A black hole: the port exists (no ICMP), nothing is ever acknowledged.
    const hole = createSocket('udp4');
    await new Promise<void>((resolve) => hole.bind(0, '127.0.0.1', resolve));
    const udp = transport('udp');
    const at = { host: '127.0.0.1', port: hole.address().port };
    const a = await ccpTransport({ cc: native, userTimeoutUs: 1_000_000, initialRtoUs: 200_000, sendBufferBytes: 100_000 }).connectWrap(await udp.connect(at), { role: 'client' });
    const t0 = performance.now();
    await expect(a.sendBatch(makeMessages(100, 65_536, 6))).rejects.toMatchObject({ code: 'ERR_CCP_PEER_UNREACHABLE' });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(900);

    const c = await ccpTransport({ cc: native, lingerUs: 300_000 }).connectWrap(await udp.connect(at), { role: 'client' });
    await c.send(new Uint8Array(5000));
    await expect(c.close()).rejects.toMatchObject({ code: 'ERR_CCP_UNACKNOWLEDGED', unackedBytes: 5000 });
    expect(c.closed).toBe(true);
    hole.close();
  });

  it('acknowledges the last bytes of a receiver that closes right after its last read', { timeout: 30_000 }, async () => {
    // A long ACK delay makes the race certain: the final packet's ACK is still waiting when the reader closes.
    const { a, accept, close } = await udpPair({ cc: native, ackDelayUs: 500_000, lingerUs: 5_000_000 });
    const sent = makeMessages(3, 1000, 8);
    await a.sendBatch(sent);
    const b = await accept();
    expect(firstMismatch(sent, await collect(b, sent.length))).toBe(-1);
    await b.close();
    await a.close();
    expect(a.sender.idle).toBe(true);
    await close();
  });
});

describe('ccpTransport with a ccp-agent process over a Unix datagram socket', () => {
  let dir: string | undefined;
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('is driven by the agent, falls back to native Reno when it dies, and goes on delivering', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ccp-transport-'));
    const sock = join(dir, 'sock');
    const agent = spawn(join(repo, 'node_modules/.bin/tsx'), ['packages/ccp/src/bin/ccp-agent.ts', '--path', sock, '--default', 'reno'], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: tsx runs the agent in a child process, and a kill must reach both.
      detached: true,
    });
    child = agent;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      agent.stdout.on('data', (d: Buffer) => {
        output += d.toString();
        if (output.includes('listening on')) resolve();
      });
      agent.stderr.on('data', (d: Buffer) => (output += d.toString()));
      agent.once('exit', () => reject(new Error(`ccp-agent exited early:\n${output}`)));
    });
    const { a, accept, close } = await udpPair({ cc: { kind: 'ccp', algorithm: 'reno', agentPath: sock, datapathPath: join(dir, 'dp'), fallbackTimeoutUs: 200_000 } });
    const first = makeMessages(40, 65_536, 3);
    const sending = a.sendBatch(first);
    const b = await accept();
    expect(firstMismatch(first, await collect(b, first.length))).toBe(-1);
    await sending;
    // The agent answered: reports went out and the flow is not in fallback.
    expect(a.sender.inFallback).toBe(false);
    // A loaded machine can delay the agent past the fallback timeout before it dies: count only what the death causes.
    const fallbacksBefore = a.sender.stats.fallbacks;

    const exited = new Promise<void>((resolve) => agent.once('exit', () => resolve()));
    process.kill(-agent.pid!, 'SIGKILL');
    await exited;
    // Keep data flowing past the fallback timeout (bounded: at most 1000 rounds).
    let rounds = 0;
    for (; rounds < 1000 && !a.sender.inFallback; rounds++) {
      const batch = makeMessages(10, 65_536, 100 + rounds);
      const sendingBatch = a.sendBatch(batch);
      expect(firstMismatch(batch, await collect(b, batch.length))).toBe(-1);
      await sendingBatch;
    }
    const after = makeMessages(50, 65_536, 4);
    const sending2 = a.sendBatch(after);
    expect(firstMismatch(after, await collect(b, after.length))).toBe(-1);
    await sending2;
    expect(a.sender.stats.fallbacks).toBeGreaterThanOrEqual(fallbacksBefore + 1);
    expect(a.sender.inFallback).toBe(true);
    await a.close();
    await b.close();
    await close();
  });
});
