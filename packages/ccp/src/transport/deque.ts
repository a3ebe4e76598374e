/**
 * A double-ended queue in a ring buffer that doubles when full: the sender's
 * queues. A queue that stays about the same size (a window of packets in
 * flight) allocates nothing once it has grown, where an array with a moving
 * head regrew and was re-sliced every few thousand packets.
 */
export class Deque<T> {
  #items: (T | undefined)[] = new Array<T | undefined>(16).fill(undefined);
  /** `#items.length - 1`; the length is a power of two. */
  #mask = 15;
  #head = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(x: T): void {
    if (this.#size === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#size) & this.#mask] = x;
    this.#size++;
  }

  peek(): T | undefined {
    return this.#size === 0 ? undefined : this.#items[this.#head];
  }

  /** The `i`-th item from the head; the caller keeps `i` below `size`. */
  at(i: number): T {
    return this.#items[(this.#head + i) & this.#mask]!;
  }

  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const h = this.#head;
    const x = this.#items[h];
    this.#items[h] = undefined;
    this.#head = (h + 1) & this.#mask;
    this.#size--;
    return x;
  }

  /** Removes and returns the newest item. */
  pop(): T | undefined {
    if (this.#size === 0) return undefined;
    const i = (this.#head + this.#size - 1) & this.#mask;
    const x = this.#items[i];
    this.#items[i] = undefined;
    this.#size--;
    return x;
  }

  clear(): void {
    this.#items.fill(undefined);
    this.#head = 0;
    this.#size = 0;
  }

  #grow(): void {
    const old = this.#items;
    const items = new Array<T | undefined>(old.length * 2).fill(undefined);
    for (let i = 0; i < this.#size; i++) items[i] = old[(this.#head + i) & this.#mask];
    this.#items = items;
    this.#mask = items.length - 1;
    this.#head = 0;
  }
}
