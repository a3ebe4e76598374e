import { describe, expect, it } from 'vitest';
import { MappedConn, makeStack, mem, memNetwork, oneSided, select, subst, twoSided, type Chunnel, type PickedInfo } from '@bertha/core';
import { connect, listen, memoryPickCache, negotiated } from '@bertha/negotiate';
import { echo, layer, recvWithin, text } from './helpers.js';

describe('picked callbacks and passes', () => {
  it('calls picked on every chosen Chunnel of both sides, before wrapping, with role, peer, stack and position', async () => {
    const t = mem(memNetwork());
    const serverLog: PickedInfo[] = [];
    const clientLog: PickedInfo[] = [];
    const shard = ['client', 'server'];
    const serverStack = makeStack(
      layer('framing', [], serverLog),
      select(layer('server-shard', [oneSided('sharding', shard, 'server')], serverLog), layer('no-shard', [oneSided('sharding', shard, 'client', 'server')], serverLog)),
    );
    const clientStack = makeStack(
      layer('framing', [], clientLog),
      select(layer('client-shard', [oneSided('sharding', shard, 'client')], clientLog), layer('plain', [], clientLog)),
    );
    const server = await listen(serverStack, t, { name: 'picky' });
    const conn = await connect(clientStack, t, server.address, { cache: memoryPickCache() });
    const accepted = await server.accept();
    const cn = negotiated(conn)!;
    const sn = negotiated(accepted)!;
    // The server prefers its first branch, which covers sharding only with the client's sharder.
    expect(sn.stack).toEqual(['framing', 'server-shard']);
    expect(cn.stack).toEqual(['framing', 'client-shard']);
    expect(clientLog).toEqual([
      { role: 'client', peer: 'mem:picky', stack: ['framing', 'client-shard'], position: 0 },
      { role: 'client', peer: 'mem:picky', stack: ['framing', 'client-shard'], position: 1 },
    ]);
    expect(serverLog).toEqual([
      { role: 'server', peer: cn.local, stack: ['framing', 'server-shard'], position: 0 },
      { role: 'server', peer: cn.local, stack: ['framing', 'server-shard'], position: 1 },
    ]);
    expect(sn.decisions.map((d) => [d.side, d.taken])).toEqual([
      ['server', 'server-shard'],
      ['client', 'client-shard'],
    ]);
    await conn.close();
    await server.close();
  });

  it('applies optimization passes to the picked stack on each side', async () => {
    const t = mem(memNetwork());
    const tls = () => layer('tls', [twoSided('encryption', 'tls')]);
    const stack = makeStack(text(), tls(), layer('local'));
    const fuse = subst(['*', 'tls', 'local'], () => layer('tls+local'));
    const server = await listen(stack, t, { name: 'fused' }, { passes: [fuse] });
    void echo(server);
    const conn = await connect(stack, t, server.address, { cache: memoryPickCache(), passes: [fuse] });
    await conn.send('x');
    expect(await recvWithin(conn)).toBe('x');
    expect(negotiated(conn)).toMatchObject({ variant: ['text', 'tls', 'local'], stack: ['text', 'tls+local'] });
    await conn.close();
    await server.close();
  });

  it('a pass that throws fails that connection only: connect rejects, the listener reports it and keeps serving', async () => {
    const t = mem(memNetwork());
    const stack = makeStack(text(), layer('tls', [twoSided('encryption', 'tls')]), layer('local'));
    const broken = subst(['*', 'tls', 'local'], () => {
      throw new Error('no fused build here');
    });
    const errors: Error[] = [];
    const server = await listen(stack, t, { name: 'broken' }, { passes: [broken], onError: (e) => errors.push(e) });
    await expect(connect(stack, t, server.address, { cache: memoryPickCache(), passes: [broken] })).rejects.toThrow('no fused build here');
    await expect.poll(() => errors.map((e) => e.message)).toEqual(['no fused build here']);
    expect(server.stats.failed).toBe(1);
    await server.close();
  });

  it('tells how a connection was negotiated even when the top Conn is frozen', async () => {
    const t = mem(memNetwork());
    // A Chunnel whose Conn cannot take a property: negotiated() must still find its record.
    const frozen: Chunnel<Uint8Array, Uint8Array, 'frozen'> = {
      name: 'frozen',
      capabilities: () => [],
      connectWrap: async (inner) => Object.freeze(new MappedConn(inner, { encode: (m: Uint8Array) => m, decode: (m: Uint8Array) => m })),
    };
    const stack = makeStack(frozen, layer('plain', [twoSided('encryption', 'none')]));
    const server = await listen(stack, t, { name: 'frozen' });
    const conn = await connect(stack, t, server.address, { cache: memoryPickCache() });
    const accepted = await server.accept();
    expect(Object.isFrozen(conn) && Object.isFrozen(accepted)).toBe(true);
    expect(negotiated(conn)).toMatchObject({ mode: '1-rtt', role: 'client', stack: ['frozen', 'plain'] });
    expect(negotiated(accepted)).toMatchObject({ mode: '1-rtt', role: 'server', stack: ['frozen', 'plain'] });
    await conn.close();
    await server.close();
  });
});
