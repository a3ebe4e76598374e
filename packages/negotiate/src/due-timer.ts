/**
 * Negotiation's waits (requests waiting for an answer, connections waiting
 * for the peer's `close`) and the one timer that serves them all: a timer
 * per connection (set, then cleared when the answer comes) showed in
 * connection set-up profiles. The timer runs at the earliest due time; while
 * nothing waits it is unref'd (it must not keep the process alive), and when
 * it fires then, it finds nothing to do.
 */

/** A wait: `fire` is called once it is due, unless it was unscheduled. */
export interface Timed {
  /** When it is due (`Date.now()` ms). */
  readonly due: number;
  fire(now: number): void;
}

const waiting = new Set<Timed>();
let timer: NodeJS.Timeout | undefined;
let timerAt = Infinity;

export function schedule(x: Timed): void {
  waiting.add(x);
  if (waiting.size === 1) timer?.ref();
  if (x.due >= timerAt) return;
  clearTimeout(timer);
  timerAt = x.due;
  timer = setTimeout(tick, Math.max(1, x.due - Date.now()));
}

export function unschedule(x: Timed): void {
  waiting.delete(x);
  if (waiting.size === 0) timer?.unref();
}

function tick(): void {
  timer = undefined;
  timerAt = Infinity;
  const now = Date.now();
  for (const x of [...waiting]) {
    if (x.due > now) continue;
    waiting.delete(x);
    x.fire(now);
  }
  // A wait fired above may have scheduled itself again (a re-send); the others may be due sooner.
  let next = Infinity;
  for (const x of waiting) next = Math.min(next, x.due);
  if (next < timerAt) {
    clearTimeout(timer);
    timerAt = next;
    timer = setTimeout(tick, Math.max(1, next - now));
  }
}
