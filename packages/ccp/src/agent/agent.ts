/**
 * The agent: receives CREATE / MEASURE / close / READY from any number of
 * datapaths, runs one algorithm flow per datapath flow (or one per
 * aggregate), and sends INSTALL / CHANGE_PROG / UPDATE_FIELDS back. A
 * datapath gets only the programs its flows' algorithms use, each distinct
 * program once, within its program table (`datapathProgramSlots`). Nothing a
 * datapath sends can crash it or grow it without bound: bad input is
 * counted, logged at a limited rate and dropped; flows per datapath are
 * bounded (`maxFlowsPerDatapath`).
 */
import { InvalidArgumentError } from '@bertha/core';
import { CcpError } from '../errors.js';
import { decodeMessages, encodeMessage } from '../ipc/codec.js';
import type { CcpMessage, CreateMsg, MeasureMsg, UpdateField } from '../ipc/messages.js';
import { Implicit, RegType } from '../program.js';
import type { AggregateFlow, Algorithm, DatapathHandle, FieldUpdates, Flow } from './algorithm.js';
import type { FlowInfo } from './flow-info.js';
import { LogLimiter } from './log-limiter.js';
import { compilePrograms, type InstalledProgram, type ProgramTable } from './programs.js';

/** Counters of what the agent has seen; the drop counters say what it refused and why. */
export interface AgentStats {
  datagrams: number;
  messages: number;
  reports: number;
  flowsCreated: number;
  flowsClosed: number;
  /** Datagrams that did not decode. */
  decodeErrors: number;
  /** MEASURE/close for a socket id with no flow. */
  unknownFlow: number;
  /** MEASURE with a program uid this agent never installed. */
  unknownProgram: number;
  /** MEASURE from a program the flow has since replaced. */
  staleReports: number;
  /** MEASURE whose field count does not match its program. */
  malformedReports: number;
  /** Agent-bound message types a datapath should not send (INSTALL, UPDATE …). */
  unexpectedMessages: number;
  /** CREATE naming an unknown algorithm when there is no default. */
  unknownAlgorithm: number;
  /** Exceptions thrown by algorithm code (newFlow, onReport, close …). */
  algorithmErrors: number;
  /** Replies the transport failed to send. */
  sendErrors: number;
  /** CREATEs refused because their datapath already had `maxFlowsPerDatapath` flows. */
  flowsRefused: number;
  /** CREATEs refused because their algorithm's programs do not fit the datapath's program table. */
  programTableFull: number;
  /** INSTALLs sent (each distinct program once per datapath). */
  programsInstalled: number;
}

export type LogLevel = 'debug' | 'warn';
export type Logger = (level: LogLevel, message: string, error?: unknown) => void;

/** Sends encoded messages to one datapath. */
export type SendFn = (datagram: Uint8Array) => void;

export interface AgentCoreOptions {
  readonly algorithms: readonly Algorithm[];
  /** Algorithm for CREATEs naming none this agent has (default: the first algorithm). */
  readonly default?: string;
  /** µs, monotonic; stamps `report.time` (default: `performance.now()`). */
  readonly clock?: () => number;
  readonly log?: Logger;
  /**
   * Program slots a datapath has (libccp's table; its tests use 10). The
   * agent installs a program when a flow's algorithm first needs it and
   * never more than this many per datapath. Default 10.
   */
  readonly datapathProgramSlots?: number;
  /** Live flows one datapath may have; CREATEs past it are refused (the flow stays on the datapath's own control). Default 4096. */
  readonly maxFlowsPerDatapath?: number;
  /** Warnings of one kind from one datapath are logged at most once per this many µs, with a count of those held back. Default 10 s. */
  readonly logIntervalUs?: number;
}

interface AggregateState {
  readonly key: string;
  readonly flow: AggregateFlow;
  readonly members: Set<number>;
}

