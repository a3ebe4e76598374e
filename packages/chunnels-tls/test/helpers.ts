import type { Conn } from '@bertha/core';
import type { NegotiatedListener } from '@bertha/negotiate';

/** Echoes every message of every accepted connection until the listener closes. */
export function echo<D>(listener: NegotiatedListener<D, unknown>): void {
  void (async () => {
    for await (const conn of listener) {
      void (async () => {
        try {
          for await (const m of conn) await conn.send(m);
        } catch {
          // The connection went away mid-echo.
        }
      })();
    }
  })();
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);

export async function roundTrip(conn: Conn<Uint8Array>, s: string): Promise<string> {
  await conn.send(bytes(s));
  return text(await conn.recv({ signal: AbortSignal.timeout(5000) }));
}
