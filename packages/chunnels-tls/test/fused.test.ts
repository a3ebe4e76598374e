import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeStack, serialize, tcp, type BaseConn, type Conn, type PathAddress, type SocketAddress } from '@bertha/core';
import { connect, listen, negotiated } from '@bertha/negotiate';
import { fusedTlsMaybeLocal, localDirectory, maybeLocal, tls, TlsConn, type TlsOptions } from '@bertha/chunnels-tls';
import { fuseTlsMaybeLocal } from '@bertha/chunnels-tls/passes';
import { makeTestCerts, type TestCerts } from '@bertha/chunnels-tls/testing';
import { echo, roundTrip } from './helpers.js';

let certs: TestCerts;
beforeAll(() => {
  certs = makeTestCerts();
});
const root = mkdtempSync(join(tmpdir(), 'bertha-fused-test-'));
const directory = localDirectory({ root, cacheMs: 0 });
afterAll(() => rmSync(root, { recursive: true, force: true }));

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c().catch(() => undefined)));
});

type Shape = 'fused' | 'pair';
const serverTls = (): TlsOptions => ({ ...certs.server });
const clientTls = (): TlsOptions => ({ ca: certs.ca });
const stackOf = (shape: Shape, o: TlsOptions) =>
  shape === 'fused' ? makeStack(fusedTlsMaybeLocal({ tls: o, local: { directory } })) : makeStack(tls(o), maybeLocal({ directory }));

async function service(shape: Shape, announce: boolean) {
  const server = await listen(stackOf(shape, serverTls()), tcp(), { host: '127.0.0.1', port: 0 });
  closers.push(() => server.close());
  echo(server);
  if (announce) {
    const ann = await directory.announce(tcp().format(server.address));
    closers.push(() => ann.close());
  }
  return server.address;
}

/** Where a connection's bytes go: encrypted or not, over Unix or the network. */
function shapeOf(conn: Conn<Uint8Array>): { encrypted: boolean } {
  return { encrypted: conn instanceof TlsConn };
}

async function dial(shape: Shape, addr: SocketAddress): Promise<Conn<Uint8Array>> {
  const conn = (await connect(stackOf(shape, clientTls()), tcp(), addr)) as Conn<Uint8Array>;
  closers.push(() => conn.close());
  return conn;
}

describe('fusedTlsMaybeLocal', () => {
  it('carries messages unencrypted over the Unix socket when both ends are fused and co-located', async () => {
    const addr = await service('fused', true);
    const conn = await dial('fused', addr);
    expect(shapeOf(conn)).toEqual({ encrypted: false });
    expect((conn as BaseConn<PathAddress>).remote.path).toMatch(/\.sock$/);
    expect(await roundTrip(conn, 'local')).toBe('local');
  });

  // What the pair [tls, maybe-local] does in every case, the fused Chunnel does too, except that
  // it skips TLS where both ends are fused and local.
  it.each([
    ['fused', 'fused', true, false],
    ['fused', 'pair', true, true],
    ['pair', 'fused', true, true],
    ['pair', 'pair', true, true],
    ['fused', 'fused', false, true],
    ['fused', 'pair', false, true],
    ['pair', 'fused', false, true],
    ['pair', 'pair', false, true],
  ] as const)('client %s, server %s, announced %s: encrypted %s', async (client, server, announced, encrypted) => {
    const addr = await service(server, announced);
    const conn = await dial(client, addr);
    expect(shapeOf(conn)).toEqual({ encrypted });
    for (let i = 0; i < 5; i++) expect(await roundTrip(conn, `m${i}`)).toBe(`m${i}`);
  });

  it('the pass turns a negotiated [serialize, tls, maybe-local] into [serialize, tls+maybe-local] on each end that applies it', async () => {
    const app = <T>(o: TlsOptions) => makeStack(serialize<T>(), tls(o), maybeLocal({ directory }));
    const server = await listen(app<{ n: number }>(serverTls()), tcp(), { host: '127.0.0.1', port: 0 }, { passes: [fuseTlsMaybeLocal] });
    closers.push(() => server.close());
    echo(server);
    const ann = await directory.announce(tcp().format(server.address));
    closers.push(() => ann.close());
    const conn = await connect(app<{ n: number }>(clientTls()), tcp(), server.address, { passes: [fuseTlsMaybeLocal] });
    closers.push(() => conn.close());
    expect(negotiated(conn)?.variant).toEqual(['serialize', 'tls', 'maybe-local']);
    expect(negotiated(conn)?.stack).toEqual(['serialize', 'tls+maybe-local']);
    await conn.send({ n: 42 });
    expect(await conn.recv({ signal: AbortSignal.timeout(5000) })).toEqual({ n: 42 });
  });
});