interface FlowState {
  readonly info: FlowInfo;
  readonly handle: FlowHandle;
  /** Whose `onReport` gets this flow's reports: its own flow, or its aggregate's. */
  readonly target: Flow;
  readonly aggregate: AggregateState | undefined;
}

interface DatapathState {
  readonly peer: string;
  send: SendFn;
  readonly flows: Map<number, FlowState>;
  readonly aggregates: Map<string, AggregateState>;
  /** Program uids installed on it since its READY (or since we first heard from it). */
  readonly installed: Set<number>;
}

const defaultClock = (): number => performance.now() * 1000;

export const defaultLogger: Logger = (level, message, error) => {
  if (level === 'warn') console.warn(`ccp-agent: ${message}`, ...(error === undefined ? [] : [error]));
};

const MAX_UPDATE_VALUE = Number.MAX_SAFE_INTEGER;

/** Rounds and saturates at the wire's largest value (a window or rate that large means "unlimited"). */
export function updateValue(what: string, value: number): number {
  if (Number.isNaN(value) || value < 0) {
    throw new CcpError('ERR_CCP_INVALID_UPDATE', `${what} must be a non-negative number, got ${value}`);
  }
  return Math.min(Math.round(value), MAX_UPDATE_VALUE);
}

/** The `DatapathHandle` of one flow: turns calls into CHANGE_PROG / UPDATE_FIELDS. */
class FlowHandle implements DatapathHandle {
  program: string | undefined;
  /** Uid of the program the flow last selected; reports from any other are stale. */
  uid = 0;
  /** The program the flow last selected, as its algorithm names it (reports are read with its layout). */
  current: InstalledProgram | undefined;

  constructor(
    readonly info: FlowInfo,
    private readonly programs: ReadonlyMap<string, InstalledProgram>,
    private readonly dp: DatapathState,
    private readonly algorithm: string,
  ) {}

  setProgram(name: string, initialControls?: Readonly<Record<string, number>>): void {
    const p = this.programs.get(name);
    if (p === undefined) {
      throw new CcpError(
        'ERR_CCP_UNKNOWN_PROGRAM',
        `algorithm '${this.algorithm}' has no program '${name}'; its programs are: ${[...this.programs.keys()].join(', ')}`,
      );
    }
    const updates = initialControls === undefined ? [] : this.controlUpdates(p, initialControls);
    this.current = p;
    this.program = name;
    this.uid = p.uid;
    this.dp.send(encodeMessage({ type: 'changeProg', socketId: this.info.sid, programUid: p.uid, updates }));
  }

  updateField(u: FieldUpdates): void {
    const updates: UpdateField[] = [];
    if (u.cwnd !== undefined) updates.push({ regType: RegType.Implicit, regIndex: Implicit.Cwnd, value: updateValue('cwnd', u.cwnd) });
    if (u.rate !== undefined) updates.push({ regType: RegType.Implicit, regIndex: Implicit.Rate, value: updateValue('rate', u.rate) });
    if (u.controls !== undefined) {
      if (this.current === undefined) {
        throw new CcpError('ERR_CCP_INVALID_UPDATE', 'no program selected yet: call setProgram before updating controls');
      }
      updates.push(...this.controlUpdates(this.current, u.controls));
    }
    if (updates.length > 0) this.dp.send(encodeMessage({ type: 'updateFields', socketId: this.info.sid, updates }));
  }

  private controlUpdates(p: InstalledProgram, controls: Readonly<Record<string, number>>): UpdateField[] {
    return Object.entries(controls).map(([name, value]) => {
      const c = p.controls.get(name);
      if (c === undefined) {
        const known = [...p.controls.keys()];
        throw new CcpError(
          'ERR_CCP_INVALID_UPDATE',
          `program '${p.name}' has no control variable '${name}'; its controls are: ${known.join(', ') || '(none)'}`,
        );
      }
      return { regType: c.reg.type, regIndex: c.reg.index, value: updateValue(`control '${name}'`, value) };
    });
  }
}

