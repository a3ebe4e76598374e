import { spawn, type ChildProcess } from 'node:child_process';
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
    // At least the one after the kill: on a loaded machine a slow agent may also have been timed out (and re-attached) before.
    expect(a.sender.stats.fallbacks).toBeGreaterThanOrEqual(1);
    expect(a.sender.inFallback).toBe(true);
    await a.close();
    await b.close();
    await close();
  });
});
