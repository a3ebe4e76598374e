// Fidelity of the Kafka test broker with an independent client: kcat, built on
// librdkafka, which negotiates its own versions (ApiVersions v3, Metadata v4,
// ListOffsets v2, OffsetFetch v4, LeaveGroup v1 …) and runs its own group state machine. kcat and
// kafkajs read what the other wrote, and two kcat members share a group's partitions.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafkaBroker, type KafkaBroker } from '../support/kafka-broker/index.js';

const KCAT = process.env.KCAT ?? 'kcat';

let broker: KafkaBroker;
let kafka: Kafka;

beforeAll(async () => {
  broker = await startKafkaBroker({ defaultPartitions: 3 });
  kafka = new Kafka({ clientId: 'fidelity', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
});
afterAll(() => broker.stop());

/** Runs kcat to completion; rejects on a non-zero exit or after `ms`. */
function kcat(args: string[], input = '', ms = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(KCAT, ['-b', broker.bootstrap, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('error', (err) => reject(new Error(`${KCAT} did not start (${err.message}): run scripts/setup.sh (it installs the kcat package)`)));
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`kcat ${args.join(' ')} exited with ${code}: ${stderr.trim().slice(-2000)}`));
    });
    child.stdin.end(input);
  });
}

/** A long-running kcat group member; collects its output and the partitions its last rebalance assigned it. */
function kcatMember(groupId: string, topic: string) {
  const child: ChildProcess = spawn(KCAT, ['-b', broker.bootstrap, '-u', '-G', groupId, '-o', 'beginning', '-f', '%s\\n', '-X', 'session.timeout.ms=6000', '-X', 'heartbeat.interval.ms=200', topic], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const member = { values: [] as string[], assigned: [] as number[], child };
  // Whole lines only: kcat writes a rebalance line in several unbuffered writes (one per
  // partition), which a loaded machine delivers in separate chunks.
  createInterface({ input: child.stdout! }).on('line', (line) => member.values.push(line));
  createInterface({ input: child.stderr! }).on('line', (line) => {
    // "% Group g rebalanced (memberid …): assigned: t [0], t [2]" / "…: revoked: …"
    const m = /rebalanced \(memberid [^)]*\): (assigned|revoked): (.*)/.exec(line);
    if (m === null) return;
    member.assigned = m[1] === 'assigned' ? [...m[2]!.matchAll(/\[(\d+)\]/g)].map((p) => Number(p[1])) : [];
  });
  return member;
}

async function until(predicate: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('close', () => resolve()));
}

describe('kcat (librdkafka) against the test broker', () => {
  it('lists the broker and the topics in its metadata', async () => {
    broker.createTopic('kcat-listed', 2);
    const out = await kcat(['-L', '-t', 'kcat-listed']);
    expect(out).toContain(`broker 1 at ${broker.bootstrap}`);
    expect(out).toMatch(/topic "kcat-listed" with 2 partitions/);
  });

  it('kcat produces gzip batches with keys; kafkajs and kcat read them back per partition with their offsets', async () => {
    const topic = `kcat-${randomUUID()}`;
    broker.createTopic(topic, 3);
    for (const p of [0, 1, 2]) {
      const lines = [0, 1, 2, 3].map((i) => `k${p}:p${p}-m${i}`).join('\n');
      await kcat(['-P', '-t', topic, '-p', String(p), '-K', ':', '-z', 'gzip'], `${lines}\n`);
    }
    expect(broker.highWatermarks(topic)).toEqual([4, 4, 4]);

    const consumed = await kcat(['-C', '-t', topic, '-o', 'beginning', '-e', '-f', '%p %o %k %s\\n']);
    const rows = consumed.trim().split('\n').sort();
    expect(rows).toHaveLength(12);
    expect(rows).toContain('1 3 k1 p1-m3');

    const consumer = kafka.consumer({ groupId: `g-${randomUUID()}`, maxWaitTimeInMs: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const got: string[] = [];
    await consumer.run({
      eachMessage: async ({ partition, message }) => void got.push(`${partition} ${message.offset} ${message.key!.toString()} ${message.value!.toString()}`),
    });
    await until(() => got.length === 12, 20_000, '12 messages in kafkajs');
    await consumer.disconnect();
    expect(got.sort()).toEqual(rows);
  });

  it('kafkajs produces; a kcat group consumer reads everything and commits its offsets, which kafkajs then reads', async () => {
    const topic = `kcat-${randomUUID()}`;
    const groupId = `g-${randomUUID()}`;
    const producer = kafka.producer();
    await producer.connect();
    const values = Array.from({ length: 30 }, (_, i) => `v${i}`);
    await producer.send({ topic, messages: values.map((value, i) => ({ value, partition: i % 3 })) });
    await producer.disconnect();

    const out = await kcat(['-G', groupId, '-o', 'beginning', '-e', '-f', '%s\\n', topic]);
    expect(out.trim().split('\n').sort()).toEqual([...values].sort());

    const admin = kafka.admin();
    await admin.connect();
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    await admin.disconnect();
    expect(committed!.partitions.map((p) => p.offset).sort()).toEqual(['10', '10', '10']);

    // Without -o, kcat resumes from the group's commits (OffsetFetch): only what came since.
    const more = kafka.producer();
    await more.connect();
    await more.send({ topic, messages: [{ value: 'later', partition: 1 }] });
    await more.disconnect();
    expect(await kcat(['-G', groupId, '-e', '-f', '%s\\n', topic])).toBe('later\n');
  });

  it('two kcat members split a group partitions between them, and one takes them all back when the other leaves', async () => {
    const topic = `kcat-${randomUUID()}`;
    const groupId = `g-${randomUUID()}`;
    broker.createTopic(topic, 4);
    const send = async (from: number, to: number) => {
      const lines: string[] = [];
      for (let i = from; i < to; i++) lines.push(`w${i}`);
      for (let p = 0; p < 4; p++) await kcat(['-P', '-t', topic, '-p', String(p)], `${lines.filter((_, i) => (from + i) % 4 === p).join('\n')}\n`);
    };
    const a = kcatMember(groupId, topic);
    const b = kcatMember(groupId, topic);
    try {
      await until(() => a.assigned.length === 2 && b.assigned.length === 2, 30_000, 'two members with two partitions each');
      expect([...a.assigned, ...b.assigned].sort()).toEqual([0, 1, 2, 3]);
      await send(0, 40);
      await until(() => a.values.length + b.values.length === 40, 20_000, '40 values');
      expect([...a.values, ...b.values].sort()).toEqual(Array.from({ length: 40 }, (_, i) => `w${i}`).sort());

      b.child.kill('SIGTERM'); // kcat commits, sends LeaveGroup and exits
      await exited(b.child);
      await until(() => a.assigned.length === 4, 30_000, 'a to own all four partitions');
      await send(40, 48);
      // At least once: a member that takes over a partition starts from the last commit, so
      // values b read after its last commit may come again; none may be missing.
      await until(() => new Set([...a.values, ...b.values]).size === 48, 20_000, '8 more values');
      expect(a.values).toEqual(expect.arrayContaining(['w40', 'w41', 'w42', 'w43', 'w44', 'w45', 'w46', 'w47']));
      expect(broker.describeGroup(groupId)!.memberIds).toHaveLength(1);
    } finally {
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      await Promise.all([exited(a.child), exited(b.child)]);
    }
  }, 120_000);
});
