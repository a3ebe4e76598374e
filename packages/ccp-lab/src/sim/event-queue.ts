/** What the queue needs to know of a timer; the simulator owns the logic. */
export interface TimerSlot {
  /** The time of the timer's live entry in the queue, Infinity if none. */
  queuedAt: number;
}

/** A scheduled callback, or the timer whose expiry an entry is. */
export type QueueItem = (() => void) | TimerSlot;

/**
 * A binary min-heap of events ordered by (time, sequence), so equal-time
 * events run in the order they were scheduled and every run is reproducible.
 * Times and sequence numbers live in typed arrays beside the items, not in an
 * object per event: a simulation schedules one or more events per packet, and
 * those objects were a share of its garbage.
 */
export class EventQueue {
  #t = new Float64Array(64);
  #seq = new Float64Array(64);
  #items: (QueueItem | undefined)[] = new Array<QueueItem | undefined>(64).fill(undefined);
  #n = 0;

  get size(): number {
    return this.#n;
  }

  /** Time of the earliest event; Infinity when there is none. */
  get nextTime(): number {
    return this.#n === 0 ? Infinity : this.#t[0]!;
  }

  push(time: number, seq: number, item: QueueItem): void {
    if (this.#n === this.#items.length) this.#grow();
    const t = this.#t;
    const s = this.#seq;
    const items = this.#items;
    let i = this.#n++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = t[parent]!;
      if (pt < time || (pt === time && s[parent]! < seq)) break;
      t[i] = pt;
      s[i] = s[parent]!;
      items[i] = items[parent];
      i = parent;
    }
    t[i] = time;
    s[i] = seq;
    items[i] = item;
  }

  /** Removes the earliest event and returns its item (its time was `nextTime`); undefined when empty. */
  pop(): QueueItem | undefined {
    if (this.#n === 0) return undefined;
    const t = this.#t;
    const s = this.#seq;
    const items = this.#items;
    const top = items[0];
    const n = --this.#n;
    const lastT = t[n]!;
    const lastS = s[n]!;
    const last = items[n];
    items[n] = undefined;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      let ct = t[c]!;
      const r = c + 1;
      if (r < n) {
        const rt = t[r]!;
        if (rt < ct || (rt === ct && s[r]! < s[c]!)) {
          c = r;
          ct = rt;
        }
      }
      if (lastT < ct || (lastT === ct && lastS < s[c]!)) break;
      t[i] = ct;
      s[i] = s[c]!;
      items[i] = items[c];
      i = c;
    }
    t[i] = lastT;
    s[i] = lastS;
    items[i] = last;
    return top;
  }

  clear(): void {
    this.#items.fill(undefined);
    this.#n = 0;
  }

  #grow(): void {
    const cap = 2 * this.#items.length;
    const t = new Float64Array(cap);
    t.set(this.#t);
    const s = new Float64Array(cap);
    s.set(this.#seq);
    const items = new Array<QueueItem | undefined>(cap).fill(undefined);
    for (let i = 0; i < this.#n; i++) items[i] = this.#items[i];
    this.#t = t;
    this.#seq = s;
    this.#items = items;
  }
}
