#!/usr/bin/env node
/**
 * ccp-agent: runs the CCP agent with the built-in algorithms on a Unix
 * datagram socket, where libccp datapaths (or ours) find it.
 *
 *   ccp-agent --ipc unix --path /tmp/ccp/portus --default cubic
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { createAgent, type Logger } from '../agent/index.js';
import { builtinAlgorithms, type ReportMode, type SlowStartMode } from '../algorithms/index.js';
import { DEFAULT_AGENT_PATH, openAgentSocket } from '../ipc/unix-channel.js';

interface CliOptions {
  ipc: 'unix';
  path: string;
  default: string;
  report: 'rtt' | 'ack';
  reportIntervalUs?: number;
  slowStart: SlowStartMode;
  programSlots: number;
  maxFlows: number;
  list?: boolean;
  verbose?: boolean;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a whole number above 0');
  return n;
}

async function main(argv: readonly string[]): Promise<void> {
  const cli = new Command('ccp-agent')
    .description('CCP agent: runs congestion-control algorithms for datapaths (libccp-compatible) that connect over IPC')
    .addOption(new Option('--ipc <transport>', 'IPC transport to datapaths').choices(['unix']).default('unix'))
    .option('--path <path>', 'socket path of the agent (datapaths send here)', DEFAULT_AGENT_PATH)
    .option('--default <algorithm>', 'algorithm for flows that ask for none or for one this agent lacks', 'cubic')
    .addOption(new Option('--report <mode>', 'when datapaths report: once per RTT, or on every ACK').choices(['rtt', 'ack']).default('rtt'))
    .addOption(new Option('--report-interval-us <us>', 'report every fixed interval instead (µs)').argParser(positiveInt).conflicts('report'))
    .addOption(
      new Option('--slow-start <where>', 'where window-based algorithms run slow start').choices(['agent', 'datapath-window', 'datapath-rate']).default('agent'),
    )
    .addOption(new Option('--program-slots <n>', "program table slots of each datapath (libccp's table)").argParser(positiveInt).default(10))
    .addOption(new Option('--max-flows <n>', 'flows one datapath may have; CREATEs past it are refused').argParser(positiveInt).default(4096))
    .option('--list', 'list the algorithms and exit')
    .option('-v, --verbose', 'log every datapath event')
    .showHelpAfterError();
  cli.parse(argv, { from: 'node' });
  const o = cli.opts<CliOptions>();

  const report: ReportMode = o.reportIntervalUs !== undefined ? { intervalUs: o.reportIntervalUs } : o.report;
  const algorithms = builtinAlgorithms({ report, slowStart: o.slowStart });
  if (o.list === true) {
    for (const a of algorithms) console.log(`${a.name}${a.name === o.default ? ' (default)' : ''}`);
    return;
  }
  if (!algorithms.some((a) => a.name === o.default)) {
    cli.error(`error: unknown --default algorithm '${o.default}'; choose one of: ${algorithms.map((a) => a.name).join(', ')}`);
  }

  const log: Logger = (level, message, error) => {
    if (level === 'warn' || o.verbose === true) console.error(`ccp-agent: ${message}`, ...(error === undefined || o.verbose !== true ? [] : [error]));
  };
  const channel = await openAgentSocket({ path: o.path });
  const agent = createAgent({ algorithms, default: o.default, channel, log, datapathProgramSlots: o.programSlots, maxFlowsPerDatapath: o.maxFlows });
  console.log(`ccp-agent: listening on ${o.path} (default ${o.default}; algorithms: ${algorithms.map((a) => a.name).join(', ')})`);

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

main(process.argv).catch((err: unknown) => {
  console.error(`ccp-agent: ${(err as Error).message ?? String(err)}`);
  process.exit(1);
});
