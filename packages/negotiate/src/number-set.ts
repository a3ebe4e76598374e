import { randomInt } from 'node:crypto';

/** Empty slots hold 0; keys are stored plus one. */
const EMPTY = 0;
const TWO_32 = 0x1_0000_0000;
const MIN_BITS = 10;

/**
 * A set of integers in [0, 2^53 − 1): open addressing over one
 * Float64Array, linear probing, deletion by backward shift. For the strike
 * register, which adds, looks up and removes one key per 0-RTT request: a
 * `Set` of such numbers allocates a heap number per key and cost about four
 * times as much per request. The hash is seeded per set, so a peer choosing
 * its keys cannot aim them at one probe chain.
 */
export class NumberSet {
  #slots = new Float64Array(1 << MIN_BITS);
  #bits = MIN_BITS;
  #size = 0;
  readonly #seed = randomInt(TWO_32);

  get size(): number {
    return this.#size;
  }

  has(key: number): boolean {
    return this.#slots[this.#find(key + 1)] !== EMPTY;
  }

  add(key: number): void {
    if ((this.#size + 1) * 2 > this.#slots.length) this.#grow();
    const k = key + 1;
    const i = this.#find(k);
    if (this.#slots[i] !== EMPTY) return;
    this.#slots[i] = k;
    this.#size++;
  }

  delete(key: number): void {
    const slots = this.#slots;
    const mask = slots.length - 1;
    let i = this.#find(key + 1);
    if (slots[i] === EMPTY) return;
    this.#size--;
    // Pull later entries of the probe chain back over the hole, unless their home lies after it.
    for (let j = (i + 1) & mask; slots[j] !== EMPTY; j = (j + 1) & mask) {
      const home = this.#home(slots[j]!);
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      slots[i] = slots[j]!;
      i = j;
    }
    slots[i] = EMPTY;
  }

  /** The slot holding stored key `k`, or the empty slot where it would go. */
  #find(k: number): number {
    const slots = this.#slots;
    const mask = slots.length - 1;
    let i = this.#home(k);
    while (slots[i] !== EMPTY && slots[i] !== k) i = (i + 1) & mask;
    return i;
  }

  /** Multiplicative hash of both halves, seeded; the top bits pick the slot. */
  #home(k: number): number {
    const h = Math.imul((k >>> 0) ^ this.#seed, 0x9e3779b1) ^ Math.imul(Math.floor(k / TWO_32), 0x85ebca6b);
    return Math.imul(h, 0x9e3779b1) >>> (32 - this.#bits);
  }

  #grow(): void {
    const old = this.#slots;
    this.#bits++;
    this.#slots = new Float64Array(1 << this.#bits);
    for (const k of old) if (k !== EMPTY) this.#slots[this.#find(k)] = k;
  }
}
