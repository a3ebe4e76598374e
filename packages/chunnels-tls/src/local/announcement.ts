import { ConnClosedError, type Conn, type Listener, type PathAddress } from '@bertha/core';
import type { LocalDirectory, LocalEntry } from './directory.js';
import { CLAIM, MAGIC, NONCE_BYTES } from './wire.js';

/** How long an accepted Unix connection may wait for its network half, or the reverse. */
const CLAIM_WAIT_MS = 5000;

/** Live announcements of this process, by token: the server half of the handshake finds them here. */
const byToken = new Map<string, Announcement>();

export function announcementOf(token: string): Announcement | undefined {
  return byToken.get(token);
}

interface Pending {
  conn?: Conn<Uint8Array>;
  waiter?: (conn: Conn<Uint8Array> | undefined) => void;
  timer: NodeJS.Timeout;
}

/**
 * A service announced in the local directory: its Unix listener, whose
 * connections each start with a claim (a nonce the client also sent over
 * the network), and its directory entries. Closing it removes the entries
 * and closes the listener with every connection it accepted.
 */
export class Announcement {
  readonly token: string;
  readonly path: string;
  readonly entries: readonly LocalEntry[];
  readonly #dir: LocalDirectory;
  readonly #listener: Listener<PathAddress>;
  /** Claims by nonce (hex), whichever half came first. */
  readonly #pending = new Map<string, Pending>();
  #closed = false;

  constructor(dir: LocalDirectory, token: string, listener: Listener<PathAddress>, entries: readonly LocalEntry[]) {
    this.#dir = dir;
    this.token = token;
    this.path = listener.address.path;
    this.#listener = listener;
    this.entries = entries;
    byToken.set(token, this);
    void this.#accept();
  }

  async #accept(): Promise<void> {
    for (;;) {
      let conn: Conn<Uint8Array>;
      try {
        conn = await this.#listener.accept();
      } catch {
        return;
      }
      conn.recv({ signal: AbortSignal.timeout(CLAIM_WAIT_MS) }).then(
        (m) => {
          if (m.byteLength !== 2 + NONCE_BYTES || m[0] !== MAGIC || m[1] !== CLAIM) return void conn.close();
          this.#meet(Buffer.from(m.subarray(2)).toString('hex'), conn, undefined);
        },
        () => void conn.close(),
      );
    }
  }

  /** The Unix connection that claimed `nonce`, waiting up to 5 s for it; undefined if none came. */
  claimed(nonce: string): Promise<Conn<Uint8Array> | undefined> {
    return new Promise((resolve) => this.#meet(nonce, undefined, resolve));
  }

  #meet(nonce: string, conn: Conn<Uint8Array> | undefined, waiter: ((c: Conn<Uint8Array> | undefined) => void) | undefined): void {
    const p = this.#pending.get(nonce);
    if (!p) {
      if (this.#closed) {
        void conn?.close();
        waiter?.(undefined);
        return;
      }
      const timer = setTimeout(() => {
        this.#pending.delete(nonce);
        void entry.conn?.close();
        entry.waiter?.(undefined);
      }, CLAIM_WAIT_MS);
      timer.unref();
      const entry: Pending = { timer, ...(conn ? { conn } : {}), ...(waiter ? { waiter } : {}) };
      this.#pending.set(nonce, entry);
      return;
    }
    const c = conn ?? p.conn;
    const w = waiter ?? p.waiter;
    if (c === undefined || w === undefined) {
      // The same half twice: a replayed nonce; refuse it.
      void conn?.close();
      waiter?.(undefined);
      return;
    }
    clearTimeout(p.timer);
    this.#pending.delete(nonce);
    w(c);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    byToken.delete(this.token);
    for (const [, p] of this.#pending) {
      clearTimeout(p.timer);
      p.waiter?.(undefined);
    }
    this.#pending.clear();
    await Promise.all(this.entries.map((e) => this.#dir.remove(e)));
    await this.#listener.close().catch((err: unknown) => {
      if (!(err instanceof ConnClosedError)) throw err;
    });
  }
}
