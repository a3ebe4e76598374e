/** A listener's 0-RTT replay protection. */
export interface ReplayProtectionOptions {
  /** How far a 0-RTT request's sent-at time may lie from the server's clock, either way. Default 10,000 ms. */
  readonly windowMs?: number;
  /** Most 0-RTT requests remembered at once; past it, 0-RTT is refused (clients fall back to 1-RTT) until old ones expire. Default 100,000. */
  readonly maxEntries?: number;
}

/**
 * A bounded-time strike register (RFC 8446 §8.2): every 0-RTT request
 * carries a client-chosen unique value (nonce and token, random) and the
 * client's send time; the server accepts a request only if that time lies
 * within `windowMs` of its own clock and the unique value was not seen
 * within the window. So a captured request is accepted at most once by this
 * listener: a replay within the window is a strike, a later one is stale.
 * Either gets a rejection that sends the client (a real one) to 1-RTT.
 */
export class StrikeRegister {
  readonly #windowMs: number;
  readonly #maxEntries: number;
  /** Unique values seen and not yet forgotten. */
  readonly #seen = new Set<number>();
  /**
   * The same values in admission order, with when each may be forgotten (its
   * time left the window), from `#head` on: near enough oldest first, so
   * forgetting looks at the front only (no iterator per request).
   */
  #keys: number[] = [];
  #untils: number[] = [];
  #head = 0;

  constructor(opts: ReplayProtectionOptions = {}) {
    this.#windowMs = opts.windowMs ?? 10_000;
    this.#maxEntries = opts.maxEntries ?? 100_000;
  }

  /** Undefined when the request is fresh (and is now remembered); else why it is refused. */
  admit(nonce: number, token: number, at: number, now: number): string | undefined {
    if (Math.abs(now - at) > this.#windowMs) {
      return `the 0-RTT request was sent ${Math.round((now - at) / 1000)} s from now by the server's clock, outside the ${this.#windowMs} ms replay window (a replay, or clocks that disagree): negotiating with a round trip`;
    }
    // 53 of the 64 bits as a number key (no string per request); two clients share a key with odds of n²/2^54.
    const key = nonce + (token & 0x1f_ffff) * 0x1_0000_0000;
    if (this.#seen.has(key)) return 'the 0-RTT request was seen before (a replay): negotiating with a round trip';
    this.#forget(now);
    if (this.#seen.size >= this.#maxEntries) return 'too many 0-RTT requests in the replay window: negotiating with a round trip';
    this.#seen.add(key);
    this.#keys.push(key);
    this.#untils.push(at + this.#windowMs);
    return undefined;
  }

  /** Drops the oldest entries whose time left the window: a replay of one of them is stale anyway. */
  #forget(now: number): void {
    const keys = this.#keys;
    const untils = this.#untils;
    let head = this.#head;
    while (head < keys.length && untils[head]! < now) this.#seen.delete(keys[head++]!);
    if (head === keys.length) {
      this.#keys = [];
      this.#untils = [];
      head = 0;
    } else if (head > 1024 && head * 2 > keys.length) {
      // Compact once the forgotten front outgrows the rest.
      this.#keys = keys.slice(head);
      this.#untils = untils.slice(head);
      head = 0;
    }
    this.#head = head;
  }
}
