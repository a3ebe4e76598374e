import { describe, expect, it } from 'vitest';
import { AbortError, AbstractConn, ConnClosedError, MessageQueue, untilClosed } from '@bertha/core';

/** A connection whose received messages the test pushes by hand. */
class PushConn extends AbstractConn<string> {
  readonly sent: string[] = [];
  receive(msg: string): void {
    this.inbox.push(msg);
  }
  peerGone(): void {
    this.ended();
  }
  async sendBatch(msgs: readonly string[]): Promise<void> {
    this.sent.push(...msgs);
  }
  protected async onClose(): Promise<void> {}
}

describe('MessageQueue', () => {
  it('hands a pushed message to a waiting take, one or a batch', async () => {
    const q = new MessageQueue<number>();
    const one = q.takeOne();
    const many = q.take(10);
    q.push(1);
    q.push(2);
    expect(await one).toBe(1);
    expect(await many).toEqual([2]);
    q.push(3);
    q.push(4);
    expect(await q.take(10)).toEqual([3, 4]);
  });

  it('delivers what was buffered before it ended, then rejects with the end error', async () => {
    const q = new MessageQueue<number>();
    q.push(1);
    const err = new ConnClosedError('gone');
    q.end(err);
    q.push(2);
    expect(await q.takeOne()).toBe(1);
    await expect(q.takeOne()).rejects.toBe(err);
  });

  it('rejects an aborted take and forgets it', async () => {
    const q = new MessageQueue<number>();
    const ac = new AbortController();
    const taken = q.takeOne(ac.signal);
    ac.abort();
    await expect(taken).rejects.toBeInstanceOf(AbortError);
    q.push(7);
    expect(await q.takeOne()).toBe(7);
  });

  it('diverts buffered and later messages to a sink, and the end to onEnd', () => {
    const q = new MessageQueue<number>();
    q.push(1);
    const got: number[] = [];
    const ends: Error[] = [];
    q.divert({ onMessage: (m) => got.push(m), onEnd: (e) => ends.push(e) });
    q.push(2);
    expect(got).toEqual([1, 2]);
    expect(q.size).toBe(0);
    const err = new ConnClosedError();
    q.end(err);
    q.push(3);
    expect(got).toEqual([1, 2]);
    expect(ends).toEqual([err]);
  });

  it('queues again once the divert stops, and keeps the end for recv', async () => {
    const q = new MessageQueue<number>();
    const got: number[] = [];
    let ends = 0;
    q.divert({ onMessage: (m) => got.push(m), onEnd: () => ends++ });
    q.push(1);
    q.divert(undefined);
    q.push(2);
    q.end();
    expect(got).toEqual([1]);
    expect(ends).toBe(0);
    expect(await q.takeOne()).toBe(2);
    await expect(q.takeOne()).rejects.toBeInstanceOf(ConnClosedError);
  });

  it('makes a lazily given end error once, when a read first needs it', async () => {
    const q = new MessageQueue<number>();
    let made = 0;
    q.end(() => {
      made++;
      return new ConnClosedError('made late');
    });
    expect(q.ended).toBe(true);
    expect(made).toBe(0);
    await expect(q.takeOne()).rejects.toThrow('made late');
    await expect(q.take(4)).rejects.toThrow('made late');
    expect(made).toBe(1);
  });

  it('reports an end that came before the divert', () => {
    const q = new MessageQueue<number>();
    q.push(1);
    q.end();
    const got: number[] = [];
    let ended = false;
    q.divert({ onMessage: (m) => got.push(m), onEnd: () => (ended = true) });
    expect(got).toEqual([1]);
    expect(ended).toBe(true);
  });
});

describe('Conn iteration', () => {
  it('ends when the connection closes and loses nothing when a loop breaks early', async () => {
    const c = new PushConn();
    for (const m of ['a', 'b', 'c']) c.receive(m);
    for await (const m of c) {
      expect(m).toBe('a');
      break;
    }
    expect(await c.recv()).toBe('b');
    const rest: string[] = [];
    const loop = (async () => {
      for await (const m of c) rest.push(m);
    })();
    c.receive('d');
    await new Promise((r) => setImmediate(r));
    await c.close();
    await loop;
    expect(rest).toEqual(['c', 'd']);
  });

  it('rethrows errors other than ConnClosedError', async () => {
    const boom = new Error('boom');
    const it = untilClosed(() => Promise.reject(boom));
    await expect(it.next()).rejects.toBe(boom);
    expect(await it.next()).toEqual({ value: undefined, done: true });
  });

  it('rejects a waiting read with ConnClosedError when closed here or by the peer', async () => {
    const here = new PushConn();
    const read = here.recv();
    await here.close();
    await expect(read).rejects.toBeInstanceOf(ConnClosedError);
    await expect(here.recv()).rejects.toBeInstanceOf(ConnClosedError);

    const peer = new PushConn();
    const waiting = peer.recv();
    peer.peerGone();
    await expect(waiting).rejects.toThrow('the peer closed the connection');
    expect(peer.closed).toBe(true);
  });

  it('diverts received messages past recv', async () => {
    const c = new PushConn();
    c.receive('early');
    const got: string[] = [];
    c.divert({ onMessage: (m) => got.push(m), onEnd: () => got.push('<end>') });
    c.receive('late');
    await c.close();
    expect(got).toEqual(['early', 'late', '<end>']);
  });
});
