/** One scheduled callback; `seq` breaks ties between equal times in scheduling order. */
export interface SimEvent {
  readonly t: number;
  readonly seq: number;
  /** A plain callback, or the timer whose expiry this is. */
  readonly fn: (() => void) | undefined;
  readonly timer: TimerSlot | undefined;
}

/** What the queue needs to know of a timer; the simulator owns the logic. */
export interface TimerSlot {
  /** The time of the timer's live entry in the queue, Infinity if none. */
  queuedAt: number;
}

/**
 * A binary min-heap of events ordered by (time, sequence), so equal-time
 * events run in the order they were scheduled and every run is reproducible.
 */
export class EventQueue {
  readonly #heap: SimEvent[] = [];

  get size(): number {
    return this.#heap.length;
  }

  peek(): SimEvent | undefined {
    return this.#heap[0];
  }

  push(ev: SimEvent): void {
    const h = this.#heap;
    let i = h.length;
    h.push(ev);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent]!;
      if (p.t < ev.t || (p.t === ev.t && p.seq < ev.seq)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = ev;
  }

  pop(): SimEvent | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    const n = h.length;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      let child = h[c]!;
      const r = c + 1;
      if (r < n) {
        const right = h[r]!;
        if (right.t < child.t || (right.t === child.t && right.seq < child.seq)) {
          c = r;
          child = right;
        }
      }
      if (last.t < child.t || (last.t === child.t && last.seq < child.seq)) break;
      h[i] = child;
      i = c;
    }
    h[i] = last;
    return top;
  }

  clear(): void {
    this.#heap.length = 0;
  }
}
