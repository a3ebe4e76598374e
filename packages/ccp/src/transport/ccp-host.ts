/**
 * The CCP side of a host: one `Datapath` (the libccp-like runtime) shared by
 * every transport flow of the host, and its link to an agent — in this
 * process, or a `ccp-agent` process behind a Unix datagram socket.
 */
import { InvalidArgumentError } from '@bertha/core';
import type { Algorithm } from '../agent/algorithm.js';
import { createAgent, type Agent } from '../agent/create-agent.js';
import { builtinAlgorithms } from '../algorithms/index.js';
import { Datapath, type DatapathRuntime, type DatapathStats } from '../datapath/datapath.js';
import { DatagramEndpoint, type IpcChannel } from '../ipc/channel.js';
import type { CreateInfo } from '../ipc/messages.js';
import { openDatapathSocket } from '../ipc/unix-channel.js';
import { realClock, type Clock } from './clock.js';

/** What the host calls on a flow when the agent (or the fallback) changes its window or rate. */
export interface CcpFlowHooks {
  setCwnd(bytes: number): void;
  setRate(bytesPerSec: number): void;
  /** `true`: the agent is unreachable, use native Reno; `false`: the agent is back. */
  fallback(active: boolean): void;
}

/** libccp's own tests run with a 10-slot program table; the agent's default assumes the same. */
const DEFAULT_PROGRAM_SLOTS = 10;

export interface CcpHostOptions {
  /** Default `realClock()`; pass the `Simulator` to run in virtual time. */
  readonly clock?: Clock;
  /** Unix socket of a `ccp-agent` process. Omit for an agent in this process (the default). */
  readonly agentPath?: string;
  /** This datapath's own socket when `agentPath` is set; default next to the agent's. */
  readonly datapathPath?: string;
  /** Algorithms of the in-process agent. Default `builtinAlgorithms()`. */
  readonly algorithms?: readonly Algorithm[];
  /** The in-process agent's algorithm for flows asking for one it lacks. Default the first. */
  readonly defaultAlgorithm?: string;
  /** In-process agent: how long each IPC message takes, µs. Default 0 (the next event). */
  readonly ipcDelayUs?: number;
  /** How long flows wait for an unreachable agent before native Reno takes over. Default 1 s. */
  readonly fallbackTimeoutUs?: number;
  /** Program table slots of the datapath runtime, as libccp's (the in-process agent is told the same). Default 10. */
  readonly programSlots?: number;
  /** How the datapath runs installed programs (`DatapathOptions.runtime`). Default compiled. */
  readonly runtime?: DatapathRuntime;
}

/** What the datapath runtime of a host is built with. */
type RuntimeOptions = Pick<CcpHostOptions, 'fallbackTimeoutUs' | 'programSlots' | 'runtime'>;

/** Host-level counters; the datapath runtime's own are in `datapath`. */
export interface CcpHostStats {
  readonly datapath: Readonly<DatapathStats>;
  /** Errors the runtime reported (rejected agent messages, program faults). */
  errors: number;
}

/** In-process IPC over a `Clock`: deterministic in simulation, `setImmediate` in real time. */
class ClockEndpoint extends DatagramEndpoint {
  peer: ClockEndpoint | undefined;
  /** While false, sends fail as if nobody were bound at the peer's address. */
  reachable = true;

  constructor(
    readonly address: string,
    private readonly clock: Clock,
    private readonly delayUs: number,
  ) {
    super();
  }

  send(bytes: Uint8Array): boolean {
    this.checkOpen();
    const peer = this.peer;
    if (peer === undefined || peer.closed || !this.reachable || !peer.reachable) {
      this.stats.dropped++;
      return false;
    }
    this.stats.sent++;
    const copy = bytes.slice();
    const deliver = (): void => peer.deliver(copy, this.address);
    if (this.delayUs > 0) this.clock.setTimer(this.delayUs, deliver);
    else this.clock.defer(deliver);
    return true;
  }

  override deliver(bytes: Uint8Array, from: string): void {
    super.deliver(bytes, from);
  }

  protected async release(): Promise<void> {
    this.peer = undefined;
  }
}

const silent = (): void => {};

export class CcpHost {
  readonly datapath: Datapath;
  readonly clock: Clock;
  /** The in-process agent, when there is one. */
  readonly agent: Agent | undefined;
  readonly stats: CcpHostStats;
  readonly #channel: IpcChannel;
  readonly #agentEnd: { reachable: boolean } | undefined;
  readonly #flows = new Map<number, CcpFlowHooks>();
  #closed = false;

