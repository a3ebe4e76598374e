import { describe, expect, it } from 'vitest';
import type { Experiment, ExperimentResult } from '../../src/experiments/experiment.js';
import { runEach } from '../../src/experiments/run-each.js';

const experiment = (name: string): Experiment => ({ name, description: name, run: () => Promise.resolve({} as ExperimentResult) });
const list = ['a', 'b', 'c'].map(experiment);

describe('runEach (what `ccp-sim all` does with a failing experiment)', () => {
  it('reports the one that fails and still runs the others', async () => {
    const ran: string[] = [];
    const reported: string[] = [];
    const failed = await runEach(
      list,
      async (e) => {
        ran.push(e.name);
        if (e.name === 'b') throw new Error('trace not found');
      },
      (e, err) => reported.push(`${e.name}: ${(err as Error).message}`),
      new AbortController().signal,
    );
    expect(ran).toEqual(['a', 'b', 'c']);
    expect(failed).toEqual(['b']);
    expect(reported).toEqual(['b: trace not found']);
  });

  it('stops at an abort and rethrows it', async () => {
    const ac = new AbortController();
    const ran: string[] = [];
    const run = runEach(
      list,
      async (e) => {
        ran.push(e.name);
        ac.abort();
        throw new Error('aborted');
      },
      () => expect.unreachable('an abort is not a failure'),
      ac.signal,
    );
    await expect(run).rejects.toThrow('aborted');
    expect(ran).toEqual(['a']);
  });
});
