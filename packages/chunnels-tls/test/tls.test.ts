import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeStack, ordered, reliable, tcp, udp, wrap } from '@bertha/core';
import { connect, listen, NegotiationError, type NegotiatedListener } from '@bertha/negotiate';
import { tls, TlsConn, TlsExpiredError, TlsHandshakeError, TlsHandshakeTimeoutError, TlsUntrustedError, TlsWrongNameError, type TlsOptions } from '@bertha/chunnels-tls';
import { makeTestCerts, type TestCerts } from '@bertha/chunnels-tls/testing';
import { bytes, echo, roundTrip } from './helpers.js';

let certs: TestCerts;
beforeAll(() => {
  certs = makeTestCerts();
});

const loopback = { host: '127.0.0.1', port: 0 };
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c().catch(() => undefined)));
});

async function tlsServer(opts: Partial<TlsOptions> = {}, onError?: (err: Error) => void): Promise<NegotiatedListener<Uint8Array, { host: string; port: number }>> {
  const server = await listen(makeStack(tls({ ...certs.server, ca: certs.ca, ...opts })), tcp(), loopback, onError ? { onError } : {});
  closers.push(() => server.close());
  echo(server);
  return server;
}

async function tlsClient(port: number, opts: Partial<TlsOptions> = {}): Promise<TlsConn> {
  const conn = await connect(makeStack(tls({ ca: certs.ca, ...opts })), tcp(), { host: '127.0.0.1', port });
  closers.push(() => conn.close());
  expect(conn).toBeInstanceOf(TlsConn);
  return conn as TlsConn;
}