function positiveInteger(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got ${v}`);
  return v;
}

function ipString(ip: number): string {
  return [24, 16, 8, 0].map((s) => (ip >>> s) & 0xff).join('.');
}

/** The transport-independent agent: feed it datagrams, it answers through each datapath's `send`. */
export class AgentCore {
  readonly stats: AgentStats = {
    datagrams: 0,
    messages: 0,
    reports: 0,
    flowsCreated: 0,
    flowsClosed: 0,
    decodeErrors: 0,
    unknownFlow: 0,
    unknownProgram: 0,
    staleReports: 0,
    malformedReports: 0,
    unexpectedMessages: 0,
    unknownAlgorithm: 0,
    algorithmErrors: 0,
    sendErrors: 0,
    flowsRefused: 0,
    programTableFull: 0,
    programsInstalled: 0,
  };
  readonly programs: ProgramTable;
  private readonly algorithms = new Map<string, Algorithm>();
  private readonly defaultAlgorithm: Algorithm | undefined;
  private readonly datapaths = new Map<string, DatapathState>();
  private readonly clock: () => number;
  private readonly log: Logger;
  private readonly slots: number;
  private readonly maxFlows: number;
  private readonly limiter: LogLimiter;

  constructor(options: AgentCoreOptions) {
    if (options.algorithms.length === 0) throw new InvalidArgumentError('an agent needs at least one algorithm');
    this.programs = compilePrograms(options.algorithms);
    for (const a of options.algorithms) this.algorithms.set(a.name, a);
    const def = options.default ?? options.algorithms[0]?.name;
    this.defaultAlgorithm = def === undefined ? undefined : this.algorithms.get(def);
    if (this.defaultAlgorithm === undefined) {
      throw new InvalidArgumentError(`default algorithm '${def}' is not among the agent's algorithms: ${[...this.algorithms.keys()].join(', ')}`);
    }
    this.clock = options.clock ?? defaultClock;
    this.log = options.log ?? defaultLogger;
    this.slots = positiveInteger('datapathProgramSlots', options.datapathProgramSlots ?? 10);
    this.maxFlows = positiveInteger('maxFlowsPerDatapath', options.maxFlowsPerDatapath ?? 4096);
    this.limiter = new LogLimiter(options.logIntervalUs ?? 10_000_000);
    for (const [name, uids] of this.programs.uidsOf) {
      if (uids.length > this.slots) {
        throw new InvalidArgumentError(`algorithm '${name}' has ${uids.length} distinct programs; a datapath holds ${this.slots} (datapathProgramSlots)`);
      }
    }
  }

  /** Live flows across all datapaths. */
  get flowCount(): number {
    let n = 0;
    for (const dp of this.datapaths.values()) n += dp.flows.size;
    return n;
  }

  /** Peers (datapaths) the agent has heard from and not forgotten. */
  get peers(): string[] {
    return [...this.datapaths.keys()];
  }

  /** Handles one datagram from datapath `peer`; replies go through `send`. Never throws. */
  handleDatagram(peer: string, data: Uint8Array, send: SendFn): void {
    this.stats.datagrams += 1;
    let msgs: CcpMessage[];
    try {
      msgs = decodeMessages(data);
    } catch (err) {
      this.stats.decodeErrors += 1;
      this.warn(peer, 'decode', () => `dropped a datagram of ${data.length} bytes from ${peer}: ${(err as Error).message}`);
      return;
    }
    const dp = this.datapath(peer, send);
    const time = this.clock();
    for (const msg of msgs) {
      this.stats.messages += 1;
      switch (msg.type) {
        case 'ready':
          this.onReady(dp, msg.datapathId);
          break;
        case 'create':
          this.onCreate(dp, msg);
          break;
        case 'measure':
          this.onMeasure(dp, msg, time);
          break;
        case 'close':
          this.onClose(dp, msg.socketId);
          break;
        default:
          this.stats.unexpectedMessages += 1;
          this.warn(peer, 'unexpected', () => `ignored a ${msg.type} message from datapath ${peer}: only the agent sends those`);
      }
    }
  }

  /** Ends every flow of datapath `peer` (it went away) or, without a peer, of all datapaths. */
  forget(peer?: string): void {
    for (const dp of peer === undefined ? [...this.datapaths.values()] : [this.datapaths.get(peer)].filter((d) => d !== undefined)) {
      for (const sid of [...dp.flows.keys()]) this.onClose(dp, sid);
      this.datapaths.delete(dp.peer);
      this.limiter.forget(`${dp.peer}\0`);
    }
  }

  /** A warning about datapath `peer`, at most once per log interval per kind, with a count of those held back. */
  private warn(peer: string, kind: string, message: () => string): void {
    const note = this.limiter.admit(`${peer}\0${kind}`, this.clock());
    if (note !== undefined) this.log('warn', message() + note);
  }

  private datapath(peer: string, send: SendFn): DatapathState {
    let dp = this.datapaths.get(peer);
    if (dp === undefined) {
      dp = { peer, send: this.guardedSend(peer, send), flows: new Map(), aggregates: new Map(), installed: new Set() };
      this.datapaths.set(peer, dp);
    }
    return dp;
  }

  private guardedSend(peer: string, send: SendFn): SendFn {
    return (datagram) => {
      try {
        send(datagram);
      } catch (err) {
        this.stats.sendErrors += 1;
        const note = this.limiter.admit(`${peer}\0send`, this.clock());
        if (note !== undefined) this.log('warn', `could not send to datapath ${peer}${note}`, err);
      }
    };
  }

  /** A (re)started datapath: its flows and programs are gone; programs are installed as its flows need them. */
  private onReady(dp: DatapathState, datapathId: number): void {
    this.log('debug', `datapath ${dp.peer} (id ${datapathId}) is ready`);
    for (const sid of [...dp.flows.keys()]) this.onClose(dp, sid);
    dp.installed.clear();
  }

  /** Installs the programs `algorithm` may select that `dp` lacks; false when they do not fit its table. */
  private installFor(dp: DatapathState, algorithm: string): boolean {
    const missing = (this.programs.uidsOf.get(algorithm) ?? []).filter((uid) => !dp.installed.has(uid));
    if (missing.length === 0) return true;
    if (dp.installed.size + missing.length > this.slots) return false;
    for (const uid of missing) {
      const p = this.programs.byUid.get(uid)!;
      dp.send(encodeMessage({ type: 'install', socketId: 0, programUid: uid, program: p.compiled }));
      dp.installed.add(uid);
      this.stats.programsInstalled += 1;
    }
    return true;
  }

  private onCreate(dp: DatapathState, msg: CreateMsg): void {
    const requested = this.algorithms.get(msg.algorithm);
    const alg = requested ?? this.defaultAlgorithm;
    if (alg === undefined) {
      this.stats.unknownAlgorithm += 1;
      return;
    }
    if (requested === undefined && msg.algorithm !== '') {
      this.log('debug', `flow ${msg.socketId} of ${dp.peer} asked for unknown algorithm '${msg.algorithm}': using '${alg.name}'`);
    }
    // A repeated CREATE (the datapath re-sends until it hears back, or reused the slot) starts the flow afresh.
    if (dp.flows.has(msg.socketId)) this.onClose(dp, msg.socketId);
    // Refused flows get no answer: the datapath keeps them on its own congestion control (its fallback).
    if (dp.flows.size >= this.maxFlows) {
      this.stats.flowsRefused += 1;
      this.warn(dp.peer, 'flows', () => `refused flow ${msg.socketId} of ${dp.peer}: it has ${dp.flows.size} flows (maxFlowsPerDatapath)`);
      return;
    }
    if (!this.installFor(dp, alg.name)) {
      this.stats.programTableFull += 1;
      this.warn(
        dp.peer,
        'table',
        () => `refused flow ${msg.socketId} of ${dp.peer}: '${alg.name}' needs programs that do not fit the datapath's ${this.slots} program slots beside those installed`,
      );
      return;
    }
    const info: FlowInfo = {
      datapath: dp.peer,
      sid: msg.socketId,
      initCwnd: msg.initCwnd,
      mss: msg.mss,
      src: { ip: msg.srcIp, port: msg.srcPort },
      dst: { ip: msg.dstIp, port: msg.dstPort },
      algorithm: msg.algorithm,
    };
    const programs = this.programs.byAlgorithm.get(alg.name) ?? new Map<string, InstalledProgram>();
    const handle = new FlowHandle(info, programs, dp, alg.name);
    try {
      const key = alg.aggregateBy?.(info);
      const agg = key === undefined ? undefined : dp.aggregates.get(`${alg.name}\0${key}`);
      if (agg !== undefined && alg.newSubflow !== undefined) {
        alg.newSubflow(agg.flow, handle, info);
        agg.members.add(info.sid);
        dp.flows.set(info.sid, { info, handle, target: agg.flow, aggregate: agg });
      } else {
        const flow = alg.newFlow(handle, info);
        let aggregate: AggregateState | undefined;
        if (key !== undefined) {
          aggregate = { key: `${alg.name}\0${key}`, flow, members: new Set([info.sid]) };
          dp.aggregates.set(aggregate.key, aggregate);
        }
        dp.flows.set(info.sid, { info, handle, target: flow, aggregate });
      }
      this.stats.flowsCreated += 1;
    } catch (err) {
      this.algorithmError(`${alg.name}: creating flow ${info.sid} of ${dp.peer} (${ipString(info.dst.ip)}:${info.dst.port})`, err);
    }
  }

  private onMeasure(dp: DatapathState, msg: MeasureMsg, time: number): void {
    const flow = dp.flows.get(msg.socketId);
    if (flow === undefined) {
      this.stats.unknownFlow += 1;
      return;
    }
    const program = flow.handle.current;
    if (program === undefined || msg.programUid !== program.uid) {
      if (this.programs.byUid.has(msg.programUid)) this.stats.staleReports += 1;
      else this.stats.unknownProgram += 1;
      return;
    }
    if (msg.fields.length !== program.layout.fields.length) {
      this.stats.malformedReports += 1;
      this.warn(
        dp.peer,
        'report',
        () => `report from flow ${msg.socketId} of ${dp.peer} has ${msg.fields.length} fields; program '${program.name}' has ${program.layout.fields.length}`,
      );
      return;
    }
    this.stats.reports += 1;
    try {
      flow.target.onReport(program.layout.make(msg.fields, flow.info, time));
    } catch (err) {
      this.algorithmError(`${program.algorithm}: report of flow ${msg.socketId} of ${dp.peer}`, err);
    }
  }

  private onClose(dp: DatapathState, sid: number): void {
    const flow = dp.flows.get(sid);
    if (flow === undefined) {
      this.stats.unknownFlow += 1;
      return;
    }
    dp.flows.delete(sid);
    this.stats.flowsClosed += 1;
    try {
      const agg = flow.aggregate;
      if (agg === undefined) {
        flow.target.close?.();
        return;
      }
      agg.members.delete(sid);
      agg.flow.closeSubflow?.(flow.info);
      if (agg.members.size === 0) {
        dp.aggregates.delete(agg.key);
        agg.flow.close?.();
      }
    } catch (err) {
      this.algorithmError(`closing flow ${sid} of ${dp.peer}`, err);
    }
  }

  private algorithmError(what: string, err: unknown): void {
    this.stats.algorithmErrors += 1;
    this.log('warn', `${what} threw: ${(err as Error)?.message ?? String(err)}`, err);
  }
}
