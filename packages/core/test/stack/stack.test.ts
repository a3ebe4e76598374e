import { describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  MessageQueue,
  StackError,
  applyPass,
  describeStack,
  makeStack,
  oneSided,
  pickVariants,
  select,
  subst,
  twoSided,
  variants,
  wrap,
  type Conn,
} from '@bertha/core';
import { fake } from './helpers.js';

// Either end may do the sharding: one label that one side must supply.
const shardUniverse = ['sharded'];

describe('variants', () => {
  it('enumerates every branch combination, first branches first', () => {
    const s = makeStack(fake('a'), select(fake('b1'), fake('b2')), select(select(fake('c1'), fake('c2')), fake('c3')));
    const vs = variants(s);
    expect(vs.map((v) => v.chunnels.map((c) => c.name).join(' '))).toEqual([
      'a b1 c1',
      'a b1 c2',
      'a b1 c3',
      'a b2 c1',
      'a b2 c2',
      'a b2 c3',
    ]);
    // nested select keeps its number (2) in every variant it appears in
    expect(vs[1]!.choices.map((c) => [c.select, c.branch])).toEqual([
      [0, 0],
      [1, 0],
      [2, 1],
    ]);
    expect(vs[2]!.choices.map((c) => [c.select, c.branch])).toEqual([
      [0, 0],
      [1, 1],
    ]);
  });

  it('marks preferred branches', () => {
    const [v0, v1] = variants(makeStack(select(fake('x'), fake('y'), { prefer: 'second' })));
    expect(v0!.choices[0]!.preferred).toBe(false);
    expect(v1!.choices[0]!.preferred).toBe(true);
  });

  it('refuses stacks with too many variants', () => {
    const sel = () => select(fake('p'), fake('q'));
    const s = makeStack(sel(), sel(), sel(), sel(), sel(), sel(), sel(), sel(), sel(), sel(), sel());
    expect(() => variants(s)).toThrow(StackError);
  });
});

describe('pickVariants', () => {
  it('matches two-sided capabilities exactly and ignores Chunnels without capabilities', () => {
    const server = describeStack(makeStack(fake('ser'), fake('tls', [twoSided('encryption', 'tls1.3')])));
    const client = describeStack(makeStack(fake('other-framing'), fake('tls', [twoSided('encryption', 'tls1.3')])));
    const out = pickVariants(server, client);
    expect(out.ok).toBe(true);
    const bad = pickVariants(server, describeStack(makeStack(fake('plain'))));
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.incompatibilities[0]!.type).toBe('encryption');
      expect(bad.incompatibilities[0]!.reason).toContain('tls@1');
    }
  });

  it('accepts one-sided capabilities when both ends together cover the universe', () => {
    const shardServer = fake('shard-server', [oneSided('sharding', shardUniverse, 'sharded')]);
    const shardClient = fake('shard-client', [oneSided('sharding', shardUniverse, 'sharded')]);
    const noShard = fake('no-shard', [oneSided('sharding', shardUniverse)]);
    const server = describeStack(makeStack(select(noShard, shardServer)));
    const client = describeStack(makeStack(select(shardClient, noShard)));
    const out = pickVariants(server, client);
    expect(out.ok).toBe(true);
    if (out.ok) {
      // server prefers 'no-shard' and it is compatible with a client that shards itself
      expect(server[out.pick.server]!.chunnels[0]!.name).toBe('no-shard');
      expect(client[out.pick.client]!.chunnels[0]!.name).toBe('shard-client');
    }
    const none = pickVariants(describeStack(makeStack(noShard)), describeStack(makeStack(noShard)));
    expect(none.ok).toBe(false);
    if (!none.ok) expect(none.incompatibilities[0]!.reason).toMatch(/missing \{sharded\}/);
  });

  it('lets server preferences win, then client preferences, and explains each select', () => {
    const A = fake('A', [twoSided('t', 'a')]);
    const B = fake('B', [twoSided('t', 'b')]);
    const server = describeStack(makeStack(select(A, B, { prefer: 'second' })));
    const client = describeStack(makeStack(select(A, B)));
    const out = pickVariants(server, client);
    expect(out.ok && server[out.pick.server]!.chunnels[0]!.name).toBe('B');
    if (!out.ok) return;
    const clientDecision = out.pick.decisions.find((d) => d.side === 'client')!;
    expect(clientDecision).toMatchObject({ taken: 'B', rejected: 'A', preferred: false });
    expect(clientDecision.reason).toContain("server's preferences");
    // when the server's preferred branch is impossible, it falls back and says why
    const onlyA = describeStack(makeStack(A));
    const out2 = pickVariants(server, onlyA);
    expect(out2.ok).toBe(true);
    if (out2.ok) {
      const d = out2.pick.decisions.find((x) => x.side === 'server')!;
      expect(d.taken).toBe('A');
      expect(d.reason).toMatch(/preferred branch 'B' is incompatible/);
    }
  });
});

