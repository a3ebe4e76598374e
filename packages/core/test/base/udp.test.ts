import { createSocket, type Socket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, udp, type BaseConn, type SocketAddress } from '@bertha/core';

async function rawSocket(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return s;
}

function sendRaw(s: Socket, msg: Uint8Array, to: SocketAddress): Promise<void> {
  return new Promise((resolve, reject) => s.send(msg, to.port, to.host, (err) => (err ? reject(err) : resolve())));
}

describe('udp listener demultiplexing', () => {
  it('diverts new connections to a sink as they arrive, each with its first datagram already there', async () => {
    const l = await udp().listen({ host: '127.0.0.1', port: 0 });
    const first: string[] = [];
    let ended = false;
    const got = new Promise<void>((resolve) => {
      l.divert!({
        onMessage: (conn) => {
          // Synchronously, in the datagram's turn: the connection's first message waits in it.
          void conn.recv().then((m) => {
            first.push(m.toString());
            if (first.length === 2) resolve();
          });
        },
        onEnd: () => {
          ended = true;
        },
      });
    });
    const peers = await Promise.all([rawSocket(), rawSocket()]);
    await Promise.all(peers.map((p, i) => sendRaw(p, Buffer.from(`hello ${i}`), l.address)));
    await got;
    expect(first.sort()).toEqual(['hello 0', 'hello 1']);
    expect(l.stats.accepted).toBe(2);
    for (const p of peers) p.close();
    await l.close();
    expect(ended).toBe(true);
  });

  it('gives each source address its own connection, with its own messages', async () => {
    // A big receive buffer: 300 datagrams arrive before the event loop reads any.
    const l = await udp({ recvBufferSize: 4 << 20 }).listen({ host: '127.0.0.1', port: 0 });
    const peers = await Promise.all(Array.from({ length: 100 }, rawSocket));
    for (let round = 0; round < 3; round++) {
      await Promise.all(peers.map((p, i) => sendRaw(p, Buffer.from(`${i}:${round}`), l.address)));
    }
    const byPort = new Map<number, BaseConn<SocketAddress>>();
    for (let i = 0; i < peers.length; i++) {
      const c = await l.accept();
      byPort.set(c.remote.port, c);
    }
    expect(l.stats.accepted).toBe(100);
    for (const [i, p] of peers.entries()) {
      const conn = byPort.get(p.address().port)!;
      expect(conn.remote.host).toBe('127.0.0.1');
      const got: string[] = [];
      while (got.length < 3) got.push(...(await conn.recvBatch(3)).map((m) => m.toString()));
      expect(got).toEqual([`${i}:0`, `${i}:1`, `${i}:2`]);
    }
    // Replies go to the right peer through the shared socket.
    const replies = peers.map((p) => new Promise<string>((resolve) => p.once('message', (m) => resolve(m.toString()))));
    await Promise.all([...byPort].map(([port, c]) => c.send(Buffer.from(`to ${port}`))));
    expect(await Promise.all(replies)).toEqual(peers.map((p) => `to ${p.address().port}`));
    for (const p of peers) p.close();
    await l.close();
  });

  it('survives arbitrary datagrams, empty and maximal ones included', async () => {
    const l = await udp().listen({ host: '127.0.0.1', port: 0 });
    const raw = await rawSocket();
    await sendRaw(raw, new Uint8Array(0), l.address);
    await sendRaw(raw, Buffer.alloc(65_507, 0xff), l.address);
    const c = await l.accept();
    expect((await c.recv()).byteLength).toBe(0);
    expect((await c.recv()).byteLength).toBe(65_507);
    const client = await udp().connect(l.address);
    await client.send(Buffer.from('normal'));
    expect((await (await l.accept()).recv()).toString()).toBe('normal');
    raw.close();
    await client.close();
    await l.close();
  });

  it('drops and counts datagrams from a peer whose connection was closed, for the quiet period', async () => {
    const l = await udp({ closedPeerQuietMs: 60_000 }).listen({ host: '127.0.0.1', port: 0 });
    const raw = await rawSocket();
    await sendRaw(raw, Buffer.from('one'), l.address);
    const first = await l.accept();
    await first.close();
    await sendRaw(raw, Buffer.from('late retransmission'), l.address);
    const other = await udp().connect(l.address);
    await other.send(Buffer.from('other'));
    const second = await l.accept();
    expect((await second.recv()).toString()).toBe('other');
    expect(l.stats.dropped).toBe(1);
    expect(l.stats.accepted).toBe(2);
    raw.close();
    await other.close();
    await l.close();
  });

  it('treats a closed peer as new again by default', async () => {
    const l = await udp().listen({ host: '127.0.0.1', port: 0 });
    const raw = await rawSocket();
    await sendRaw(raw, Buffer.from('one'), l.address);
    await (await l.accept()).close();
    await sendRaw(raw, Buffer.from('two'), l.address);
    const again = await l.accept();
    expect(again.remote.port).toBe(raw.address().port);
    expect((await again.recv()).toString()).toBe('two');
    raw.close();
    await l.close();
  });

  it('accepts a new client that reuses the port of a peer just closed', async () => {
    const l = await udp().listen({ host: '127.0.0.1', port: 0 });
    const old = await rawSocket();
    const port = old.address().port;
    await sendRaw(old, Buffer.from('old session'), l.address);
    const first = await l.accept();
    expect((await first.recv()).toString()).toBe('old session');
    await first.close();
    await new Promise<void>((resolve) => old.close(resolve));
    // The next client gets the same port, as Linux's ephemeral port allocation often does.
    const reuser = createSocket('udp4');
    await new Promise<void>((resolve) => reuser.bind(port, '127.0.0.1', resolve));
    await sendRaw(reuser, Buffer.from('new client'), l.address);
    const second = await l.accept();
    expect(second).not.toBe(first);
    expect(second.remote).toEqual({ host: '127.0.0.1', port });
    expect((await second.recv()).toString()).toBe('new client');
    const reply = new Promise<string>((resolve) => reuser.once('message', (m) => resolve(m.toString())));
    await second.send(Buffer.from('welcome'));
    expect(await reply).toBe('welcome');
    expect(l.stats.dropped).toBe(0);
    reuser.close();
    await l.close();
  });

  it('sends a long batch completely', async () => {
    const t = udp({ recvBufferSize: 4 << 20 });
    const l = await t.listen({ host: '127.0.0.1', port: 0 });
    const client = await t.connect(l.address);
    const batch = Array.from({ length: 1000 }, (_, i) => Buffer.from(`m${i}`));
    await client.sendBatch(batch);
    const server = await l.accept();
    const got: string[] = [];
    while (got.length < batch.length) got.push(...(await server.recvBatch(1000)).map((m) => m.toString()));
    expect(got).toEqual(batch.map((m) => m.toString()));
    expect(client.stats.sent).toBe(1000);
    await client.close();
    await l.close();
  });

  it('rejects a maxMessageSize that UDP cannot carry', () => {
    expect(() => udp({ maxMessageSize: 70_000 })).toThrow(InvalidArgumentError);
  });

  it('resolves host names', async () => {
    const t = udp();
    const l = await t.listen({ host: 'localhost', port: 0 });
    const c = await t.connect({ host: 'localhost', port: l.address.port });
    await c.send(Buffer.from('by name'));
    expect((await (await l.accept()).recv()).toString()).toBe('by name');
    await c.close();
    await l.close();
  });
});

describe('udp client: a peer that is gone', () => {
  it('aborts `unreachable` when the OS reports the peer port unreachable', async () => {
    const gone = await rawSocket();
    const addr = gone.address();
    await new Promise<void>((resolve) => gone.close(() => resolve()));
    const c = await udp().connect({ host: '127.0.0.1', port: addr.port });
    expect(c.unreachable?.aborted).toBe(false);
    const aborted = new Promise((resolve) => c.unreachable?.addEventListener('abort', () => resolve(c.unreachable?.reason), { once: true }));
    // Each send draws an ICMP port unreachable; the socket reports it on a later operation.
    const t = setInterval(() => void c.send(new Uint8Array([1])).catch(() => undefined), 20);
    try {
      expect(await aborted).toMatchObject({ code: 'ERR_ADDRESS' });
    } finally {
      clearInterval(t);
      await c.close();
    }
  });
});
