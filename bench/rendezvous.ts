/**
 * Rendezvous at scale: `join` latency and transition commit latency into
 * groups of 1, 10, 100 and 1,000 members, on the embedded store, one Redis,
 * and a Redis Cluster (3 masters, 3 replicas); the store operations each
 * member costs per second at steady state (from Redis' INFO commandstats),
 * for 10 to 1,000 members; and how many one-member groups one Redis sustains
 * (every lease renewed in time, every group subscribed).
 *
 * On Redis and the cluster, members are spread over four worker threads,
 * each with its own store connection, as four processes of a deployment
 * would host them; the member whose join is timed comes from a fifth (a new
 * replica starting). The embedded store serves one process: its members all
 * run in the bench's thread. Their medium is a silent Conn: only the store's
 * work is measured. The join targets also have paired rows (lib/paired.ts):
 * groups of 1 and of the largest size on one Redis and on the cluster at
 * once, one timed join into each per repetition. Baselines: join and commit rows against the same backend's
 * 1-member group (the cluster's join p50 also against one Redis's), steady
 * load against 10 members, groups against the 10,000 the issue asks for.
 *
 *   pnpm bench rendezvous [--quick] [--sizes=1,10,100,1000]
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { memoryStore } from '@bertha/negotiate';
import { redisStore } from '@bertha/negotiate/redis';
import { startRedisCluster } from '../scripts/servers/redis-cluster.js';
import { startRedis } from '../scripts/servers/redis.js';
import { LocalHost, startWorkerHost, type HostData, type MemberHost } from './lib/rendezvous-members.js';
import { pairedResult } from './lib/paired.js';
import { percentile, report, result, type Result } from './lib/results.js';

const quick = process.argv.includes('--quick');
const sizesArg = process.argv.find((a) => a.startsWith('--sizes='));
const SIZES = sizesArg !== undefined ? sizesArg.slice(8).split(',').map(Number) : quick ? [1, 10, 100] : [1, 10, 100, 1_000];
/** Samples per group size. */
const joins = (size: number) => (quick ? 10 : size >= 1_000 ? 20 : 30);
const commits = (size: number) => (quick ? 5 : size >= 1_000 ? 10 : 20);
/** Worker threads hosting the members (a fifth hosts the timed joiner). */
const PROCESSES = 4;
const LEASE_MS = 10_000;
const STEADY_WINDOW_MS = 5_000;
/** Pause before each timed join. */
const SETTLE_MS = 200;
/** Two cores serve the five threads and the servers: give replies time to be read. */
const STORE_OPTIONS = { leaseMs: LEASE_MS, commandTimeoutMs: 30_000, readyTimeoutMs: 30_000 };
const GROUPS = quick ? 1_000 : 10_000;
/** Targets of the issue. */
const COMMIT_1000_P50_MS = 1_000;

type Backend = {
  label: string;
  /** The hosts of the members, and of the timed joiner (last). */
  hosts: () => Promise<MemberHost[]>;
  commandStats?: () => Promise<{ calls: number; usec: number }>;
};

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

/** Joins `size` members into `name`: member i on host i mod the hosts; m0, the committer, on the first. */
async function fill(hosts: readonly MemberHost[], name: string, size: number): Promise<void> {
  await Promise.all(hosts.map((h, k) => h.join(name, Array.from({ length: Math.ceil((size - k) / hosts.length) }, (_, i) => `m${k + i * hosts.length}`))));
}

/** The ms `member` (from `joiner`) takes to join `name`, then leaves again. */
async function timedJoin(joiner: MemberHost, name: string, member: string): Promise<number> {
  // Into a group at rest: the members' reaction to the last join and leave (the other threads' CPU) is over.
  await sleep(SETTLE_MS);
  const [ms] = await joiner.join(name, [member]);
  await joiner.leave(name, [member]);
  return ms!;
}

/**
 * The join targets as paired rows: groups of 1 and of `size` members on one
 * Redis and on the cluster at once, and in each repetition one timed join
 * into each of the four, back to back, so that all four see the same load.
 */
async function pairedJoins(backends: readonly Backend[], size: number, reps: number): Promise<Result[]> {
  const groups = await Promise.all(
    backends.map(async (b) => {
      const all = await b.hosts();
      const [one, many] = [`bench-1-${randomUUID()}`, `bench-n-${randomUUID()}`];
      await fill(all.slice(0, -1), one, 1);
      await fill(all.slice(0, -1), many, size);
      return { label: b.label, all, one, many, samples: { one: [] as number[], many: [] as number[] } };
    }),
  );
  for (let i = 0; i < reps; i++) {
    for (const g of groups) {
      g.samples.one.push(await timedJoin(g.all.at(-1)!, g.one, `j${i}`));
      g.samples.many.push(await timedJoin(g.all.at(-1)!, g.many, `j${i}`));
    }
  }
  await Promise.all(groups.flatMap((g) => g.all.map((h) => h.close())));
  const rows = groups.map((g) => pairedResult(`${g.label}: join p50, ${size} members vs 1 member (paired)`, g.samples.many, g.samples.one, 'ms'));
  const [a, b] = groups;
  if (a !== undefined && b !== undefined) {
    for (const k of ['one', 'many'] as const) {
      rows.push(pairedResult(`${b.label} join p50 vs ${a.label}, ${k === 'one' ? 1 : size} members (paired)`, b.samples[k], a.samples[k], 'ms'));
    }
  }
  return rows;
}