describe('passes', () => {
  const fused = fake('tls+local');
  const pass = subst(['*', 'tls', 'maybe-local', '*'], (matched) => {
    expect(matched.map((m) => m.name)).toEqual(['tls', 'maybe-local']);
    return fused;
  });

  it('replaces the matched run and is a no-op otherwise', () => {
    const s = makeStack(fake('ser'), fake('tls'), fake('maybe-local'), fake('udp-ish'));
    expect(applyPass(s, pass).names).toEqual(['ser', 'tls+local', 'udp-ish']);
    const t = makeStack(fake('ser'), fake('maybe-local'), fake('tls'));
    expect(applyPass(t, pass).names).toEqual(['ser', 'maybe-local', 'tls']);
  });

  it('honours anchors', () => {
    const bottom = subst(['*', 'b'], fake('z'));
    expect(applyPass(makeStack(fake('a'), fake('b')), bottom).names).toEqual(['a', 'z']);
    expect(applyPass(makeStack(fake('b'), fake('a')), bottom).names).toEqual(['b', 'a']);
    const exact = subst(['a', 'b'], fake('z'));
    expect(applyPass(makeStack(fake('a'), fake('b')), exact).names).toEqual(['z']);
    expect(applyPass(makeStack(fake('a'), fake('b'), fake('c')), exact).names).toEqual(['a', 'b', 'c']);
  });

  it('rejects patterns without names', () => {
    expect(() => subst(['*'], fused)).toThrow(InvalidArgumentError);
    expect(() => subst(['a', '*', 'b'], fused)).toThrow(InvalidArgumentError);
  });
});

/** Two in-process Conns joined back to back. */
function pipe(): [Conn<Uint8Array>, Conn<Uint8Array>] {
  const qa = new MessageQueue<Uint8Array>();
  const qb = new MessageQueue<Uint8Array>();
  const end = (rx: MessageQueue<Uint8Array>, tx: MessageQueue<Uint8Array>): Conn<Uint8Array> => ({
    closed: false,
    send: async (m) => tx.push(m),
    sendBatch: async (ms) => tx.pushMany(ms),
    recv: (o) => rx.takeOne(o?.signal),
    recvBatch: (n, o) => rx.take(n, o?.signal),
    close: async () => rx.end(),
    [Symbol.asyncIterator]: () => {
      throw new Error('unused');
    },
  });
  return [end(qa, qb), end(qb, qa)];
}

describe('wrap', () => {
  it('wraps bottom-up and data crosses every layer', async () => {
    const log: string[] = [];
    const s = makeStack(fake('top', [], log), fake('mid', [], log), fake('bottom', [], log));
    const [a, b] = pipe();
    const ca = await wrap(s, a);
    const cb = await wrap(s, b, { role: 'server' });
    expect(log).toEqual(['bottom', 'mid', 'top', 'bottom', 'mid', 'top']);
    await ca.send(Uint8Array.of(7));
    expect([...(await b.recv().then(async (raw) => (await cb.send(raw), raw)))]).toEqual([7, 3, 3, 6]);
    expect([...(await ca.recv())]).toEqual([7, 3, 3, 6]);
  });

  it('refuses a stack with select at run time too', async () => {
    const s = makeStack(select(fake('x'), fake('y')));
    const [a] = pipe();
    // @ts-expect-error stacks with select must be negotiated
    await expect(wrap(s, a)).rejects.toThrow(StackError);
  });
});
