// Starts a throw-away Redis Cluster for tests: six `redis-server --cluster-enabled yes`
// on free loopback ports (3 masters, 3 replicas), joined with `redis-cli --cluster create`,
// with no persistence and a short node timeout (1 s) so that failovers finish in a few
// seconds. Tests that kill nodes or move slots start their own cluster; the shared one
// comes from the global setup.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort } from './redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `host:port` of every node of the shared Redis Cluster (ioredis `new Cluster(nodes)`). */
    redisClusterNodes: string[];
  }
}

const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';
const REDIS_CLI = process.env.REDIS_CLI ?? '/usr/bin/redis-cli';

/** Node timeout: how long a master may be silent before its replica takes over. */
export const CLUSTER_NODE_TIMEOUT_MS = 1_000;

export interface ClusterNodeAddress {
  readonly host: string;
  readonly port: number;
}

export interface RedisCluster {
  /** Every node, masters and replicas, as `{ host, port }`. */
  readonly nodes: readonly ClusterNodeAddress[];
  /** `redis-cli` with `args` against the node on `port`; its stdout (throws on failure). */
  cli(port: number, ...args: string[]): string;
  /** The master that serves `slot` now, per the node on `askPort` (any live node). */
  masterOf(slot: number, askPort?: number): number;
  /** The process id of the node on `port` (to stop and continue it). */
  pid(port: number): number;
  /** Moves `slot`, keys and all, from master `from` to master `to` (CLUSTER SETSLOT and MIGRATE, as `redis-cli --cluster reshard` does). */
  migrate(slot: number, from: number, to: number): void;
  /** Kills the node on `port` (SIGKILL: no goodbye to the cluster). */
  kill(port: number): Promise<void>;
  /** Starts a killed node again with its old identity; it rejoins (as a replica if it lost its slots). */
  restart(port: number): Promise<void>;
  /** Resolves once every live node reports `cluster_state:ok`, every slot has a live master, and every live replica is in sync. */
  waitOk(timeoutMs?: number): Promise<void>;
  /** Stops every node and removes their directories. */
  stop(): Promise<void>;
}

/** The shared cluster of the test run (see scripts/test-global-setup.ts). */
export async function provide(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startRedisCluster();
  project.provide(
    'redisClusterNodes',
    cluster.nodes.map((n) => `${n.host}:${n.port}`),
  );
  return () => cluster.stop();
}

