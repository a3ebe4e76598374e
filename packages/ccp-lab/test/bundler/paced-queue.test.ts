import { describe, expect, it } from 'vitest';
import type { Clock, Timer } from '@bertha/ccp';
import { FifoScheduler } from '../../src/bundler/fifo-scheduler.js';
import { PacedQueue } from '../../src/bundler/paced-queue.js';

/** A clock whose timers never fire by themselves: the test plays a late event loop, calling kick() itself. */
function manualClock(): Clock & { t: number } {
  const timer = (): Timer => {
    let deadline = Infinity;
    return {
      get armed() {
        return deadline !== Infinity;
      },
      get deadlineUs() {
        return deadline;
      },
      arm(d: number) {
        deadline = clock.t + d;
      },
      cancel() {
        deadline = Infinity;
      },
    };
  };
  const clock = { t: 0, now: () => clock.t, timer, setTimer: () => timer(), defer: (fn: () => void) => fn() };
  return clock;
}

describe('PacedQueue', () => {
  const sentAfterLateKick = (catchUpUs: number | undefined): number => {
    const clock = manualClock();
    let sent = 0;
    // 1000 bytes per ms.
    const q = new PacedQueue(clock, new FifoScheduler({ limitBytes: 1e6 }), () => sent++, { rate: 1e6, catchUpUs });
    for (let i = 0; i < 20; i++) q.enqueue({ bytes: 1000 }, 0);
    expect(sent).toBe(1);
    // The timer was due at 1 ms; the loop gets to it 5 ms late.
    clock.t = 6000;
    q.kick();
    return sent;
  };

  it('makes up a late timer with catchUpUs, and without it sends one packet per firing (the simulator, exact timers)', () => {
    expect(sentAfterLateKick(undefined)).toBe(2);
    // Owed: the packets due at 1, 2, …, 6 ms, but no more than 4 ms of lateness is made up.
    expect(sentAfterLateKick(4000)).toBe(6);
  });
});
