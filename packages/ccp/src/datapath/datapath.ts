/**
 * The runtime a datapath links in, shaped like libccp: one struct of
 * callbacks, `createFlow` when a connection starts, `invoke` on every ACK,
 * `receive` for each datagram from the agent, `closeFlow` at the end.
 */
import { InvalidArgumentError } from '@bertha/core';
import { CcpError, IpcDecodeError, LimitError } from '../errors.js';
import { Implicit, RegType } from '../program.js';
import type { CompiledProgram } from '../program.js';
import { encodeMessage, decodeMessages } from '../ipc/codec.js';
import type { CcpMessage, CreateInfo, UpdateField } from '../ipc/messages.js';
import { checkUpdate } from '../check.js';
import { ArithmeticFaultError, UnknownFlowError, UnknownProgramError } from './errors.js';
import { compileProgram } from './codegen.js';
import { initBank, type LoadedProgram, loadProgram, resetVolatile, Slot } from './machine.js';
import { type FlowState, interpreterStep, type ProgramStep, val } from './signals.js';

/** What the datapath provides. All times are µs on one monotonic clock. */
export interface DatapathCallbacks {
  now(): number;
  setCwnd(socketId: number, bytes: number): void;
  setRate(socketId: number, bytesPerSec: number): void;
  /** Sends one datagram to the agent. Returns `false` when the agent is known to be gone (no socket at its address). */
  send(bytes: Uint8Array): boolean | void;
  /**
   * The agent has not answered this flow for `fallbackTimeoutUs` (`active`
   * true): use the datapath's own congestion control until it is called again
   * with `false`, when the agent answers.
   */
  fallback?(socketId: number, active: boolean): void;
  /** A datagram or message from the agent was rejected, or a program faulted. The datapath keeps going. */
  onError?(err: CcpError, socketId?: number): void;
}

export interface DatapathOptions {
  /** Sent in READY. */
  readonly datapathId?: number;
  /** How long a flow waits for the agent before falling back (default 1 s, as libccp). */
  readonly fallbackTimeoutUs?: number;
  /**
   * Program table slots, as libccp's fixed table: an INSTALL of a new uid
   * past it is rejected (`LimitError`, passed to `onError`); re-installing a
   * uid reuses its slot. Default 256.
   */
  readonly maxPrograms?: number;
  /**
   * How programs run: `'compiled'` (default) turns each installed program
   * into a JavaScript function once; `'interpreter'` is the reference it is
   * tested against. The environment variable `BERTHA_CCP_RUNTIME` sets the
   * default, for cross-checking a whole run (e.g. a simulation) without code changes.
   */
  readonly runtime?: DatapathRuntime;
}

export type DatapathRuntime = 'compiled' | 'interpreter';

function defaultRuntime(): DatapathRuntime {
  const env = typeof process === 'undefined' ? undefined : process.env.BERTHA_CCP_RUNTIME;
  if (env === undefined || env === '' || env === 'compiled') return 'compiled';
  if (env === 'interpreter') return 'interpreter';
  throw new InvalidArgumentError(`BERTHA_CCP_RUNTIME is ${JSON.stringify(env)}: set it to "compiled" or "interpreter", or unset it`);
}

/** A loaded program and how it runs (compiled or interpreted). */
interface InstalledProgram extends LoadedProgram {
  readonly step: ProgramStep;
}

/** Per-ACK signals, read-only to programs (spec §1); missing ones read as 0. */
export interface Primitives {
  /** The flow's current window (bytes) and rate (bytes/s), loaded into Cwnd and Rate before the program runs. */
  readonly cwnd: number;
  readonly rate?: number;
  readonly bytesAcked?: number;
  readonly bytesMisordered?: number;
  readonly ecnBytes?: number;
  readonly ecnPackets?: number;
  readonly lostPktsSample?: number;
  readonly packetsAcked?: number;
  readonly packetsMisordered?: number;
  readonly bytesInFlight?: number;
  readonly bytesPending?: number;
  readonly packetsInFlight?: number;
  readonly rateIncoming?: number;
  readonly rateOutgoing?: number;
  /** 0 (no sample) reads as 0xFFFFFFFF, as in libccp. */
  readonly rttSampleUs?: number;
  readonly wasTimeout?: boolean;
}

