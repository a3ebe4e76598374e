import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { makeStack, tcp, unix, type BaseConn, type Conn, type PathAddress, type SocketAddress } from '@bertha/core';
import { connect, listen } from '@bertha/negotiate';
import { LocalDirectoryError, localDirectory, machineId, maybeLocal, type LocalEntry } from '@bertha/chunnels-tls';
import { echo, roundTrip } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'bertha-local-test-'));
// No lookup cache: each test sees the directory as it is now.
const directory = localDirectory({ root, cacheMs: 0 });
afterAll(() => rmSync(root, { recursive: true, force: true }));

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c().catch(() => undefined)));
});

const stack = () => makeStack(maybeLocal({ directory }));

async function service(announce: boolean) {
  const server = await listen(stack(), tcp(), { host: '127.0.0.1', port: 0 });
  closers.push(() => server.close());
  echo(server);
  const address = tcp().format(server.address);
  const ann = announce ? await directory.announce(address) : undefined;
  if (ann) closers.push(() => ann.close());
  return { server, address, ann };
}

async function client(addr: SocketAddress): Promise<BaseConn<SocketAddress | PathAddress>> {
  const conn = (await connect(stack(), tcp(), addr)) as Conn<Uint8Array>;
  closers.push(() => conn.close());
  return conn as BaseConn<SocketAddress | PathAddress>;
}

describe('maybe-local', () => {
  it('takes the Unix socket to a co-located service that announced itself, and the network once it left', async () => {
    const { server, address, ann } = await service(true);
    expect(await directory.lookup(address)).toMatchObject({ address, path: ann!.path, pid: process.pid, machine: machineId });
    const local = await client(server.address);
    expect(local.remote).toEqual({ path: ann!.path });
    expect(await roundTrip(local, 'over unix')).toBe('over unix');

    await ann!.close();
    expect(await directory.lookup(address)).toBeUndefined();
    expect(existsSync(directory.fileOf(address))).toBe(false);
    const remote = await client(server.address);
    expect(remote.remote).toMatchObject({ host: '127.0.0.1', port: server.address.port });
    expect(await roundTrip(remote, 'over tcp')).toBe('over tcp');
  });

  it('uses the network for a service with no entry', async () => {
    const { server } = await service(false);
    const conn = await client(server.address);
    expect(conn.remote).toMatchObject({ host: '127.0.0.1' });
    expect(await roundTrip(conn, 'hi')).toBe('hi');
  });

  it('ignores and removes the entry of a process that died', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const address = 'tcp:127.0.0.1:9';
    const entry: LocalEntry = { v: 1, address, path: join(root, 'gone.sock'), pid: Number(dead.stdout), token: 'ab'.repeat(16), machine: machineId };
    writeFileSync(directory.fileOf(address), JSON.stringify(entry), { mode: 0o600 });
    expect(await directory.lookup(address)).toBeUndefined();
    expect(existsSync(directory.fileOf(address))).toBe(false);
  });

  it('never goes local on a forged entry: the real service does not know its token', async () => {
    const { server, address } = await service(false);
    // An impostor on this machine writes an entry for the service's address pointing at its own socket.
    const impostor = await unix().listen({ path: join(root, 'impostor.sock') });
    closers.push(() => impostor.close());
    const seen: Uint8Array[] = [];
    void (async () => {
      for await (const c of impostor) void (async () => { for await (const m of c) seen.push(m); })();
    })();
    const forged: LocalEntry = { v: 1, address, path: impostor.address.path, pid: process.pid, token: 'cd'.repeat(16), machine: machineId };
    writeFileSync(directory.fileOf(address), JSON.stringify(forged), { mode: 0o600 });

    const conn = await client(server.address);
    expect(conn.remote).toMatchObject({ host: '127.0.0.1', port: server.address.port });
    expect(await roundTrip(conn, 'secret')).toBe('secret');
    // The impostor got the claim (a random nonce) and nothing else.
    await expect.poll(() => seen.length).toBe(1);
    expect(seen[0]!.byteLength).toBe(18);
    expect(Buffer.from(seen[0]!).includes('secret')).toBe(false);
  });

  it('refuses a root that others can write', async () => {
    const open = mkdtempSync(join(tmpdir(), 'bertha-local-open-'));
    closers.push(async () => rmSync(open, { recursive: true, force: true }));
    spawnSync('chmod', ['777', open]);
    await expect(localDirectory({ root: open }).announce('tcp:127.0.0.1:1')).rejects.toBeInstanceOf(LocalDirectoryError);
  });
});
