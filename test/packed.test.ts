/**
 * The packages as a user gets them: build and `pnpm pack` every public
 * package, install the tarballs with npm into a project outside the workspace
 * (registry dependencies from the registry), then use them the ways a user
 * would: ESM import, CommonJS require, a strict TypeScript project without
 * skipLibCheck (NodeNext and the node10 fallbacks), each bin's --help and
 * --version, and `ccp-sim all --quick` in an empty directory.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = join(root, 'node_modules/typescript/bin/tsc');

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  bin?: Record<string, string>;
  exports?: Record<string, unknown>;
  dependencies?: Record<string, string>;
}
const manifest = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;

const packages = readdirSync(join(root, 'packages'))
  .map((folder) => ({ folder, dir: join(root, 'packages', folder), ...manifest(join(root, 'packages', folder)) }))
  .filter((p) => p.private !== true);
/**
 * Cloud-queue subpaths whose SDK (an optional peer) this consumer does not
 * install: each pulls tens of megabytes, and a user installs only the one they
 * use. Their code is covered by the workspace's tests against real servers.
 */
const sdkSubpaths = new Set(['@bertha/chunnels-pubsub/sqs', '@bertha/chunnels-pubsub/azure', '@bertha/chunnels-pubsub/gcp', '@bertha/chunnels-pubsub/kafka']);
/** Entry points a user imports: `.` and every subpath but `./testing` (which runs under vitest), `./package.json` and the cloud SDKs'. */
const entries = packages
  .flatMap((p) =>
    Object.keys(p.exports ?? { '.': '' })
      .filter((s) => s !== './testing' && s !== './package.json')
      .map((s) => (s === '.' ? p.name : `${p.name}/${s.slice(2)}`)),
  )
  .filter((e) => !sdkSubpaths.has(e));

/**
 * The environment of a user's shell: without what pnpm adds for scripts
 * (NODE_PATH reaches the workspace's hoisted packages, npm_config_* would
 * steer npm), so nothing resolves from the workspace by accident.
 */
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_PATH' && !k.toLowerCase().startsWith('npm_')));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
function run(cmd: string, args: readonly string[], cwd: string, timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: timeoutMs, maxBuffer: 64 << 20, env: { ...env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}
async function ok(cmd: string, args: readonly string[], cwd: string, timeoutMs?: number): Promise<string> {
  const r = await run(cmd, args, cwd, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

let tmp: string;
let project: string;
const bin = (name: string): string => join(project, 'node_modules/.bin', name);

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'bertha-packed-'));
  const tarballs = join(tmp, 'tarballs');
  project = join(tmp, 'project');
  mkdirSync(tarballs);
  mkdirSync(project);
  await ok('pnpm', [...packages.flatMap((p) => ['--filter', p.name]), 'run', 'build'], root, 300_000);
  const deps: Record<string, string> = {};
  for (const p of packages) {
    await ok('pnpm', ['pack', '--pack-destination', tarballs], p.dir);
    deps[p.name] = `file:${join(tarballs, `${p.name.slice(1).replace('/', '-')}-${p.version}.tgz`)}`;
  }
  // ioredis: the optional peer a user of @bertha/negotiate/redis adds (and the declarations its own types lack).
  const pkg = { name: 'consumer', private: true, type: 'module', dependencies: { ...deps, ioredis: '^6.0.0' }, devDependencies: { '@types/node': '^20.19.0', '@types/redis-errors': '^1.2.3' } };
  writeFileSync(join(project, 'package.json'), JSON.stringify(pkg, null, 2));
  await ok('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], project, 300_000);
}, 600_000);