async function latencies(backend: Backend, size: number): Promise<{ join: number[]; commit: number[]; failed: number; opsPerMemberSec?: number; usecPerMemberSec?: number }> {
  const all = await backend.hosts();
  const joiner = all.at(-1)!;
  const hosts = all.slice(0, -1);
  const name = `bench-${randomUUID()}`;
  const t0 = performance.now();
  // Member i lives on host i mod PROCESSES; m0, the committer, on the first.
  await fill(hosts, name, size);
  console.log(`${backend.label}: ${size} members joined in ${(performance.now() - t0).toFixed(0)} ms`);
  const join: number[] = [];
  for (let i = 0; i < joins(size); i++) join.push(await timedJoin(joiner, name, `j${i}`));
  const commit: number[] = [];
  const picks = [['tls'], ['plain']] as const;
  let failed = 0;
  for (let i = 0; commit.length < commits(size); i++) {
    try {
      commit.push(await hosts[0]!.trigger(name, 'm0', picks[i % 2]!));
    } catch (err) {
      // Counted, not hidden (a transition this busy process did not finish within a lease); the member re-registers meanwhile.
      console.log(`${backend.label} ${size}: transition failed (${(err as Error).message.slice(0, 100)}…)`);
      if (++failed > commits(size)) throw err;
      await new Promise((r) => setTimeout(r, LEASE_MS / 2));
    }
  }
  let steady: { opsPerMemberSec: number; usecPerMemberSec: number } | undefined;
  if (backend.commandStats !== undefined && size >= 10) {
    await new Promise((r) => setTimeout(r, LEASE_MS));
    const before = await backend.commandStats();
    await new Promise((r) => setTimeout(r, STEADY_WINDOW_MS));
    const after = await backend.commandStats();
    const perMemberSec = (x: number) => x / size / (STEADY_WINDOW_MS / 1000);
    steady = { opsPerMemberSec: perMemberSec(after.calls - before.calls), usecPerMemberSec: perMemberSec(after.usec - before.usec) };
  }
  await Promise.all(all.map((h) => h.close()));
  return { join, commit, failed, ...steady };
}

/** Store operations on the Redis on `port` (every command but INFO), and the µs Redis spent on them. */
async function commandStats(port: number): Promise<{ calls: number; usec: number }> {
  let calls = 0;
  let usec = 0;
  const info = spawnSync(process.env.REDIS_CLI ?? '/usr/bin/redis-cli', ['-p', String(port), 'INFO', 'commandstats'], { encoding: 'utf8' }).stdout;
  for (const line of info.split(/\r?\n/)) {
    const m = /^cmdstat_(\w+):calls=(\d+),usec=(\d+)/.exec(line);
    if (m === null || m[1] === 'info') continue;
    calls += Number(m[2]);
    usec += Number(m[3]);
  }
  return { calls, usec };
}

/**
 * One-member groups on one Redis, each subscribed and renewing its lease
 * every 2 s: how many keep it. The lease (20 s) covers creating them all;
 * from then on a group that misses renewals for 20 s is lost.
 */
async function sustainedGroups(url: string): Promise<{ sustained: number; heartbeatP99: number }> {
  const stores = Array.from({ length: PROCESSES }, () => redisStore(url, { leaseMs: 20_000, commandTimeoutMs: 5_000 }));
  const names = Array.from({ length: GROUPS }, (_, i) => `bench-g${i}-${randomUUID()}`);
  const storeOf = (i: number) => stores[i % PROCESSES]!;
  for (let i = 0; i < GROUPS; i += 500) {
    await Promise.all(names.slice(i, i + 500).map((n, k) => storeOf(i + k).tryInit(n, 'm', Uint8Array.of(1)).then(() => storeOf(i + k).subscribe(n, () => {}))));
  }
  const lapsed = new Set<string>();
  const beats: number[] = [];
  const rounds = quick ? 2 : 4;
  for (let r = 0; r < rounds; r++) {
    const started = performance.now();
    // One renewal per group, spread over 2 s.
    for (let i = 0; i < GROUPS; i += 200) {
      const t = performance.now();
      await Promise.all(
        names.slice(i, i + 200).map((n, k) =>
          storeOf(i + k)
            .heartbeat(n, 'm')
            .then(() => beats.push(performance.now() - t))
            .catch(() => lapsed.add(n)),
        ),
      );
      const due = started + ((i + 200) / GROUPS) * 2_000;
      if (performance.now() < due) await new Promise((res) => setTimeout(res, due - performance.now()));
    }
  }
  await Promise.all(names.map((n, i) => storeOf(i).leave(n, 'm')));
  await Promise.all(stores.map((s) => s.close()));
  return { sustained: GROUPS - lapsed.size, heartbeatP99: percentile(sorted(beats), 99) };
}