describe('tls over TCP', () => {
  it('encrypts with TLS 1.3, verifies the server, negotiates ALPN and resumes sessions', async () => {
    const server = await tlsServer({ alpn: ['bertha/1', 'h2'] });
    const options = { alpn: ['h2', 'bertha/1'] };
    const first = await tlsClient(server.address.port, options);
    expect(await roundTrip(first, 'hello')).toBe('hello');
    expect(first.tls).toMatchObject({ protocol: 'TLSv1.3', alpnProtocol: 'bertha/1', resumed: false, peerName: 'server' });
    // The same Chunnel object keeps the session ticket for the next connection.
    const chunnel = tls({ ca: certs.ca, ...options });
    const a = (await connect(makeStack(chunnel), tcp(), server.address)) as TlsConn;
    await roundTrip(a, 'ticket please');
    await a.close();
    const b = (await connect(makeStack(chunnel), tcp(), server.address)) as TlsConn;
    closers.push(() => b.close());
    expect(await roundTrip(b, 'again')).toBe('again');
    expect(b.tls.resumed).toBe(true);
  });

  it('carries large messages and batches intact', async () => {
    const server = await tlsServer();
    const conn = await tlsClient(server.address.port);
    const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
    await conn.sendBatch([bytes('a'), big, bytes('c')]);
    const got: Uint8Array[] = [];
    while (got.length < 3) got.push(...(await conn.recvBatch(3, { signal: AbortSignal.timeout(10_000) })));
    expect(got.map((m) => m.byteLength)).toEqual([1, big.byteLength, 1]);
    expect(Buffer.compare(got[1]!, big)).toBe(0);
  });

  it('speaks TLS 1.2 when both ends allow it, and refuses it by default', async () => {
    const old = await tlsServer({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    const conn = await tlsClient(old.address.port, { minVersion: 'TLSv1.2' });
    expect(await roundTrip(conn, 'v1.2')).toBe('v1.2');
    expect(conn.tls.protocol).toBe('TLSv1.2');
    await expect(tlsClient(old.address.port)).rejects.toBeInstanceOf(TlsHandshakeError);
  });

  it('mutual TLS: a client with a certificate from the CA gets in, one without is refused', async () => {
    const errors: Error[] = [];
    const server = await tlsServer({ requireClientCert: true }, (err) => errors.push(err));
    const ok = await tlsClient(server.address.port, { ...certs.client });
    expect(await roundTrip(ok, 'mine')).toBe('mine');

    // TLS 1.3 clients finish their side before the server checks their certificate: the refusal shows as a closed connection.
    const refused = await tlsClient(server.address.port, { resumeSessions: false })
      .then((conn) => roundTrip(conn, 'no cert'))
      .catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(Error);
    await expect.poll(() => errors.length).toBeGreaterThan(0);
    expect(errors[0]).toBeInstanceOf(TlsHandshakeError);
  });

  it.each([
    ['untrusted', () => certs.untrusted, TlsUntrustedError, 'ERR_TLS_UNTRUSTED'],
    ['expired', () => certs.expired, TlsExpiredError, 'ERR_TLS_EXPIRED'],
    ['wrong-name', () => certs.wrongName, TlsWrongNameError, 'ERR_TLS_WRONG_NAME'],
  ] as const)('refuses a server with an %s certificate', async (_what, pair, type, code) => {
    const server = await tlsServer(pair());
    const err = await tlsClient(server.address.port).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(type);
    expect(err).toMatchObject({ code });
  });

  it('checks the name given as servername rather than the address', async () => {
    const server = await tlsServer();
    expect(await roundTrip(await tlsClient(server.address.port, { servername: 'backend.test' }), 'sni')).toBe('sni');
    await expect(tlsClient(server.address.port, { servername: 'nobody.test' })).rejects.toBeInstanceOf(TlsWrongNameError);
  });

  it('times out a handshake with a peer that never answers', async () => {
    // It reads (and so sees the client's close) but never answers.
    const silent = createServer((s: Socket) => s.on('error', () => undefined).resume());
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    closers.push(() => new Promise((r) => silent.close(r)));
    const base = await tcp().connect({ host: '127.0.0.1', port: (silent.address() as AddressInfo).port });
    const t0 = Date.now();
    const err = await wrap(makeStack(tls({ ca: certs.ca, handshakeTimeoutMs: 300 })), base, { role: 'client', peer: 'tcp:127.0.0.1:1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TlsHandshakeTimeoutError);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(base.closed).toBe(true);
  });

  it('a client sending garbage after negotiation gets a TlsHandshakeError on the server', async () => {
    const bare = await tcp().listen(loopback);
    closers.push(() => bare.close());
    const accepted = bare.accept();
    const client = await tcp().connect(bare.address);
    closers.push(() => client.close());
    await client.send(new Uint8Array(64).fill(0x16));
    const err = await wrap(makeStack(tls({ ...certs.server })), await accepted, { role: 'server', peer: 'garbage' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TlsHandshakeError);
    // The process is still fine: a real client completes a handshake afterwards.
    const server = await tlsServer();
    expect(await roundTrip(await tlsClient(server.address.port), 'still here')).toBe('still here');
  });

  it('no silent downgrade: a stack with TLS does not negotiate with one without', async () => {
    const plain = await listen(makeStack(reliable()), tcp(), loopback);
    closers.push(() => plain.close());
    const err = await connect(makeStack(tls({ ca: certs.ca })), tcp(), plain.address).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NegotiationError);
    expect((err as NegotiationError).code).toBe('ERR_NEGOTIATION_INCOMPATIBLE');
    expect((err as Error).message).toContain('encryption');
  });
});

describe('tls over a reliable, ordered stack on UDP', () => {
  it('echoes through TLS over ordered + reliable datagrams', async () => {
    const stack = (o: TlsOptions) => makeStack(tls(o), ordered(), reliable());
    const server = await listen(stack({ ...certs.server }), udp(), loopback);
    closers.push(() => server.close());
    echo(server);
    const conn = (await connect(stack({ ca: certs.ca }), udp(), server.address)) as TlsConn;
    closers.push(() => conn.close());
    for (let i = 0; i < 20; i++) expect(await roundTrip(conn, `datagram ${i}`)).toBe(`datagram ${i}`);
    expect(conn.tls.protocol).toBe('TLSv1.3');
  });
});
