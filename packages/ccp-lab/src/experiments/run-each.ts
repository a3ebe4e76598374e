import type { Experiment } from './experiment.js';

/**
 * Runs each experiment in turn with `run`; one that fails is passed to
 * `failed` and the others still run (an abort stops them all). Resolves with
 * the names of those that failed.
 */
export async function runEach(list: readonly Experiment[], run: (e: Experiment) => Promise<void>, failed: (e: Experiment, err: unknown) => void, signal: AbortSignal): Promise<string[]> {
  const names: string[] = [];
  for (const e of list) {
    try {
      await run(e);
    } catch (err) {
      if (signal.aborted) throw err;
      names.push(e.name);
      failed(e, err);
    }
  }
  return names;
}
