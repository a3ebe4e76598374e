/**
 * One service of the example as its own process, for running it in a
 * network namespace (main.ts --netns):
 *
 *   tsx peer.ts backend  <mode> <host> <certs-dir> <directory-root>
 *       prints {"port":…} once listening, then serves until SIGTERM
 *   tsx peer.ts frontend <mode> <host> <port> <certs-dir> <directory-root> <connections> <requests>
 *       prints a FrontendResult as JSON
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { localDirectory } from '@bertha/chunnels-tls';
import { runFrontend, startBackend, type Mode } from './service.js';

const [role, mode, host, ...rest] = process.argv.slice(2) as [string, Mode, string, ...string[]];
const pem = (dir: string, name: string): string => readFileSync(join(dir, name), 'utf8');

if (role === 'backend') {
  const [certs, root] = rest as [string, string];
  const backend = await startBackend(mode, host, { key: pem(certs, 'server.key'), cert: pem(certs, 'server.crt') }, localDirectory({ root }));
  process.on('SIGTERM', () => void backend.close().then(() => process.exit(0)));
  console.log(JSON.stringify({ port: backend.address.port }));
} else {
  const [port, certs, root, connections, requests] = rest as [string, string, string, string, string];
  const result = await runFrontend(mode, { host, port: Number(port) }, { ca: pem(certs, 'ca.crt') }, localDirectory({ root }), Number(connections), Number(requests));
  console.log(JSON.stringify(result));
  process.exit(0);
}
