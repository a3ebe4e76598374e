import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgent } from '../../src/agent/create-agent.js';
import { reno } from '../../src/algorithms/reno.js';
import { Datapath, type Primitives } from '../../src/datapath/datapath.js';
import type { IpcChannel } from '../../src/ipc/channel.js';
import { createIpcPair } from '../../src/ipc/memory-channel.js';
import { openDatapathSocket } from '../../src/ipc/unix-channel.js';

const MSS = 1448;
const RTT = 10_000;
const repo = fileURLToPath(new URL('../../../../', import.meta.url));

/** A datapath runtime on `channel` with a synthetic clock and a window the agent sets. */
function syntheticDatapath(channel: IpcChannel) {
  const state = { now: 0, cwnd: 10 * MSS, cwnds: [] as number[] };
  const dp = new Datapath({
    now: () => state.now,
    setCwnd: (_sid, bytes) => {
      state.cwnd = bytes;
      state.cwnds.push(bytes);
    },
    setRate: () => {},
    send: (bytes) => channel.send(bytes),
  });
  channel.onDatagram((bytes) => dp.receive(bytes));
  const sid = dp.createFlow({ initCwnd: 10 * MSS, mss: MSS, srcIp: 1, srcPort: 2, dstIp: 3, dstPort: 4, algorithm: 'reno' });
  /** One ACK, 1 ms after the previous one. */
  const ack = (extra: Partial<Primitives> = {}) => {
    state.now += 1000;
    dp.invoke(sid, { cwnd: state.cwnd, bytesAcked: MSS, packetsAcked: 1, rttSampleUs: RTT, packetsInFlight: 10, ...extra });
  };
  return { dp, sid, state, ack };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('agent + datapath runtime, in process', () => {
  it('Reno grows cwnd from per-RTT reports, then halves it on a loss report', async () => {
    const { datapath, agent: agentEnd } = createIpcPair();
    const agent = createAgent({ algorithms: [reno({ ssthresh: 10 * MSS })], channel: agentEnd, log: () => {} });
    const { state, ack } = syntheticDatapath(datapath);
    await tick();
    expect(agent.flowCount).toBe(1);
    for (let i = 0; i < 60; i++) {
      ack();
      await tick();
    }
    const grown = state.cwnd;
    expect(grown).toBeGreaterThan(10 * MSS);
    expect(agent.stats.reports).toBeGreaterThanOrEqual(4);
    ack({ lostPktsSample: 1, bytesAcked: 0 });
    await tick();
    ack();
    expect(state.cwnd).toBeLessThanOrEqual(Math.round(grown / 2) + 2 * MSS);
    expect(state.cwnd).toBeGreaterThanOrEqual(Math.round(grown / 2));
    await agent.close();
    await datapath.close();
  });
});

describe('ccp-agent CLI over a Unix datagram socket', () => {
  let dir: string | undefined;
  let child: ChildProcess | undefined;
  afterEach(() => {
    // A failed assertion must not leave the agent running.
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('drives a datapath in another process, and on SIGTERM exits cleanly and removes its socket', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ccp-agent-'));
    const sock = join(dir, 'sock');
    const agentProcess = spawn(join(repo, 'node_modules/.bin/tsx'), ['packages/ccp/src/bin/ccp-agent.ts', '--path', sock, '--default', 'reno'], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = agentProcess;
    const exited = new Promise<number | null>((resolve) => agentProcess.once('exit', (code) => resolve(code)));
    let output = '';
    await new Promise<void>((resolve, reject) => {
      agentProcess.stdout.on('data', (d: Buffer) => {
        output += d.toString();
        if (output.includes('listening on')) resolve();
      });
      agentProcess.stderr.on('data', (d: Buffer) => (output += d.toString()));
      agentProcess.once('exit', () => reject(new Error(`ccp-agent exited early:\n${output}`)));
    });
    expect(existsSync(sock)).toBe(true);

    const channel = await openDatapathSocket({ agentPath: sock, path: join(dir, 'dp') });
    const { state, ack } = syntheticDatapath(channel);
    // Each ACK is 1 ms of datapath time: a report every 10 ACKs, answered by a cwnd update.
    for (let i = 0; i < 400 && state.cwnd <= 10 * MSS; i++) {
      ack();
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(state.cwnd).toBeGreaterThan(10 * MSS);
    await channel.close();

    agentProcess.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toMatch(/SIGTERM: closing/);
    expect(existsSync(sock)).toBe(false);
  });
});
