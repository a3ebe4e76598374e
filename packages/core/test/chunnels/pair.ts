import { AbstractConn, mem, memNetwork, type BaseConn, type CallOptions, type Conn, type MemAddress, type MemNetwork, type MemNetworkOptions, type WrapContext } from '@bertha/core';

export interface MemPair {
  readonly network: MemNetwork;
  readonly client: BaseConn<MemAddress>;
  readonly server: BaseConn<MemAddress>;
  close(): Promise<void>;
}

/** Two connected ends of a fresh in-memory network with the given faults. */
export async function memPair(opts: MemNetworkOptions = {}): Promise<MemPair> {
  const network = memNetwork(opts);
  const transport = mem(network);
  const listener = await transport.listen({ name: '' });
  const client = await transport.connect(listener.address);
  const server = await listener.accept();
  return {
    network,
    client,
    server,
    close: async () => {
      await Promise.allSettled([client.close(), server.close()]);
      await listener.close();
    },
  };
}

/** Wraps both ends with the same Chunnel, as a client and a server. */
export async function wrapBoth<I, C>(
  chunnel: { connectWrap(inner: Conn<I>, ctx: WrapContext): Promise<C> },
  client: Conn<I>,
  server: Conn<I>,
): Promise<[C, C]> {
  return Promise.all([chunnel.connectWrap(client, { role: 'client' }), chunnel.connectWrap(server, { role: 'server' })]);
}

/** Resolves after the event loop had a chance to run everything that was ready. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Receives exactly `n` messages. */
export async function recvN<D>(conn: Conn<D>, n: number): Promise<D[]> {
  const out: D[] = [];
  while (out.length < n) out.push(...(await conn.recvBatch(n - out.length)));
  return out;
}

/** A Conn below that records every `sendBatch` call and can be told to fail. */
export class RecordingConn<D> extends AbstractConn<D> {
  readonly calls: D[][] = [];
  failWith: Error | undefined;

  async sendBatch(msgs: readonly D[], _opts?: CallOptions): Promise<void> {
    this.assertOpen();
    if (this.failWith) throw this.failWith;
    this.calls.push([...msgs]);
  }

  /** Makes `msgs` arrive as if from the peer. */
  arrive(...msgs: D[]): void {
    this.inbox.pushMany(msgs);
  }

  protected async onClose(): Promise<void> {}
}

export const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
