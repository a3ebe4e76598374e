import type { AgreedPick } from './pick.js';

/** Most pre-registrations a listener keeps; the oldest go first. */
const MAX_ENTRIES = 10_000;

/** A connection waiting for its first negotiation message. */
export interface Adopter {
  adopt(pick: AgreedPick): void;
}

/** Picks third parties registered for peers that have not connected yet, with an expiry. */
export class PreRegistry {
  readonly #ttlMs: number;
  readonly #picks = new Map<string, { pick: AgreedPick; expires: number }>();
  /** Connections from a peer waiting for their first negotiation message: a late registration adopts them. */
  readonly #waiting = new Map<string, Adopter>();

  constructor(ttlMs: number) {
    this.#ttlMs = ttlMs;
  }

  /** Registers `pick` for `peer`; a connection from it already waiting takes it at once. */
  add(peer: string, pick: AgreedPick): void {
    const waiting = this.#waiting.get(peer);
    if (waiting) {
      this.#waiting.delete(peer);
      waiting.adopt(pick);
      return;
    }
    this.#picks.delete(peer);
    this.#picks.set(peer, { pick, expires: Date.now() + this.#ttlMs });
    if (this.#picks.size > MAX_ENTRIES) this.#picks.delete(this.#picks.keys().next().value as string);
  }

  /** The pick registered for `peer`, consumed: it serves one connection. */
  take(peer: string): AgreedPick | undefined {
    // Most listeners never see a pre-registration: no lookup for them.
    if (this.#picks.size === 0) return undefined;
    const e = this.#picks.get(peer);
    if (!e) return undefined;
    this.#picks.delete(peer);
    return e.expires >= Date.now() ? e.pick : undefined;
  }

  /** Lets a late registration for `peer` adopt its waiting connection. */
  wait(peer: string, waiting: Adopter): void {
    this.#waiting.set(peer, waiting);
  }

  /** Undoes `wait` (the connection got its negotiation message, or went away). */
  unwait(peer: string, waiting: Adopter): void {
    if (this.#waiting.get(peer) === waiting) this.#waiting.delete(peer);
  }
}
