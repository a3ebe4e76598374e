/**
 * The compliance suite every base connection passes (after libp2p's
 * interface-compliance-tests); run it from a vitest file.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AddressError } from '../base/errors.js';
import type { BaseConn, Listener, Transport } from '../base/transport.js';
import { AbortError, ConnClosedError, MessageTooLargeError } from '../errors.js';

export interface ComplianceOptions<A> {
  /** A fresh address to listen on (port 0, a new path or name). */
  address(): A;
  /**
   * True when the transport knows about connections (TCP, Unix, mem): a
   * peer's close reaches the other end and connecting to nothing fails.
   * False for UDP.
   */
  connectionOriented: boolean;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const text = (m: Uint8Array): string => dec.decode(m);

function bytes(size: number, seed: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/**
 * The behaviour every base connection shares. Run it against each transport:
 * `describeTransportCompliance('tcp', () => tcp(), { address: …, connectionOriented: true })`.
 * The transport should have a maxMessageSize small enough to allocate in a test (≤ a few MiB).
 */
export function describeTransportCompliance<A>(name: string, makeTransport: () => Transport<A>, opts: ComplianceOptions<A>): void {
  describe(`${name} transport compliance`, () => {
    const cleanup: (() => Promise<void>)[] = [];
    afterEach(async () => {
      await Promise.all(cleanup.splice(0).map((f) => f()));
    });

    async function listen(t: Transport<A>): Promise<Listener<A>> {
      const l = await t.listen(opts.address());
      cleanup.push(() => l.close());
      return l;
    }

    async function connect(t: Transport<A>, l: Listener<A>): Promise<BaseConn<A>> {
      const c = await t.connect(l.address);
      cleanup.push(() => c.close());
      return c;
    }

    /** A connected pair; the client speaks first, since a datagram listener learns of a peer from its first message. */
    async function pair(t = makeTransport()): Promise<{ t: Transport<A>; l: Listener<A>; client: BaseConn<A>; server: BaseConn<A> }> {
      const l = await listen(t);
      const client = await connect(t, l);
      await client.send(enc.encode('hello'));
      const server = await l.accept();
      expect(text(await server.recv())).toBe('hello');
      return { t, l, client, server };
    }

    it('connects, accepts and echoes one message each way', async () => {
      const { l, client, server } = await pair();
      await server.send(enc.encode('world'));
      expect(text(await client.recv())).toBe('world');
      expect(l.stats.accepted).toBe(1);
      expect(client.stats.sent).toBe(1);
      expect(server.stats.received).toBe(1);
      expect(client.stats.received).toBe(1);
      expect(client.closed).toBe(false);
      expect(typeof client.maxMessageSize).toBe('number');
    });

    it('formats addresses with the transport kind', async () => {
      const t = makeTransport();
      const l = await listen(t);
      expect(t.format(l.address).startsWith(`${t.kind}:`)).toBe(true);
    });

    it('echoes a batch in order, with message boundaries kept', async () => {
      const { client, server } = await pair();
      const sizes = [0, 1, 2, 3, 100, 1000, 5000, 17_000, 7, Math.min(client.maxMessageSize, 60_000)];
      const batch = sizes.map((s, i) => bytes(s, i));
      await client.sendBatch(batch);
      const got: Uint8Array[] = [];
      while (got.length < batch.length) got.push(...(await server.recvBatch(batch.length - got.length)));
      expect(got.map((m) => m.byteLength)).toEqual(sizes);
      got.forEach((m, i) => expect(Buffer.from(m).equals(Buffer.from(batch[i]!))).toBe(true));
      await server.sendBatch(got);
      const back: Uint8Array[] = [];
      while (back.length < batch.length) back.push(...(await client.recvBatch(64)));
      expect(back.map((m) => m.byteLength)).toEqual(sizes);
    });

    it('carries a message of exactly maxMessageSize', async () => {
      const { client, server } = await pair();
      const big = bytes(client.maxMessageSize, 9);
      await client.send(big);
      const got = await server.recv();
      expect(got.byteLength).toBe(big.byteLength);
      expect(Buffer.from(got).equals(Buffer.from(big))).toBe(true);
    });

    it('copies on send, so the sender may reuse its buffer', async () => {
      const { client, server } = await pair();
      const buf = enc.encode('first');
      await client.send(buf);
      buf.set(enc.encode('xxxxx'));
      expect(text(await server.recv())).toBe('first');
    });

    it('rejects an oversized message, and a batch holding one, without sending anything of it', async () => {
      const { client, server } = await pair();
      const max = client.maxMessageSize;
      await expect(client.send(new Uint8Array(max + 1))).rejects.toBeInstanceOf(MessageTooLargeError);
      await expect(client.sendBatch([enc.encode('not sent'), new Uint8Array(max + 1)])).rejects.toMatchObject({
        code: 'ERR_MESSAGE_TOO_LARGE',
        size: max + 1,
        limit: max,
      });
      await client.send(enc.encode('after'));
      expect(text(await server.recv())).toBe('after');
      expect(client.closed).toBe(false);
    });

    it('is an async iterable that ends when the connection closes', async () => {
      const { client, server } = await pair();
      await client.sendBatch(['a', 'b', 'c'].map((s) => enc.encode(s)));
      const seen: string[] = [];
      const done = (async () => {
        for await (const m of server) {
          seen.push(text(m));
          if (seen.length === 3) void server.close();
        }
      })();
      await done;
      expect(seen).toEqual(['a', 'b', 'c']);
      expect(server.closed).toBe(true);
    });

    it('cancels recv through an AbortSignal and stays usable', async () => {
      const { client, server } = await pair();
      const ac = new AbortController();
      const pending = server.recv({ signal: ac.signal });
      ac.abort();
      await expect(pending).rejects.toBeInstanceOf(AbortError);
      await expect(server.recvBatch(4, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
      await expect(client.send(enc.encode('x'), { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
      await client.send(enc.encode('still here'));
      expect(text(await server.recv())).toBe('still here');
    });

    it('rejects recv and send after close, and close is idempotent', async () => {
      const { client } = await pair();
      const waiting = client.recv();
      await client.close();
      await client.close();
      expect(client.closed).toBe(true);
      await expect(waiting).rejects.toBeInstanceOf(ConnClosedError);
      await expect(client.recv()).rejects.toBeInstanceOf(ConnClosedError);
      await expect(client.send(enc.encode('x'))).rejects.toBeInstanceOf(ConnClosedError);
    });

    it('closes every accepted connection and ends accept when the listener closes', async () => {
      const t = makeTransport();
      const l = await t.listen(opts.address());
      const client = await connect(t, l);
      await client.send(enc.encode('hi'));
      const server = await l.accept();
      expect(text(await server.recv())).toBe('hi');
      const accepting = (async () => {
        const rest: BaseConn<A>[] = [];
        for await (const c of l) rest.push(c);
        return rest;
      })();
      await l.close();
      await l.close();
      expect(await accepting).toEqual([]);
      expect(server.closed).toBe(true);
      await expect(server.recv()).rejects.toBeInstanceOf(ConnClosedError);
      await expect(l.accept()).rejects.toBeInstanceOf(ConnClosedError);
      // The address is free again.
      const again = await listen(t);
      expect(again.stats.accepted).toBe(0);
    });

    it('keeps the listener serving when one accepted connection closes', async () => {
      const { t, l, server } = await pair();
      await server.close();
      const other = await connect(t, l);
      await other.send(enc.encode('second'));
      const s2 = await l.accept();
      expect(text(await s2.recv())).toBe('second');
      await s2.send(enc.encode('ok'));
      expect(text(await other.recv())).toBe('ok');
    });

    it('serves 50 peers on one listener, each with its own connection', async () => {
      const t = makeTransport();
      const l = await listen(t);
      const clients = await Promise.all(Array.from({ length: 50 }, () => connect(t, l)));
      await Promise.all(clients.map((c, i) => c.send(enc.encode(`peer ${i}`))));
      const echoes: Promise<void>[] = [];
      for (let i = 0; i < clients.length; i++) {
        const s = await l.accept();
        echoes.push(s.recv().then((m) => s.send(enc.encode(`echo ${text(m)}`))));
      }
      await Promise.all(echoes);
      const replies = await Promise.all(clients.map((c) => c.recv()));
      expect(replies.map(text)).toEqual(clients.map((_, i) => `echo peer ${i}`));
      expect(l.stats.accepted).toBe(50);
    });

    it('refuses to listen on an address in use', async () => {
      const t = makeTransport();
      const l = await listen(t);
      await expect(t.listen(l.address)).rejects.toBeInstanceOf(AddressError);
    });

    if (opts.connectionOriented) {
      it("ends the peer's recv after it drained, when one end closes", async () => {
        const { client, server } = await pair();
        await client.sendBatch([enc.encode('last 1'), enc.encode('last 2')]);
        await client.close();
        expect(text(await server.recv())).toBe('last 1');
        expect(text(await server.recv())).toBe('last 2');
        await expect(server.recv()).rejects.toBeInstanceOf(ConnClosedError);
        expect(server.closed).toBe(true);
      });

      it('fails to connect where nothing listens, with ERR_ADDRESS', async () => {
        const t = makeTransport();
        const l = await t.listen(opts.address());
        const addr = l.address;
        await l.close();
        await expect(t.connect(addr)).rejects.toMatchObject({ code: 'ERR_ADDRESS' });
      });
    }
  });
}
