/**
 * Rate-limited warnings: the first of a kind is logged at once, later ones
 * within `intervalUs` are only counted, and the next one after the interval
 * logs with a summary of how many were held back. A datapath sending
 * garbage costs a few lines a minute, not one per datagram.
 */
export class LogLimiter {
  readonly #intervalUs: number;
  readonly #kinds = new Map<string, { lastUs: number; suppressed: number }>();

  constructor(intervalUs: number) {
    this.#intervalUs = intervalUs;
  }

  /** Whether to log `kind` now, and the text to append (how many were held back since the last line). */
  admit(kind: string, nowUs: number): string | undefined {
    const k = this.#kinds.get(kind);
    if (k === undefined) {
      // Bounded: kinds are a fixed set of reasons per peer, and peers are forgotten with their state.
      this.#kinds.set(kind, { lastUs: nowUs, suppressed: 0 });
      return '';
    }
    if (nowUs - k.lastUs < this.#intervalUs) {
      k.suppressed++;
      return undefined;
    }
    const note = k.suppressed > 0 ? ` (and ${k.suppressed} more like it in the last ${Math.round((nowUs - k.lastUs) / 1e6)} s)` : '';
    k.lastUs = nowUs;
    k.suppressed = 0;
    return note;
  }

  /** Forgets the kinds whose key starts with `prefix` (a peer that went away). */
  forget(prefix: string): void {
    for (const key of this.#kinds.keys()) if (key.startsWith(prefix)) this.#kinds.delete(key);
  }
}
