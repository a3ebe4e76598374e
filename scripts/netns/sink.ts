/**
 * The receiving end of `scripts/netns-compare.sh`: drains every TCP
 * connection on `--tcp-port` and every CCP transport flow on `--udp-port`,
 * prints `ready` once both listen, and runs until SIGTERM or SIGINT.
 */
import { parseArgs } from 'node:util';
import { startDrain } from './drain.js';

const { values } = parseArgs({ options: { host: { type: 'string' }, 'tcp-port': { type: 'string' }, 'udp-port': { type: 'string' } } });
const host = values.host;
if (host === undefined) throw new Error('sink.ts: --host is required');

const drain = await startDrain(host, Number(values['tcp-port']), Number(values['udp-port']));
const stop = (): void => {
  void drain.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
console.log('ready');