const redis = await startRedis();
const cluster = await startRedisCluster();
const clusterNodes = [...cluster.nodes];
/** PROCESSES hosts of members and one of the joiner, each a worker thread with its own connection to `target`. */
const workerHosts = (target: HostData['target']) => Promise.all(Array.from({ length: PROCESSES + 1 }, () => startWorkerHost({ target, options: STORE_OPTIONS })));
const backends: Backend[] = [
  {
    label: 'embedded',
    hosts: async () => {
      // One process: every member (and the joiner) shares the store.
      const shared = memoryStore({ leaseMs: LEASE_MS });
      return Array.from({ length: PROCESSES + 1 }, () => new LocalHost(shared));
    },
  },
  {
    label: 'redis',
    hosts: () => workerHosts(redis.url),
    commandStats: () => commandStats(redis.port),
  },
  {
    label: 'cluster',
    hosts: () => workerHosts({ cluster: clusterNodes }),
    commandStats: async () => {
      const all = await Promise.all(clusterNodes.map((n) => commandStats(n.port)));
      return { calls: all.reduce((s, x) => s + x.calls, 0), usec: all.reduce((s, x) => s + x.usec, 0) };
    },
  },
];

const results: Result[] = [];
const p50s = new Map<string, number>();
try {
  for (const backend of backends) {
    const rows: Array<{ size: number; join: number[]; commit: number[]; failed: number; ops?: number; usec?: number }> = [];
    for (const size of SIZES) {
      const r = await latencies(backend, size);
      rows.push({ size, join: sorted(r.join), commit: sorted(r.commit), failed: r.failed, ops: r.opsPerMemberSec, usec: r.usecPerMemberSec });
      console.log(`${backend.label} ${size}: join p50 ${percentile(sorted(r.join), 50).toFixed(2)} ms, commit p50 ${percentile(sorted(r.commit), 50).toFixed(2)} ms`);
    }
    const one = rows[0]!;
    for (const row of rows) {
      for (const [what, xs, base] of [
        ['join', row.join, one.join],
        ['transition commit', row.commit, one.commit],
      ] as const) {
        for (const p of [50, 99]) {
          results.push(result(`${backend.label}: ${what} p${p}, ${row.size} members (vs 1 member)`, percentile(xs, p), percentile(base, p), 'ms'));
        }
      }
      p50s.set(`${backend.label}/${row.size}`, percentile(row.join, 50));
      if (row.failed > 0) results.push(result(`${backend.label}: transitions that failed, ${row.size} members (vs attempts)`, row.failed, row.failed + row.commit.length, 'transitions'));
    }
    const ten = rows.find((r) => r.size === 10);
    for (const row of rows) {
      if (row.ops === undefined || ten?.ops === undefined || ten.usec === undefined || row.usec === undefined) continue;
      results.push(result(`${backend.label}: store ops per member per second, ${row.size} members (vs 10)`, row.ops, ten.ops, 'ops/member/s'));
      results.push(result(`${backend.label}: store CPU per member per second, ${row.size} members (vs 10)`, row.usec, ten.usec, 'µs/member/s'));
    }
  }
  for (const size of SIZES) {
    const c = p50s.get(`cluster/${size}`);
    const r = p50s.get(`redis/${size}`);
    if (c !== undefined && r !== undefined) results.push(result(`cluster join p50 vs one Redis, ${size} members`, c, r, 'ms'));
  }
  const largest = Math.max(...SIZES);
  if (largest > 1) results.push(...(await pairedJoins(backends.filter((b) => b.label !== 'embedded'), largest, quick ? 10 : 30)));
  const g = await sustainedGroups(redis.url);
  results.push(result(`one-member groups sustained on one Redis (of ${GROUPS})`, g.sustained, 10_000, 'groups'));
  results.push(result(`heartbeat p99 with ${GROUPS} groups (vs the half lease)`, g.heartbeatP99, 2_000, 'ms'));
  const commit1000 = p50s.has('redis/1000') ? results.find((r) => r.metric.startsWith('redis: transition commit p50, 1000')) : undefined;
  if (commit1000 !== undefined) results.push(result('redis: 1,000-member transition commit p50 (vs the 1 s target)', commit1000.value, COMMIT_1000_P50_MS, 'ms'));
  report('rendezvous', results);
} finally {
  await cluster.stop();
  await redis.stop();
}
