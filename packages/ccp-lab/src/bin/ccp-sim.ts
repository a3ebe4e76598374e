#!/usr/bin/env node
/**
 * ccp-sim: runs the CCP experiments (simulated links, and real UDP sockets for
 * `anywhere`), prints a summary table per experiment and writes JSON and SVG
 * plots.
 *
 *   ccp-sim bbr --quick
 *   ccp-sim all --seed 7 --out results/
 *   ccp-sim fidelity --trace my-link.down
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import { Command, InvalidArgumentError } from 'commander';
import { EXPERIMENTS } from '../experiments/all.js';
import { runEach } from '../experiments/run-each.js';
import type { Experiment, ExperimentOptions } from '../experiments/experiment.js';
import { formatTable, writeResult } from '../experiments/output.js';

/** src/bin and dist/bin are both two levels below the package root. */
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

interface CliOptions {
  duration?: number;
  seed: number;
  out: string;
  quick?: boolean;
  trace?: string;
  progress: boolean;
}

function positive(value: string): number {
  const n = Number(value);
  if (!(Number.isFinite(n) && n > 0)) throw new InvalidArgumentError('expected a number above 0');
  return n;
}

function seedOf(value: string): number {
  const n = Number(value);
  if (!(Number.isInteger(n) && n >= 0 && n < 2 ** 32)) throw new InvalidArgumentError('expected a whole number in [0, 2^32)');
  return n;
}

async function runOne(e: Experiment, o: CliOptions, signal: AbortSignal): Promise<void> {
  // A bar only where someone watches it: piped output gets the table alone.
  const bar = o.progress && process.stdout.isTTY ? new SingleBar({ format: `${e.name.padEnd(12)} [{bar}] {percentage}% | {duration_formatted}`, hideCursor: true }, Presets.shades_classic) : undefined;
  bar?.start(1, 0);
  const opts: ExperimentOptions = {
    ...(o.duration !== undefined ? { durationS: o.duration } : {}),
    seed: o.seed,
    quick: o.quick === true,
    ...(o.trace !== undefined ? { trace: o.trace } : {}),
    signal,
    progress: (done, total) => {
      bar?.setTotal(total);
      bar?.update(done);
    },
  };
  const t0 = performance.now();
  let result;
  try {
    result = await e.run(opts);
  } finally {
    bar?.stop();
  }
  const seconds = (performance.now() - t0) / 1000;
  const files = await writeResult(result, o.out, { tool: 'ccp-sim', version, quick: o.quick === true });
  console.log(`\n━━ ${e.name}: ${e.description} (${seconds.toFixed(1)} s)\n`);
  console.log(formatTable(result.table));
  for (const note of result.notes ?? []) console.log(`• ${note}`);
  console.log(`\nwrote ${files.join(', ')}`);
}

async function main(argv: readonly string[]): Promise<void> {
  const cli = new Command('ccp-sim')
    .description('CCP experiments on an emulated network: each subcommand runs one, `all` runs every one')
    .option('--duration <seconds>', 'seconds per run (default: per experiment)', positive)
    .option('--seed <n>', 'seed of every random choice', seedOf, 1)
    .option('--out <dir>', 'where JSON and SVG files go', 'ccp-sim-out')
    .option('--quick', 'short runs on scaled-down links (seconds of wall time)')
    .option('--trace <file>', 'a mahimahi trace for the trace-driven link (default: the shipped Verizon LTE downlink)')
    .option('--no-progress', 'never show a progress bar')
    .version(version)
    .showHelpAfterError();
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  const run = async (list: readonly Experiment[]): Promise<void> => {
    const o = cli.opts<CliOptions>();
    const options = { ...o, out: resolve(o.out), ...(o.trace !== undefined ? { trace: resolve(o.trace) } : {}) };
    // One experiment failing does not stop the others; the exit code says that some failed.
    const failed = await runEach(list, (e) => runOne(e, options, ac.signal), (e, err) => console.error(`\nccp-sim: ${e.name} failed: ${err instanceof Error ? err.message : String(err)}`), ac.signal);
    if (failed.length > 0) {
      console.error(`\nccp-sim: ${failed.length} of ${list.length} experiments failed: ${failed.join(', ')}`);
      process.exitCode = 1;
    }
  };
  for (const e of EXPERIMENTS) cli.command(e.name).description(e.description).action(() => run([e]));
  cli.command('all').description('every experiment, one after the other').action(() => run(EXPERIMENTS));
  await cli.parseAsync(argv, { from: 'node' });
}

main(process.argv).catch((err: unknown) => {
  console.error(`ccp-sim: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