export async function startRedisCluster(): Promise<RedisCluster> {
  for (const bin of [REDIS_SERVER, REDIS_CLI]) {
    if (!existsSync(bin)) throw new Error(`${bin} not found: run \`apt-get install -y redis-server redis-tools\` (or set REDIS_SERVER / REDIS_CLI)`);
  }
  const root = mkdtempSync(join(tmpdir(), 'bertha-redis-cluster-'));
  const ports: number[] = [];
  const children = new Map<number, ChildProcess>();
  const busPorts = new Map<number, number>();
  const cli = (port: number, ...args: string[]): string => {
    const r = spawnSync(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), ...args], { encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0) throw new Error(`redis-cli -p ${port} ${args.join(' ')} failed: ${r.stderr || r.stdout}`);
    return r.stdout;
  };
  const launch = async (port: number) => children.set(port, await launchNode(root, port, busPorts.get(port)!));
  const stopAll = async () => {
    await Promise.all([...children.values()].map((c) => kill(c, 'SIGKILL')));
    children.clear();
    rmSync(root, { recursive: true, force: true });
  };
  try {
    // Six distinct ports for clients and six for the cluster bus (not port + 10000, which may be taken).
    while (ports.length < 6) {
      const port = await freePort();
      const bus = await freePort();
      if (port === bus || ports.includes(port) || ports.includes(bus) || [...busPorts.values()].some((b) => b === port || b === bus)) continue;
      ports.push(port);
      busPorts.set(port, bus);
    }
    await Promise.all(ports.map(launch));
    await run(REDIS_CLI, ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes']);
    const cluster: RedisCluster = {
      nodes: ports.map((port) => ({ host: '127.0.0.1', port })),
      cli,
      masterOf(slot, askPort) {
        const live = askPort ?? ports.find((p) => children.has(p))!;
        for (const line of cli(live, 'CLUSTER', 'NODES').trim().split('\n')) {
          const [, address = '', flags = '', , , , , state, ...slots] = line.split(' ');
          if (!flags.includes('master') || flags.includes('fail') || state !== 'connected') continue;
          for (const range of slots) {
            if (range.startsWith('[')) continue; // a slot being migrated
            const [lo = '', hi = lo] = range.split('-');
            if (slot >= Number(lo) && slot <= Number(hi)) return Number(address.split(':')[1]!.split('@')[0]);
          }
        }
        throw new Error(`no live master serves slot ${slot}`);
      },
      pid(port) {
        const pid = children.get(port)?.pid;
        if (pid === undefined) throw new Error(`node ${port} is not running`);
        return pid;
      },
      migrate(slot, from, to) {
        const fromId = cli(from, 'CLUSTER', 'MYID').trim();
        const toId = cli(to, 'CLUSTER', 'MYID').trim();
        cli(to, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', fromId);
        cli(from, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', toId);
        for (;;) {
          const keys = cli(from, 'CLUSTER', 'GETKEYSINSLOT', String(slot), '100').trim().split('\n').filter(Boolean);
          if (keys.length === 0) break;
          cli(from, 'MIGRATE', '127.0.0.1', String(to), '', '0', '5000', 'KEYS', ...keys);
        }
        for (const port of [to, from, ...ports.filter((p) => p !== to && p !== from && children.has(p))]) {
          cli(port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', toId);
        }
      },
      async kill(port) {
        const c = children.get(port);
        children.delete(port);
        if (c !== undefined) await kill(c, 'SIGKILL');
      },
      async restart(port) {
        if (children.has(port)) throw new Error(`node ${port} is running`);
        await launch(port);
      },
      async waitOk(timeoutMs = 20_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const live = ports.filter((p) => children.has(p));
          const ok = live.every((p) => {
            try {
              return /cluster_state:ok/.test(cli(p, 'CLUSTER', 'INFO')) && coversAllSlots(cli(p, 'CLUSTER', 'NODES'));
            } catch {
              return false;
            }
          });
          if (ok) return waitReplicasSynced(cli, live);
          if (Date.now() > deadline) throw new Error(`Redis Cluster not ok after ${timeoutMs} ms:\n${cli(live[0]!, 'CLUSTER', 'NODES')}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      },
      stop: stopAll,
    };
    await cluster.waitOk();
    return cluster;
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** True when every slot is served by a master that no node flags as failing. */
function coversAllSlots(nodes: string): boolean {
  let covered = 0;
  for (const line of nodes.trim().split('\n')) {
    const [, , flags = '', , , , , state, ...slots] = line.split(' ');
    if (!flags.includes('master') || flags.includes('fail') || state !== 'connected') continue;
    for (const range of slots) {
      if (range.startsWith('[')) continue;
      const [lo = '', hi = lo] = range.split('-');
      covered += Number(hi) - Number(lo) + 1;
    }
  }
  return covered === 16_384;
}

/** Whether the node that printed `nodes` (CLUSTER NODES, its `myself` line) serves any slot. */
function servesSlots(nodes: string): boolean {
  const mine = nodes.split('\n').find((l) => l.split(' ')[2]?.includes('myself'));
  return mine !== undefined && mine.split(' ').slice(8).some((range) => !range.startsWith('['));
}

/**
 * Replicas must hold their master's data before a test kills that master; a
 * restarted old master says `role:master` until it learns that its slots moved
 * and turns replica, so a master counts only once it serves slots.
 */
async function waitReplicasSynced(cli: (port: number, ...args: string[]) => string, ports: readonly number[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const synced = ports.every((p) => {
      const info = cli(p, 'INFO', 'replication');
      if (info.includes('master_link_status:up')) return true;
      return info.includes('role:master') && servesSlots(cli(p, 'CLUSTER', 'NODES'));
    });
    if (synced) return;
    if (Date.now() > deadline) throw new Error('Redis Cluster replicas did not sync within 20 s');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function launchNode(root: string, port: number, busPort: number): Promise<ChildProcess> {
  const dir = join(root, String(port));
  mkdirSync(dir, { recursive: true });
  // prettier-ignore
  const child = spawn(REDIS_SERVER, [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--cluster-enabled', 'yes', '--cluster-port', String(busPort), '--cluster-config-file', 'nodes.conf',
    '--cluster-node-timeout', String(CLUSTER_NODE_TIMEOUT_MS),
    // Slots whose master is down must not stop the others: a failover test kills one.
    '--cluster-require-full-coverage', 'no',
    // Replicas sync at once (the default waits 5 s for more replicas to share one transfer).
    '--repl-diskless-sync-delay', '0',
    '--save', '', '--appendonly', 'no', '--loglevel', 'warning',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = spawnSync(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), 'PING'], { encoding: 'utf8', timeout: 2_000 });
    if (r.stdout.trim() === 'PONG') return child;
    if (child.exitCode !== null || Date.now() > deadline) {
      await kill(child);
      throw new Error(`redis-server (cluster node) on port ${port} did not start: ${stderr.trim() || `exit code ${child.exitCode}`}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

function run(bin: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${bin} ${args.join(' ')} exited with ${code}: ${out}`))));
  });
}

async function kill(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
  await exited;
  clearTimeout(timer);
}