  /** Prefer `createCcpHost`; this wires a runtime to an already open channel (and optionally its in-process agent end). */
  constructor(channel: IpcChannel, opts: RuntimeOptions & { clock: Clock; agent?: Agent; agentEnd?: { reachable: boolean } }) {
    this.clock = opts.clock;
    this.#channel = channel;
    this.agent = opts.agent;
    this.#agentEnd = opts.agentEnd;
    const clock = opts.clock;
    this.datapath = new Datapath(
      {
        now: () => clock.now(),
        send: (bytes) => !channel.closed && channel.send(bytes),
        setCwnd: (sid, bytes) => this.#flows.get(sid)?.setCwnd(bytes),
        setRate: (sid, rate) => this.#flows.get(sid)?.setRate(rate),
        fallback: (sid, active) => this.#flows.get(sid)?.fallback(active),
        onError: () => {
          this.stats.errors++;
        },
      },
      { fallbackTimeoutUs: opts.fallbackTimeoutUs, maxPrograms: opts.programSlots ?? DEFAULT_PROGRAM_SLOTS, runtime: opts.runtime },
    );
    this.stats = { datapath: this.datapath.stats, errors: 0 };
    channel.onDatagram((bytes) => this.datapath.receive(bytes));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Starts a flow at the agent (CREATE); returns its socket id for `Datapath.invoke`. */
  register(hooks: CcpFlowHooks, info: CreateInfo): number {
    if (this.#closed) throw new InvalidArgumentError('the CCP host is closed: create a new one');
    const sid = this.datapath.createFlow(info);
    this.#flows.set(sid, hooks);
    return sid;
  }

  unregister(sid: number): void {
    if (!this.#flows.delete(sid)) return;
    if (!this.#closed) this.datapath.closeFlow(sid);
  }

  /**
   * In-process agent only: cut (false) or restore (true) the IPC link, as if
   * the agent process died and came back. Flows fall back to native Reno after
   * the fallback timeout and re-attach once the agent answers again.
   */
  setAgentReachable(reachable: boolean): void {
    if (this.#agentEnd === undefined) throw new InvalidArgumentError('setAgentReachable needs an in-process agent: stop the ccp-agent process instead');
    this.#agentEnd.reachable = reachable;
  }

  /** Closes the flows' link to the agent (and the in-process agent). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const sid of this.#flows.keys()) this.datapath.closeFlow(sid);
    this.#flows.clear();
    await this.#channel.close();
    await this.agent?.close();
  }
}

/** A host with an agent in this process, synchronously (what simulations use). */
export function inProcessCcpHost(opts: Omit<CcpHostOptions, 'agentPath' | 'datapathPath'> = {}): CcpHost {
  const clock = opts.clock ?? realClock({ unref: true });
  const delay = opts.ipcDelayUs ?? 0;
  const dpEnd = new ClockEndpoint('datapath', clock, delay);
  const agentEnd = new ClockEndpoint('agent', clock, delay);
  dpEnd.peer = agentEnd;
  agentEnd.peer = dpEnd;
  const agent = createAgent({
    algorithms: opts.algorithms ?? builtinAlgorithms(),
    default: opts.defaultAlgorithm,
    channel: agentEnd,
    clock: () => clock.now(),
    log: silent,
    datapathProgramSlots: opts.programSlots ?? DEFAULT_PROGRAM_SLOTS,
  });
  return new CcpHost(dpEnd, { ...runtimeOptions(opts), clock, agent, agentEnd });
}

/** A host whose agent is in this process, or, with `agentPath`, a `ccp-agent` process. */
export async function createCcpHost(opts: CcpHostOptions = {}): Promise<CcpHost> {
  if (opts.agentPath === undefined) return inProcessCcpHost(opts);
  const clock = opts.clock ?? realClock({ unref: true });
  const channel = await openDatapathSocket({ agentPath: opts.agentPath, path: opts.datapathPath });
  return new CcpHost(channel, { ...runtimeOptions(opts), clock });
}

function runtimeOptions(opts: CcpHostOptions): RuntimeOptions {
  return { fallbackTimeoutUs: opts.fallbackTimeoutUs, programSlots: opts.programSlots, runtime: opts.runtime };
}
