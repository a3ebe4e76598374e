import { describe, expect, it } from 'vitest';
import { CONN_CLOSE, CONN_OPEN, makeStack, mem, memNetwork, noop, serialize, tcp, udp, wrap, type ConnCloseMessage, type ConnOpenMessage } from '@bertha/core';
import { heard, runScript } from './helpers.js';

describe('bertha:conn:open and bertha:conn:close', () => {
  it('reports both ends of an in-memory connection opening, and closing here and by the peer', async () => {
    const opened = heard<ConnOpenMessage>(CONN_OPEN);
    const closed = heard<ConnCloseMessage>(CONN_CLOSE);
    const t = mem(memNetwork());
    const listener = await t.listen({ name: 'diag' });
    const client = await t.connect({ name: 'diag' });
    const server = await listener.accept();
    expect(opened).toEqual([
      { layer: 'base', conn: client, transport: 'mem', role: 'client' },
      { layer: 'base', conn: server, transport: 'mem', role: 'server' },
    ]);
    await client.close();
    expect(closed[0]).toEqual({ layer: 'base', conn: client, transport: 'mem', by: 'local', error: undefined });
    expect(closed[1]).toMatchObject({ conn: server, transport: 'mem', by: 'peer' });
    expect(closed[1]!.error).toBeInstanceOf(Error);
    await server.close();
    await listener.close();
    // The server end was closed by its peer already: its own close() is no news.
    expect(closed).toHaveLength(2);
  });

  it('reports TCP connections, with the reason a peer-closed one ended', async () => {
    const opened = heard<ConnOpenMessage>(CONN_OPEN);
    const closed = heard<ConnCloseMessage>(CONN_CLOSE);
    const t = tcp();
    const listener = await t.listen({ host: '127.0.0.1', port: 0 });
    const client = await t.connect(listener.address);
    const server = await listener.accept();
    // The server may accept before the client's connect resolves: either order.
    expect(opened).toHaveLength(2);
    expect(opened).toContainEqual({ layer: 'base', conn: client, transport: 'tcp', role: 'client' });
    expect(opened).toContainEqual({ layer: 'base', conn: server, transport: 'tcp', role: 'server' });
    await server.close();
    await expect.poll(() => closed.find((m) => m.conn === client)).toMatchObject({ by: 'peer', error: { message: 'the peer closed the connection' } });
    expect(closed.find((m) => m.conn === server)).toMatchObject({ by: 'local', transport: 'tcp' });
    await client.close();
    await listener.close();
  });

  it('reports a UDP client and the listener-side connection of its peer', async () => {
    const opened = heard<ConnOpenMessage>(CONN_OPEN);
    const closed = heard<ConnCloseMessage>(CONN_CLOSE);
    const t = udp();
    const listener = await t.listen({ host: '127.0.0.1', port: 0 });
    const client = await t.connect(listener.address);
    await client.send(new Uint8Array([1]));
    const server = await listener.accept();
    expect(opened).toEqual([
      { layer: 'base', conn: client, transport: 'udp', role: 'client' },
      { layer: 'base', conn: server, transport: 'udp', role: 'server' },
    ]);
    await client.close();
    await listener.close();
    expect(closed.map((m) => [m.conn, m.by])).toEqual([
      [client, 'local'],
      [server, 'local'],
    ]);
  });

  it('reports the stack wrap() builds, over the connection it was given', async () => {
    const opened = heard<ConnOpenMessage>(CONN_OPEN);
    const t = mem(memNetwork());
    const listener = await t.listen({ name: 'wrap' });
    const base = await t.connect({ name: 'wrap' });
    const conn = await wrap(makeStack(serialize<string>(), noop()), base);
    expect(opened.at(-1)).toEqual({ layer: 'stack', conn, inner: base, stack: ['serialize', 'noop'], role: 'client' });
    await conn.close();
    await listener.close();
  });
});

describe('DEBUG=bertha:conn', () => {
  const script = `
    import { mem } from '@bertha/core';
    const t = mem();
    const l = await t.listen({ name: 'logged' });
    const c = await t.connect({ name: 'logged' });
    await c.close();
    await l.close();`;
  const run = (env: Record<string, string | undefined>) => runScript(script, env);

  it('prints a line per connection opened and closed when DEBUG enables it', () => {
    const { stderr, status } = run({ DEBUG: 'bertha:*' });
    expect(status).toBe(0);
    expect(stderr).toMatch(/bertha:conn open mem client logged~client-\d+ -> logged/);
    expect(stderr).toMatch(/bertha:conn open mem server logged -> logged~client-\d+/);
    expect(stderr).toMatch(/bertha:conn close mem logged~client-\d+ -> logged by local/);
    expect(stderr).toMatch(/bertha:conn close mem logged -> logged~client-\d+ by peer/);
  }, 40_000);

  it('prints nothing without DEBUG, or when DEBUG names other namespaces', () => {
    for (const DEBUG of [undefined, 'other:*']) {
      const { stderr, status } = run({ DEBUG });
      expect(status).toBe(0);
      expect(stderr).toBe('');
    }
  }, 60_000);
});
