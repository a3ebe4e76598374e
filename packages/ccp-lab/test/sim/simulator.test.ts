import { describe, expect, it } from 'vitest';
import { realClock } from '@bertha/ccp';
import { Simulator } from '../../src/sim/simulator.js';

describe('Simulator', () => {
  it('runs events in time order, equal times in scheduling order', () => {
    const sim = new Simulator();
    const log: string[] = [];
    sim.at(30, () => log.push('c30'));
    sim.at(10, () => log.push('a10'));
    sim.at(20, () => log.push('b20-1'));
    sim.at(20, () => log.push('b20-2'));
    sim.at(10, () => {
      log.push('a10-2');
      sim.defer(() => log.push(`deferred@${sim.now()}`));
      sim.after(5, () => log.push('a15'));
    });
    const r = sim.run();
    expect(log).toEqual(['a10', 'a10-2', 'deferred@10', 'a15', 'b20-1', 'b20-2', 'c30']);
    expect(r).toEqual({ events: 7, nowUs: 30, idle: true });
    expect(sim.events).toBe(7);
  });

  it('stops at untilUs, advancing the clock to it, and resumes', () => {
    const sim = new Simulator();
    const seen: number[] = [];
    for (const t of [5, 10, 15, 20]) sim.at(t, () => seen.push(sim.now()));
    expect(sim.run({ untilUs: 12 })).toEqual({ events: 2, nowUs: 12, idle: false });
    expect(sim.now()).toBe(12);
    expect(sim.step()).toBe(true);
    expect(seen).toEqual([5, 10, 15]);
    expect(sim.run({ maxEvents: 5 }).events).toBe(1);
    expect(sim.step()).toBe(false);
    expect(sim.run({ untilUs: 100 }).nowUs).toBe(100);
  });

  it('refuses events in the past and nested runs', () => {
    const sim = new Simulator({ startUs: 50 });
    expect(() => sim.at(49, () => {})).toThrow(/not in the past/);
    sim.at(60, () => expect(() => sim.run()).toThrow(/inside an event/));
    sim.run();
    expect(() => sim.run({ untilUs: 10 })).toThrow(/before the current time/);
  });

  it('is deterministic: same seed, same random streams and the same run', () => {
    const trace = (seed: number): number[] => {
      const sim = new Simulator({ seed });
      const rand = sim.rng();
      const out: number[] = [];
      const tick = (): void => {
        out.push(sim.now());
        if (out.length < 50) sim.after(Math.floor(rand() * 1000), tick);
      };
      tick();
      sim.run();
      return out;
    };
    expect(trace(7)).toEqual(trace(7));
    expect(trace(7)).not.toEqual(trace(8));
    const sim = new Simulator({ seed: 3 });
    expect(sim.rng()()).not.toBe(sim.rng()());
  });

  it('lets promise continuations settle at the same virtual time with runAsync', async () => {
    const sim = new Simulator();
    const times: number[] = [];
    const sleep = (us: number): Promise<void> => new Promise((resolve) => sim.after(us, resolve));
    const loop = (async () => {
      for (let i = 0; i < 3; i++) {
        await sleep(100);
        times.push(sim.now());
      }
    })();
    const r = await sim.runAsync();
    await loop;
    expect(times).toEqual([100, 200, 300]);
    expect(r.idle).toBe(true);
  });
});

describe('virtual timers', () => {
  it('fire once at their deadline and can be cancelled', () => {
    const sim = new Simulator();
    const fired: number[] = [];
    const t = sim.setTimer(100, () => fired.push(sim.now()));
    expect(t.armed).toBe(true);
    expect(t.deadlineUs).toBe(100);
    const c = sim.setTimer(50, () => fired.push(-1));
    c.cancel();
    expect(c.armed).toBe(false);
    sim.run();
    expect(fired).toEqual([100]);
    expect(t.armed).toBe(false);
    expect(t.deadlineUs).toBe(Infinity);
  });

  it('re-arm later moves the deadline without firing at the old one', () => {
    const sim = new Simulator();
    const fired: number[] = [];
    const rto = sim.timer(() => fired.push(sim.now()));
    rto.arm(100);
    // An ACK every 30 µs pushes the RTO out each time.
    for (let i = 1; i <= 10; i++) sim.at(i * 30, () => rto.arm(100));
    sim.run();
    expect(fired).toEqual([400]);
    // Ten ACK callbacks and one expiry: the superseded deadlines ran nothing.
    expect(sim.events).toBe(11);
  });

  it('re-arm earlier fires at the new deadline only', () => {
    const sim = new Simulator();
    const fired: number[] = [];
    const t = sim.timer(() => fired.push(sim.now()));
    t.arm(1000);
    sim.at(10, () => t.arm(20));
    sim.run();
    expect(fired).toEqual([30]);
  });

  it('can be re-armed from its own callback and after cancel', () => {
    const sim = new Simulator();
    const fired: number[] = [];
    const t = sim.timer(() => {
      fired.push(sim.now());
      if (fired.length < 3) t.arm(10);
    });
    t.arm(10);
    sim.run();
    t.arm(5);
    t.cancel();
    t.arm(7);
    sim.run();
    expect(fired).toEqual([10, 20, 30, 37]);
  });
});

describe('realClock', () => {
  it('fires a re-armed timer once, after its latest deadline', async () => {
    const clock = realClock();
    const start = clock.now();
    let firedAt = 0;
    let count = 0;
    await new Promise<void>((resolve) => {
      const t = clock.setTimer(5_000, () => {
        count++;
        firedAt = clock.now();
        resolve();
      });
      clock.setTimer(2_000, () => t.arm(10_000));
    });
    expect(count).toBe(1);
    expect(firedAt - start).toBeGreaterThanOrEqual(11_000);
    await new Promise<void>((resolve) => clock.defer(resolve));
  });
});
