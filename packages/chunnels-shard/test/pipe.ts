import { AbstractConn, type CallOptions } from '@bertha/core';

/** An in-memory client connection at a sharder: the test pushes requests in and reads what the sharder sends back. */
export class Pipe extends AbstractConn<Uint8Array> {
  readonly sent: Uint8Array[] = [];
  deliver(msg: Uint8Array): void {
    this.inbox.push(msg);
  }
  async sendBatch(msgs: readonly Uint8Array[], _opts?: CallOptions): Promise<void> {
    this.sent.push(...msgs);
  }
  protected async onClose(): Promise<void> {}
}

/** Resolves once `cond` holds, checking every few milliseconds (no fixed sleep). */
export async function until(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
