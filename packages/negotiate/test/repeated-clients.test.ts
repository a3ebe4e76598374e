import { createSocket, type Socket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { makeStack, select, twoSided, udp, type SocketAddress } from '@bertha/core';
import { connect, listen, memoryPickCache, negotiated } from '@bertha/negotiate';
import { stackInfo } from '../src/stack-info.js';
import { WireCodec } from '../src/wire.js';
import { echo, layer, recvWithin, text } from './helpers.js';

const enc = (label: string) => twoSided('encryption', label);
const codec = new WireCodec();

describe('a listener answering many clients with the same and with different stacks', () => {
  it('gives each client the pick for its own stack, 1-RTT and 0-RTT, however they interleave', async () => {
    const t = udp();
    const server = await listen(makeStack(text(), select(layer('plain', [enc('none')]), layer('tls', [enc('tls')]))), t, { host: '127.0.0.1', port: 0 });
    void echo(server);
    const clients = {
      tls: { stack: makeStack(text(), layer('tls', [enc('tls')])), cache: memoryPickCache() },
      plain: { stack: makeStack(text(), layer('plain', [enc('none')])), cache: memoryPickCache() },
    };
    for (let round = 0; round < 3; round++) {
      for (const [name, { stack, cache }] of Object.entries(clients)) {
        for (const zeroRtt of [false, true]) {
          const conn = await connect(stack, t, server.address, { cache, zeroRtt });
          await conn.send(`${name} ${round}`);
          expect(await recvWithin(conn)).toBe(`${name} ${round}`);
          expect(negotiated(conn)).toMatchObject({ stack: ['text', name], mode: zeroRtt ? '0-rtt' : '1-rtt' });
          await conn.close();
        }
      }
    }
    expect(server.stats).toMatchObject({ oneRtt: 6, zeroRtt: 6, rejected: 0, malformed: 0 });
    await server.close();
  });
});

describe('a new client on the UDP port of a vanished one', () => {
  it('gets its own session once the old connection is closed for it', async () => {
    const stack = makeStack(text(), layer('tls', [enc('tls')]));
    const server = await listen(stack, udp(), { host: '127.0.0.1', port: 0 });
    const info = stackInfo(stack);
    const offer = (nonce: number) => codec.encode({ t: 'offer', nonce, fingerprint: info.fingerprint, offers: info.offers });
    // The old client negotiates, then vanishes without a word (UDP has no close).
    const old = await boundSocket(0);
    const port = old.address().port;
    expect(await negotiateRaw(old, offer(1), 1, server.address)).toBe('pick');
    const oldConn = await server.accept();
    await new Promise<void>((resolve) => old.close(resolve));
    // A new client gets the same port: it re-sends its offer until answered.
    const fresh = await boundSocket(port);
    expect(await negotiateRaw(fresh, offer(2), 2, server.address)).toBe('pick');
    const freshConn = await server.accept();
    expect(negotiated(freshConn)!.peer).toBe(`udp:127.0.0.1:${port}`);
    await expect(oldConn.recv()).rejects.toThrow();
    expect(server.stats.oneRtt).toBe(2);
    fresh.close();
    await server.close();
  });
});

describe('a new 0-RTT client on the UDP port of a vanished one', () => {
  it('is rejected, so it re-sends its early data from elsewhere, and the old connection never sees that data', async () => {
    const stack = makeStack(text(), layer('tls', [enc('tls')]));
    const server = await listen(stack, udp(), { host: '127.0.0.1', port: 0 });
    const info = stackInfo(stack);
    const old = await boundSocket(0);
    const port = old.address().port;
    expect(await negotiateRaw(old, codec.encode({ t: 'offer', nonce: 1, fingerprint: info.fingerprint, offers: info.offers }), 1, server.address)).toBe('pick');
    const oldConn = await server.accept();
    const pick = negotiated(oldConn)!.pick;
    await new Promise<void>((resolve) => old.close(resolve));
    const fresh = await boundSocket(port);
    const use = codec.encode({ t: 'use', nonce: 2, token: 3, at: Date.now(), pick }, Buffer.from('early'));
    expect(await negotiateRaw(fresh, use, 2, server.address)).toBe('reject');
    await expect(oldConn.recv()).rejects.toThrow();
    expect(server.stats.zeroRtt).toBe(0);
    fresh.close();
    await server.close();
  });
});

function boundSocket(port: number): Promise<Socket> {
  const s = createSocket('udp4');
  return new Promise((resolve) => s.bind(port, '127.0.0.1', () => resolve(s)));
}

/** Sends `request` every 20 ms until an answer with `nonce` comes; resolves with its type. */
function negotiateRaw(s: Socket, request: Uint8Array, nonce: number, to: SocketAddress): Promise<string> {
  return new Promise((resolve) => {
    const send = (): void => s.send(request, to.port, to.host);
    const timer = setInterval(send, 20);
    s.on('message', (m: Buffer) => {
      const answer = codec.decode(m);
      if (answer.nonce !== nonce) return;
      clearInterval(timer);
      s.removeAllListeners('message');
      resolve(answer.t);
    });
    send();
  });
}