afterAll(() => {
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

describe('packed tarballs installed with npm outside the workspace', () => {
  it('every tarball carries its LICENSE, README and dist', () => {
    for (const p of packages) {
      const files = readdirSync(join(project, 'node_modules', p.name));
      expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'dist', 'package.json']));
    }
  });

  it('imports every entry point from plain Node ESM', async () => {
    const out = await ok('node', ['--input-type=module', '-e', `for (const e of ${JSON.stringify(entries)}) console.log(e, Object.keys(await import(e)).length)`], project);
    const counts = new Map(out.trim().split('\n').map((l) => l.split(' ') as [string, string]));
    for (const entry of entries) expect(Number(counts.get(entry)), entry).toBeGreaterThan(0);
  });

  it('requires the library packages from CommonJS', async () => {
    const libs = entries.filter((e) => !e.startsWith('@bertha/ccp-lab'));
    const out = await ok('node', ['-e', `for (const e of ${JSON.stringify(libs)}) require(e); console.log(require('@bertha/ccp/package.json').version)`], project);
    expect(out.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('@bertha/ccp depends on @bertha/core alone and its code names no plotting or CLI package', () => {
    const ccp = join(project, 'node_modules/@bertha/ccp');
    expect(Object.keys(manifest(ccp).dependencies ?? {})).toEqual(['@bertha/core']);
    const js = readdirSync(join(ccp, 'dist'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'));
    for (const f of js) expect(readFileSync(join(ccp, 'dist', f), 'utf8'), f).not.toMatch(/from '(vega|vega-lite|commander|cli-progress)'/);
  });

  it('each bin answers --help and --version', { timeout: 120_000 }, async () => {
    for (const p of packages) {
      for (const name of Object.keys(p.bin ?? {})) {
        expect(await ok(bin(name), ['--help'], project)).toContain(`Usage: ${name}`);
        expect((await ok(bin(name), ['--version'], project)).trim()).toBe(p.version);
      }
    }
  });

  it('ccp-agent without the optional unix-dgram says which package to install', { timeout: 60_000 }, async () => {
    const r = await run(bin('ccp-agent'), ['--path', join(tmp, 'agent.sock')], project);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('npm i unix-dgram');
  });

  it('@bertha/negotiate reaches ioredis only from its redis subpath', () => {
    const dist = join(project, 'node_modules/@bertha/negotiate/dist');
    const users = readdirSync(dist, { recursive: true, encoding: 'utf8' }).filter((f) => /\.(js|d\.ts)$/.test(f) && readFileSync(join(dist, f), 'utf8').includes("from 'ioredis'"));
    expect(users.sort()).toEqual(['rendezvous/redis-store.d.ts', 'rendezvous/redis-store.js']);
  });

  // The slow checks run side by side; generous limits, as the machine may be loaded.
  it.concurrent('type-checks in a strict project without skipLibCheck (NodeNext, and node10 through types/main)', { timeout: 480_000 }, async () => {
    const names = entries.map((e, i) => `import * as m${i} from '${e}';`).join('\n');
    const use = entries.map((_, i) => `m${i}`).join(', ');
    const src = join(project, 'src');
    mkdirSync(src, { recursive: true });
    writeFileSync(
      join(src, 'index.ts'),
      `${names}\nimport { makeStack, serialize, type Conn } from '@bertha/core';\nimport { ccpTransport } from '@bertha/ccp';\n` +
        `export const stack = makeStack(serialize<{ n: number }>(), ccpTransport());\nexport type C = Conn<{ n: number }>;\nexport const all = [${use}];\n`,
    );
    const strict = { strict: true, noEmit: true, skipLibCheck: false, target: 'ES2022', types: ['node'] };
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...strict, module: 'NodeNext', moduleResolution: 'NodeNext' }, include: ['src'] }));
    // node10 knows no `exports`: the main entries resolve through `types`, subpaths through `typesVersions`.
    writeFileSync(join(src, 'cjs.cts'), `import { makeStack } from '@bertha/core';\nimport { redisStore } from '@bertha/negotiate/redis';\nimport { reno } from '@bertha/ccp';\nexport const used = [makeStack, redisStore, reno];\n`);
    writeFileSync(join(project, 'tsconfig.node10.json'), JSON.stringify({ compilerOptions: { ...strict, module: 'CommonJS', moduleResolution: 'node10' }, files: ['src/cjs.cts'] }));
    await Promise.all([ok('node', [tsc, '-p', 'tsconfig.json'], project, 480_000), ok('node', [tsc, '-p', 'tsconfig.node10.json'], project, 480_000)]);
  });

  it.concurrent('ccp-sim all --quick runs every experiment in an empty directory and writes versioned results', { timeout: 480_000 }, async () => {
    const cwd = mkdtempSync(join(tmp, 'empty-'));
    await ok(bin('ccp-sim'), ['all', '--quick', '--no-progress'], cwd, 480_000);
    const results = readdirSync(join(cwd, 'ccp-sim-out')).filter((f) => f.endsWith('.json'));
    expect(results.sort()).toEqual(['aggregation.json', 'anywhere.json', 'bbr.json', 'bundler.json', 'fidelity.json', 'low-rtt.json', 'slow-start.json']);
    for (const f of results) {
      expect(JSON.parse(readFileSync(join(cwd, 'ccp-sim-out', f), 'utf8'))).toMatchObject({ tool: 'ccp-sim', version: manifest(join(project, 'node_modules/@bertha/ccp-lab')).version, quick: true });
    }
    // The cell link ran the trace shipped in the package.
    expect(readFileSync(join(cwd, 'ccp-sim-out/fidelity.json'), 'utf8')).toContain('Verizon-LTE-short.down, 20 ms');
  });

  it('ccp-sim says what is wrong with a trace it cannot read (`all` goes on past such a failure: test/experiments/run-each.test.ts in the lab)', async () => {
    const r = await run(bin('ccp-sim'), ['fidelity', '--quick', '--no-progress', '--trace', 'no-such.trace'], mkdtempSync(join(tmp, 'empty-')));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('fidelity failed');
    expect(r.stderr).toContain('no-such.trace');
  });
});
