/**
 * The microservice example: a front end and a back end, request/response,
 * 10 requests per connection, on negotiated stacks — run three ways (see
 * service.ts): plain, tls-local (TLS + maybe-local, no pass) and fused (the
 * pass fuseTlsMaybeLocal applied on both ends). Co-located, the fused stack
 * takes the Unix socket without TLS; tls-local runs TLS over that socket.
 * With --netns the back end runs in another network namespace, reached over
 * a veth pair: the local path is never taken there and TLS is used.
 *
 *   pnpm tsx examples/microservice/main.ts [--mode plain|tls-local|fused]… [--netns]
 *                                          [--connections 20] [--requests 10]
 */
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { localDirectory } from '@bertha/chunnels-tls';
import { makeTestCerts } from '@bertha/chunnels-tls/testing';
import { createNamespaces } from './netns.js';
import { MODES, runFrontend, startBackend, type FrontendResult, type Mode } from './service.js';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', multiple: true },
    netns: { type: 'boolean', default: false },
    connections: { type: 'string', default: '20' },
    requests: { type: 'string', default: '10' },
  },
});
const modes = (values.mode ?? MODES) as Mode[];
for (const m of modes) if (!MODES.includes(m)) throw new Error(`--mode must be one of ${MODES.join(', ')}, got ${m}`);
const connections = Number(values.connections);
const requests = Number(values.requests);

// Certificates made now by openssl, and a private directory root, both removed at the end.
const certs = makeTestCerts();
const work = mkdtempSync(join(tmpdir(), 'bertha-microservice-'));
const root = join(work, 'local');
const directory = localDirectory({ root });

const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;
function show(mode: Mode, where: string, r: FrontendResult): void {
  const paths = Object.entries(r.paths).map(([k, n]) => `${n}× ${k}`).join('; ');
  console.log(`${mode.padEnd(9)} ${where}: request p50 ${pct(r.latencies, 50).toFixed(0)} µs, p99 ${pct(r.latencies, 99).toFixed(0)} µs — connections: ${paths}`);
}

try {
  if (!values.netns) {
    for (const mode of modes) {
      const backend = await startBackend(mode, '127.0.0.1', certs.server, directory);
      show(mode, 'co-located', await runFrontend(mode, backend.address, { ca: certs.ca }, directory, connections, requests));
      await backend.close();
    }
  } else {
    const certDir = join(work, 'certs');
    mkdirSync(certDir, { mode: 0o700 });
    writeFileSync(join(certDir, 'ca.crt'), certs.ca);
    writeFileSync(join(certDir, 'server.crt'), certs.server.cert);
    writeFileSync(join(certDir, 'server.key'), certs.server.key, { mode: 0o600 });
    const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
    const peer = fileURLToPath(new URL('./peer.ts', import.meta.url));
    const ns = createNamespaces();
    try {
      for (const mode of modes) {
        const backend = ns.run(ns.b, [tsx, peer, 'backend', mode, ns.addressB, certDir, root]);
        const [line] = (await once(backend.stdout!, 'data')) as [Buffer];
        const { port } = JSON.parse(String(line)) as { port: number };
        const front = ns.run(ns.a, [tsx, peer, 'frontend', mode, ns.addressB, String(port), certDir, root, String(connections), String(requests)]);
        let out = '';
        front.stdout!.on('data', (d: Buffer) => (out += String(d)));
        await once(front, 'exit');
        backend.kill('SIGTERM');
        await once(backend, 'exit');
        show(mode, 'back end in another network namespace', JSON.parse(out) as FrontendResult);
      }
    } finally {
      ns.remove();
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
