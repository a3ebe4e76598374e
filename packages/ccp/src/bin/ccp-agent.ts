#!/usr/bin/env node
/**
 * ccp-agent: runs the CCP agent with the built-in algorithms on a Unix
 * datagram socket, where libccp datapaths (or ours) find it. Options are
 * parsed with node:util so the library needs no CLI dependency.
 *
 *   ccp-agent --ipc unix --path /tmp/ccp/portus --default cubic
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createAgent, type Logger } from '../agent/index.js';
import { builtinAlgorithms, type ReportMode, type SlowStartMode } from '../algorithms/index.js';
import { DEFAULT_AGENT_PATH, openAgentSocket } from '../ipc/unix-channel.js';

/** src/bin and dist/bin are both two levels below the package root. */
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const HELP = `Usage: ccp-agent [options]

CCP agent: runs congestion-control algorithms for datapaths (libccp-compatible) that connect over IPC

Options:
  --ipc <transport>          IPC transport to datapaths (choices: "unix", default: "unix")
  --path <path>              socket path of the agent (datapaths send here) (default: "${DEFAULT_AGENT_PATH}")
  --default <algorithm>      algorithm for flows that ask for none or for one this agent lacks (default: "cubic")
  --report <mode>            when datapaths report: once per RTT, or on every ACK (choices: "rtt", "ack", default: "rtt")
  --report-interval-us <us>  report every fixed interval instead (µs); not with --report
  --slow-start <where>       where window-based algorithms run slow start (choices: "agent", "datapath-window",
                             "datapath-rate", default: "agent")
  --program-slots <n>        program table slots of each datapath (libccp's table) (default: 10)
  --max-flows <n>            flows one datapath may have; CREATEs past it are refused (default: 4096)
  --list                     list the algorithms and exit
  -v, --verbose              log every datapath event
  -V, --version              output the version number
  -h, --help                 display help for command
`;

class UsageError extends Error {}

function choice<T extends string>(name: string, value: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`option '--${name} <value>' argument '${value}' is invalid. Allowed choices are ${choices.join(', ')}.`);
  return value as T;
}

function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`option '--${name} <value>' argument '${value}' is invalid. expected a whole number above 0`);
  return n;
}

async function main(args: readonly string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      strict: true,
      options: {
        ipc: { type: 'string', default: 'unix' },
        path: { type: 'string', default: DEFAULT_AGENT_PATH },
        default: { type: 'string', default: 'cubic' },
        report: { type: 'string' },
        'report-interval-us': { type: 'string' },
        'slow-start': { type: 'string', default: 'agent' },
        'program-slots': { type: 'string', default: '10' },
        'max-flows': { type: 'string', default: '4096' },
        list: { type: 'boolean', default: false },
        verbose: { type: 'boolean', short: 'v', default: false },
        version: { type: 'boolean', short: 'V', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return void process.stdout.write(HELP);
  if (values.version) return void console.log(version);
  choice('ipc', values.ipc, ['unix'] as const);
  if (values.report !== undefined && values['report-interval-us'] !== undefined) {
    throw new UsageError("option '--report-interval-us <us>' cannot be used with option '--report <mode>'");
  }
  const report: ReportMode =
    values['report-interval-us'] !== undefined
      ? { intervalUs: positiveInt('report-interval-us', values['report-interval-us']) }
      : choice('report', values.report ?? 'rtt', ['rtt', 'ack'] as const);
  const slowStart = choice<SlowStartMode>('slow-start', values['slow-start'], ['agent', 'datapath-window', 'datapath-rate']);
  const algorithms = builtinAlgorithms({ report, slowStart });
  if (values.list) {
    for (const a of algorithms) console.log(`${a.name}${a.name === values.default ? ' (default)' : ''}`);
    return;
  }
  if (!algorithms.some((a) => a.name === values.default)) {
    throw new UsageError(`unknown --default algorithm '${values.default}'; choose one of: ${algorithms.map((a) => a.name).join(', ')}`);
  }

  const verbose = values.verbose;
  const log: Logger = (level, message, error) => {
    if (level === 'warn' || verbose) console.error(`ccp-agent: ${message}`, ...(error === undefined || !verbose ? [] : [error]));
  };
  const channel = await openAgentSocket({ path: values.path });
  const agent = createAgent({
    algorithms,
    default: values.default,
    channel,
    log,
    datapathProgramSlots: positiveInt('program-slots', values['program-slots']),
    maxFlowsPerDatapath: positiveInt('max-flows', values['max-flows']),
  });
  console.log(`ccp-agent: listening on ${values.path} (default ${values.default}; algorithms: ${algorithms.map((a) => a.name).join(', ')})`);

  const shutdown = (signal: NodeJS.Signals): void => {
    console.log(`ccp-agent: ${signal}: closing (${agent.flowCount} flows, ${agent.stats.reports} reports handled)`);
    // Closing ends the flows, closes the socket and removes its file; a second signal forces exit.
    process.once(signal, () => process.exit(1));
    agent.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('ccp-agent: error while closing', err);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError) {
    console.error(`error: ${err.message}\n\n${HELP}`);
    process.exit(2);
  }
  console.error(`ccp-agent: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