export interface DatapathStats {
  messagesReceived: number;
  /** Datagrams or messages from the agent that were rejected (see `onError`). */
  rejected: number;
  arithmeticFaults: number;
  reportsSent: number;
  createsSent: number;
}

/** CREATE is re-sent at most this often while unanswered (libccp's CREATE_TIMEOUT_US). */
export const CREATE_RETRY_US = 100_000;
const DEFAULT_FALLBACK_US = 1_000_000;
const DEFAULT_MAX_PROGRAMS = 256;
const MAX_SOCKET_ID = 0xffff_ffff;
const CWND = Slot.implicit + Implicit.Cwnd;
const RATE = Slot.implicit + Implicit.Rate;

interface Flow extends FlowState {
  readonly info: CreateInfo;
  program: InstalledProgram | undefined;
  staged: InstalledProgram | undefined;
  readonly pendingControl: Map<number, number>;
  pendingCwnd: number | undefined;
  pendingRate: number | undefined;
  /** Any of the above is set (keeps the per-ACK path short). */
  hasStaged: boolean;
  /** The agent answered since CREATE was (re)sent. */
  answered: boolean;
  waitingSince: number;
  lastCreate: number;
  inFallback: boolean;
}

export class Datapath {
  readonly stats: DatapathStats = { messagesReceived: 0, rejected: 0, arithmeticFaults: 0, reportsSent: 0, createsSent: 0 };
  readonly #cb: DatapathCallbacks;
  readonly #fallbackUs: number;
  readonly #maxPrograms: number;
  readonly #datapathId: number;
  readonly #timeZero: number;
  readonly #runtime: DatapathRuntime;
  readonly #programs = new Map<number, InstalledProgram>();
  readonly #flows = new Map<number, Flow>();
  #last: Flow | undefined;
  #nextId = 1;
  /** The agent went away: send READY (rate-limited) before the next CREATE. */
  #needReady = false;
  #lastReady = -Infinity;

