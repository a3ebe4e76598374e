import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tcp, unix } from '@bertha/core';
import { localDirectory, type LocalEntry } from '@bertha/chunnels-tls';
import { makeTestCerts } from '@bertha/chunnels-tls/testing';
import { createNamespaces } from './netns.js';
import { runFrontend, startBackend, type FrontendResult, type Mode } from './service.js';

const certs = makeTestCerts();
const work = mkdtempSync(join(tmpdir(), 'bertha-microservice-test-'));
const root = join(work, 'local');
const directory = localDirectory({ root, cacheMs: 0 });
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('microservice, co-located', () => {
  it.each([
    ['plain', 'network, plain'],
    ['tls-local', 'local, encrypted'],
    ['fused', 'local, plain'],
  ] as const)('%s: every connection goes %s', async (mode: Mode, path) => {
    const backend = await startBackend(mode, '127.0.0.1', certs.server, directory);
    try {
      const r = await runFrontend(mode, backend.address, { ca: certs.ca }, directory, 3, 10);
      expect(r.paths).toEqual({ [path]: 3 });
      expect(r.latencies).toHaveLength(30);
    } finally {
      await backend.close();
    }
  });
});

// Root is needed for network namespaces; CI runs as root, so this never skips there.
const canNetns = process.getuid?.() === 0 || process.env['CI'] !== undefined;

describe.skipIf(!canNetns)('microservice, back end in another network namespace', () => {
  it('uses TLS over the network, never the local path, even with a forged directory entry', { timeout: 120_000 }, async () => {
    const certDir = join(work, 'certs');
    mkdirSync(certDir, { mode: 0o700 });
    writeFileSync(join(certDir, 'ca.crt'), certs.ca);
    writeFileSync(join(certDir, 'server.crt'), certs.server.cert);
    writeFileSync(join(certDir, 'server.key'), certs.server.key, { mode: 0o600 });
    const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
    const peer = fileURLToPath(new URL('./peer.ts', import.meta.url));
    const ns = createNamespaces(`t${process.pid}`);
    const impostor = await unix().listen({ path: join(work, 'impostor.sock') });
    const seen: Uint8Array[] = [];
    void (async () => {
      for await (const c of impostor) void (async () => { for await (const m of c) seen.push(m); })();
    })();
    const backend = ns.run(ns.b, [tsx, peer, 'backend', 'fused', ns.addressB, certDir, root]);
    try {
      const [line] = (await once(backend.stdout!, 'data')) as [Buffer];
      const { port } = JSON.parse(String(line)) as { port: number };
      const address = tcp().format({ host: ns.addressB, port });
      const frontend = async (): Promise<FrontendResult> => {
        const front = ns.run(ns.a, [tsx, peer, 'frontend', 'fused', ns.addressB, String(port), certDir, root, '3', '10']);
        let out = '';
        front.stdout!.on('data', (d: Buffer) => (out += String(d)));
        await once(front, 'exit');
        return JSON.parse(out) as FrontendResult;
      };

      // The back end's own entry names its namespace, not the front end's: it is not local to it.
      const netnsA = execFileSync('ip', ['netns', 'exec', ns.a, 'readlink', '/proc/self/ns/net'], { encoding: 'utf8' }).trim();
      const genuine = JSON.parse(readFileSync(directory.fileOf(address), 'utf8')) as LocalEntry;
      expect(genuine.address).toBe(address);
      expect(genuine.machine).not.toBe(`${hostname()}/${netnsA}`);
      expect((await frontend()).paths).toEqual({ 'network, encrypted': 3 });

      // A forged entry claiming the front end's own namespace, pointing at an impostor's socket.
      const forged: LocalEntry = { v: 1, address, path: impostor.address.path, pid: process.pid, token: 'ef'.repeat(16), machine: `${hostname()}/${netnsA}` };
      writeFileSync(directory.fileOf(address), JSON.stringify(forged), { mode: 0o600 });
      expect((await frontend()).paths).toEqual({ 'network, encrypted': 3 });
      // The impostor saw one claim per connection (random nonces) and no request.
      expect(seen.length).toBeGreaterThan(0);
      for (const m of seen) expect(m.byteLength).toBe(18);
    } finally {
      backend.kill('SIGTERM');
      await impostor.close();
      ns.remove();
    }
  });
});
