import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConnClosedError } from '@bertha/core';
import type { IpcChannel, IpcDatagram } from '../../src/ipc/channel.js';
import { decodeMessages, encodeMessage } from '../../src/ipc/codec.js';
import { createIpcPair } from '../../src/ipc/memory-channel.js';
import { IpcAddressError, openAgentSocket, openDatapathSocket } from '../../src/ipc/unix-channel.js';

const ready = encodeMessage({ type: 'ready', datapathId: 7 });

function nextDatagram(ch: IpcChannel): Promise<IpcDatagram> {
  return new Promise((resolve) => ch.onDatagram((bytes, from) => resolve({ bytes: bytes.slice(), from })));
}

describe('in-process channel pair', () => {
  it('carries datagrams both ways, as copies, asynchronously', async () => {
    const { datapath, agent } = createIpcPair();
    const buf = ready.slice();
    const got = nextDatagram(agent);
    expect(datapath.send(buf)).toBe(true);
    buf.fill(0); // the sender may reuse its buffer at once
    const d = await got;
    expect(decodeMessages(d.bytes)).toEqual([{ type: 'ready', datapathId: 7 }]);
    expect(d.from).toBe('datapath');
    const back = nextDatagram(datapath);
    agent.send(encodeMessage({ type: 'close', socketId: 3 }), d.from);
    expect(decodeMessages((await back).bytes)).toEqual([{ type: 'close', socketId: 3 }]);
    await datapath.close();
    await agent.close();
  });

  it('queues for async iteration without a handler, and ends at close', async () => {
    const { datapath, agent } = createIpcPair();
    datapath.send(ready);
    datapath.send(ready);
    const seen: IpcDatagram[] = [];
    const done = (async () => {
      for await (const d of agent.datagrams()) seen.push(d);
    })();
    await new Promise((r) => setTimeout(r, 5));
    await agent.close();
    await done;
    expect(seen).toHaveLength(2);
    expect(datapath.send(ready)).toBe(false); // peer gone
    expect(() => agent.send(ready)).toThrow(ConnClosedError);
    await datapath.close();
  });
});

describe('Unix datagram sockets', () => {
  let dir: string;
  const open: IpcChannel[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ccp-ipc-'));
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
    await rm(dir, { recursive: true, force: true });
  });
  const track = (c: IpcChannel) => (open.push(c), c);

  it('round trip: the agent replies to the sender path', async () => {
    const agentPath = join(dir, 'run', 'portus');
    const agent = track(await openAgentSocket({ path: agentPath }));
    expect((await stat(join(dir, 'run'))).mode & 0o777).toBe(0o700);
    const dp = track(await openDatapathSocket({ agentPath, path: join(dir, 'dp') }));
    const atAgent = nextDatagram(agent);
    expect(dp.send(ready)).toBe(true);
    const d = await atAgent;
    expect(d.from).toBe(join(dir, 'dp'));
    expect(decodeMessages(d.bytes)).toEqual([{ type: 'ready', datapathId: 7 }]);
    const atDp = nextDatagram(dp);
    expect(agent.send(encodeMessage({ type: 'close', socketId: 1 }))).toBe(true); // default: last sender
    expect((await atDp).from).toBe(agentPath);
  });

  it('keeps every datagram, in order, when the receiver queue is full (EAGAIN)', async () => {
    const agent = track(await openAgentSocket({ path: join(dir, 'a') }));
    const dp = track(await openDatapathSocket({ agentPath: join(dir, 'a'), path: join(dir, 'd') }));
    const n = 200; // far above net.unix.max_dgram_qlen
    const got: number[] = [];
    const all = new Promise<void>((resolve) =>
      agent.onDatagram((bytes) => {
        const [m] = decodeMessages(bytes);
        if (m?.type === 'ready') got.push(m.datapathId);
        if (got.length === n) resolve();
      }),
    );
    for (let i = 0; i < n; i++) expect(dp.send(encodeMessage({ type: 'ready', datapathId: i }))).toBe(true);
    await all;
    expect(got).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('drops, after a bounded time, the backlog for a receiver that never reads (no retry timer spinning forever)', { timeout: 20_000 }, async () => {
    const path = join(dir, 'stuck');
    // A receiver bound at `path` whose process is stopped: its queue fills and is never read.
    const child = spawn(process.execPath, ['-e', `const s = require('unix-dgram').createSocket('unix_dgram'); s.bind(${JSON.stringify(path)}); console.log('bound'); setInterval(() => {}, 1000);`], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      child.kill('SIGSTOP');
      const agent = track(await openAgentSocket({ path: join(dir, 'a2') }));
      for (let i = 0; i < 100; i++) agent.send(ready, path);
      await new Promise((r) => setTimeout(r, 1500));
      // Everything the stopped receiver could not take was dropped and counted; nothing is left to retry.
      const before = agent.stats.dropped;
      expect(before).toBeGreaterThan(50);
      await new Promise((r) => setTimeout(r, 100));
      expect(agent.stats.dropped).toBe(before);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('reports a missing peer as false, not an exception', async () => {
    const dp = track(await openDatapathSocket({ agentPath: join(dir, 'nobody'), path: join(dir, 'd') }));
    expect(dp.send(ready)).toBe(false);
    expect(dp.stats.dropped).toBe(1);
  });

  it('replaces a stale socket file, refuses a live one and a non-socket', async () => {
    const path = join(dir, 'portus');
    // A crashed agent: its socket file stays, nobody is bound to it.
    const raw = (createRequire(import.meta.url)('unix-dgram') as { createSocket(t: string): { bind(p: string): void; close(): void } }).createSocket('unix_dgram');
    raw.bind(path);
    raw.close();
    expect((await stat(path)).isSocket()).toBe(true);
    const agent = track(await openAgentSocket({ path }));
    await expect(openAgentSocket({ path })).rejects.toBeInstanceOf(IpcAddressError);
    await writeFile(join(dir, 'plain'), 'x');
    await expect(openAgentSocket({ path: join(dir, 'plain') })).rejects.toThrow(/not a socket/);
    await agent.close();
    await expect(stat(path)).rejects.toThrow(/ENOENT/); // close removes the file
  });

  it('rejects paths too long for sun_path', async () => {
    await expect(openAgentSocket({ path: join(dir, 'x'.repeat(120)) })).rejects.toThrow(/longer than 107/);
  });
});
