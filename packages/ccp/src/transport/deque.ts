/** An array deque with a moving head, compacted now and then: the sender's queues. */
export class Deque<T> {
  #items: T[] = [];
  #head = 0;

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(x: T): void {
    this.#items.push(x);
  }

  peek(): T | undefined {
    return this.#items[this.#head];
  }

  /** The `i`-th item from the head; the caller keeps `i` below `size`. */
  at(i: number): T {
    return this.#items[this.#head + i]!;
  }

  shift(): T | undefined {
    const x = this.#items[this.#head];
    if (x === undefined) return undefined;
    this.#items[this.#head++] = undefined as T;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= 4096 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return x;
  }

  /** Removes and returns the newest item. */
  pop(): T | undefined {
    if (this.#head === this.#items.length) return undefined;
    const x = this.#items.pop();
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    }
    return x;
  }

  clear(): void {
    this.#items = [];
    this.#head = 0;
  }
}