  /** Sends READY: the agent forgets this datapath's old flows and installs its programs. */
  constructor(callbacks: DatapathCallbacks, options: DatapathOptions = {}) {
    this.#cb = callbacks;
    this.#fallbackUs = options.fallbackTimeoutUs ?? DEFAULT_FALLBACK_US;
    this.#maxPrograms = options.maxPrograms ?? DEFAULT_MAX_PROGRAMS;
    if (!Number.isInteger(this.#maxPrograms) || this.#maxPrograms < 1) {
      throw new InvalidArgumentError(`maxPrograms must be a positive integer, got ${this.#maxPrograms}`);
    }
    this.#datapathId = options.datapathId ?? 0;
    this.#runtime = options.runtime ?? defaultRuntime();
    this.#timeZero = callbacks.now();
    this.#sendReady(this.#timeZero);
  }

  /** Installed program uids. */
  get programs(): number[] {
    return [...this.#programs.keys()];
  }

  get flowCount(): number {
    return this.#flows.size;
  }

  /** Installs (or replaces) a program. Throws `LimitError` or `InvalidProgramError`. */
  install(uid: number, program: CompiledProgram): void {
    if (!this.#programs.has(uid) && this.#programs.size >= this.#maxPrograms) {
      throw new LimitError(`unable to install program ${uid}: the table's ${this.#maxPrograms} slots are full; install fewer distinct programs or reuse uids`);
    }
    const p = loadProgram(uid, program);
    const compiled = this.#runtime === 'compiled' ? compileProgram(p, this.#cb) : undefined;
    this.#programs.set(uid, { ...p, step: compiled ?? interpreterStep(p, this.#cb) });
  }

  /** How installed programs run (see `DatapathOptions.runtime`). */
  get runtime(): DatapathRuntime {
    return this.#runtime;
  }

  /** Starts a flow, sends CREATE, and returns its socket id (≥ 1). Until the agent answers, `invoke` runs no program. */
  createFlow(info: CreateInfo): number {
    while (this.#flows.has(this.#nextId)) this.#nextId = this.#nextId >= MAX_SOCKET_ID ? 1 : this.#nextId + 1;
    const id = this.#nextId;
    this.#nextId = id >= MAX_SOCKET_ID ? 1 : id + 1;
    const now = this.#cb.now();
    const flow: Flow = {
      id,
      info,
      program: undefined,
      staged: undefined,
      pendingControl: new Map(),
      pendingCwnd: undefined,
      pendingRate: undefined,
      hasStaged: false,
      answered: false,
      waitingSince: now,
      lastCreate: -Infinity,
      inFallback: false,
      bank: new Float64Array(Slot.immediate),
      timeZero: now,
      now,
    };
    // Encode before registering, so a bad CreateInfo (InvalidArgumentError) leaves no flow behind.
    const create = encodeMessage({ type: 'create', socketId: id, ...info });
    this.#flows.set(id, flow);
    this.#sendCreate(flow, now, create);
    return id;
  }

  /** Ends a flow and tells the agent (MEASURE with no fields). */
  closeFlow(socketId: number): void {
    if (!this.#flows.delete(socketId)) throw new UnknownFlowError(socketId);
    if (this.#last?.id === socketId) this.#last = undefined;
    this.#send(encodeMessage({ type: 'close', socketId }));
  }

  /** Whether the flow is using the datapath's own congestion control because the agent did not answer. */
  inFallback(socketId: number): boolean {
    return this.#flow(socketId).inFallback;
  }

  /**
   * Runs the flow's program for one ACK (spec §4). Throws only
   * `UnknownFlowError` (a caller bug); a program fault is counted, passed to
   * `onError` and returned, and the flow goes on.
   */
  invoke(socketId: number, prims: Primitives): ArithmeticFaultError | undefined {
    const f = this.#flow(socketId);
    const now = this.#cb.now();
    if (!f.answered) {
      if (now - f.lastCreate >= CREATE_RETRY_US) this.#sendCreate(f, now);
      if (!f.inFallback && now - f.waitingSince >= this.#fallbackUs) this.#setFallback(f, true);
    }
    if (f.inFallback) return undefined;
    let cwnd = val(prims.cwnd);
    let rate = val(prims.rate);
    if (f.hasStaged) {
      this.#applyStaged(f, now, cwnd, rate);
      cwnd = f.bank[CWND]!;
      rate = f.bank[RATE]!;
    }
    const p = f.program;
    if (p === undefined) return undefined;
    let report: number;
    try {
      report = p.step(f, prims, now, val(now - this.#timeZero), cwnd, rate);
    } catch (err) {
      if (!(err instanceof ArithmeticFaultError)) throw err;
      this.stats.arithmeticFaults++;
      this.#cb.onError?.(err, socketId);
      return err;
    }
    if (report !== 0) this.#report(f, p);
    return undefined;
  }

  /** Sends the flow's Report registers in a MEASURE and resets the volatile ones. */
  #report(f: Flow, p: InstalledProgram): void {
    const b = f.bank;
    const fields = Array.from(b.subarray(Slot.report, Slot.report + p.reportCount));
    this.stats.reportsSent++;
    this.#send(encodeMessage({ type: 'measure', socketId: f.id, programUid: p.uid, fields }));
    resetVolatile(p, b);
  }

  /** Handles one datagram from the agent. Never throws: rejected input is counted and passed to `onError`. */
  receive(datagram: Uint8Array): void {
    let msgs: CcpMessage[];
    try {
      msgs = decodeMessages(datagram);
    } catch (err) {
      this.#reject(err);
      return;
    }
    for (const msg of msgs) {
      try {
        this.handleMessage(msg);
      } catch (err) {
        this.#reject(err, 'socketId' in msg ? msg.socketId : undefined);
      }
    }
  }

  /**
   * Handles one decoded message. Any message for a flow counts as the agent's
   * answer to its CREATE. Throws `UnknownFlowError`, `UnknownProgramError`,
   * `InvalidUpdateError`, `LimitError`, `InvalidProgramError`; a rejected
   * message changes nothing.
   */
  handleMessage(msg: CcpMessage): void {
    this.stats.messagesReceived++;
    this.#needReady = false;
    switch (msg.type) {
      case 'install':
        this.install(msg.programUid, msg.program);
        return;
      case 'updateFields': {
        const f = this.#answered(msg.socketId);
        msg.updates.forEach(checkUpdate);
        this.#stage(f, msg.updates);
        return;
      }
      case 'changeProg': {
        const f = this.#answered(msg.socketId);
        msg.updates.forEach(checkUpdate);
        const p = this.#programs.get(msg.programUid);
        if (p === undefined) throw new UnknownProgramError(msg.programUid);
        // Updates staged for the old program are meaningless for the new one (as libccp).
        f.pendingControl.clear();
        f.pendingCwnd = f.pendingRate = undefined;
        f.staged = p;
        this.#stage(f, msg.updates);
        return;
      }
      default:
        throw new IpcDecodeError(`a datapath does not accept ${msg.type} messages: they go from datapath to agent`);
    }
  }

  #flow(socketId: number): Flow {
    // ACKs come in runs of one flow: a one-entry cache saves the map lookup on the per-ACK path.
    const last = this.#last;
    if (last !== undefined && last.id === socketId) return last;
    const f = this.#flows.get(socketId);
    if (f === undefined) throw new UnknownFlowError(socketId);
    this.#last = f;
    return f;
  }

  #answered(socketId: number): Flow {
    const f = this.#flow(socketId);
    if (!f.answered) {
      f.answered = true;
      if (f.inFallback) this.#setFallback(f, false);
    }
    return f;
  }

  #setFallback(f: Flow, active: boolean): void {
    f.inFallback = active;
    this.#cb.fallback?.(f.id, active);
  }

  #stage(f: Flow, updates: readonly UpdateField[]): void {
    f.hasStaged = true;
    for (const u of updates) {
      if (u.regType === RegType.Implicit) {
        if (u.regIndex === Implicit.Cwnd) f.pendingCwnd = u.value;
        else f.pendingRate = u.value;
      } else {
        f.pendingControl.set(u.regIndex, u.value);
      }
    }
  }

  /**
   * Spec §4 steps 1–2 when something is staged: Cwnd and Rate ← the flow's
   * values, a staged program change, then staged updates (pushing cwnd/rate
   * now when non-zero). The Cwnd and Rate registers hold the result.
   */
  #applyStaged(f: Flow, now: number, cwnd: number, rate: number): void {
    f.hasStaged = false;
    f.bank[CWND] = cwnd;
    f.bank[RATE] = rate;
    if (f.staged !== undefined) {
      // Unlike libccp, locals and tmps are cleared too: nothing leaks from the previous program.
      f.bank = initBank(f.staged, f.bank);
      f.bank[CWND] = cwnd;
      f.bank[RATE] = rate;
      f.program = f.staged;
      f.staged = undefined;
      f.timeZero = now;
    }
    for (const [idx, v] of f.pendingControl) f.bank[Slot.control + idx] = v;
    f.pendingControl.clear();
    if (f.pendingCwnd !== undefined) {
      f.bank[CWND] = f.pendingCwnd;
      if (f.pendingCwnd !== 0) this.#cb.setCwnd(f.id, f.pendingCwnd);
      f.pendingCwnd = undefined;
    }
    if (f.pendingRate !== undefined) {
      f.bank[RATE] = f.pendingRate;
      if (f.pendingRate !== 0) this.#cb.setRate(f.id, f.pendingRate);
      f.pendingRate = undefined;
    }
  }

  #sendCreate(f: Flow, now: number, bytes = encodeMessage({ type: 'create', socketId: f.id, ...f.info })): void {
    if (this.#needReady && now - this.#lastReady >= CREATE_RETRY_US) this.#sendReady(now);
    f.lastCreate = now;
    this.stats.createsSent++;
    this.#send(bytes);
  }

  #sendReady(now: number): void {
    this.#lastReady = now;
    this.#send(encodeMessage({ type: 'ready', datapathId: this.#datapathId }));
  }

  #send(bytes: Uint8Array): void {
    if (this.#cb.send(bytes) !== false) return;
    this.#agentGone();
  }

  /**
   * The agent's address has no socket: every flow waits for a new agent,
   * which will not know them, so READY goes out before the next CREATE.
   * Programs keep running until the fallback timeout.
   */
  #agentGone(): void {
    if (this.#needReady) return;
    this.#needReady = true;
    const now = this.#cb.now();
    for (const f of this.#flows.values()) {
      if (!f.answered) continue;
      f.answered = false;
      f.waitingSince = now;
    }
  }

  #reject(err: unknown, socketId?: number): void {
    if (!(err instanceof CcpError)) throw err;
    this.stats.rejected++;
    this.#cb.onError?.(err, socketId);
  }
}
