/**
 * Byte encoding of the IPC messages (spec §3), little-endian and packed, as
 * libccp and portus expect. Decoding checks every length and count before it
 * reads, so malformed input only ever raises `IpcDecodeError`.
 *
 * Both directions run once per report at the agent, so they write and read
 * one DataView over the whole datagram directly: no per-message arrays,
 * views or closures, and error texts are built only when something fails.
 */
import { InvalidArgumentError, MessageTooLargeError } from '@bertha/core';
import { CcpError, IpcDecodeError } from '../errors.js';
import { Limits, type RegType } from '../program.js';
import { checkProgram, checkUpdate } from '../check.js';
import {
  ALG_NAME_BYTES,
  type CcpMessage,
  EVENT_BYTES,
  HEADER_BYTES,
  INSTRUCTION_BYTES,
  MAX_DATAGRAM_BYTES,
  MAX_VALUE,
  MsgType,
  UPDATE_FIELD_BYTES,
  type UpdateField,
} from './messages.js';
import { decodeProgramBody, encodeProgramBody } from '../lang/encode.js';

const MAX_MSG_BYTES = 0xffff; // totalLen is a u16
const CREATE_BYTES = HEADER_BYTES + 6 * 4 + ALG_NAME_BYTES;
const MEASURE_HEAD = HEADER_BYTES + 8;
const INSTALL_HEAD = HEADER_BYTES + 12;
const UPDATE_HEAD = HEADER_BYTES + 4;
const CHANGE_HEAD = HEADER_BYTES + 8;
const READY_BYTES = HEADER_BYTES + 4;
const TWO_32 = 0x1_0000_0000;

const WIRE_TYPE: Record<CcpMessage['type'], MsgType> = {
  create: MsgType.Create,
  measure: MsgType.Measure,
  close: MsgType.Measure,
  install: MsgType.InstallExpr,
  updateFields: MsgType.UpdateFields,
  changeProg: MsgType.ChangeProg,
  ready: MsgType.Ready,
};

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Wire size of a message, after checking what could make it unencodable. */
function sizeOf(msg: CcpMessage): number {
  switch (msg.type) {
    case 'create':
      return CREATE_BYTES;
    case 'measure':
      if (msg.fields.length === 0) throw new InvalidArgumentError('a MEASURE needs at least one field (an empty one means close): send { type: "close" } instead');
      return MEASURE_HEAD + 8 * msg.fields.length;
    case 'close':
      return MEASURE_HEAD;
    case 'install':
      return INSTALL_HEAD + EVENT_BYTES * msg.program.events.length + INSTRUCTION_BYTES * msg.program.instructions.length;
    case 'updateFields':
      return UPDATE_HEAD + UPDATE_FIELD_BYTES * msg.updates.length;
    case 'changeProg':
      return CHANGE_HEAD + UPDATE_FIELD_BYTES * msg.updates.length;
    case 'ready':
      return READY_BYTES;
  }
}

const isU64 = (v: number): boolean => Number.isInteger(v) && v >= 0 && v <= MAX_VALUE;

function u32(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value >= TWO_32) throw new InvalidArgumentError(`${what} must be an integer in 0..2^32-1, got ${value}`);
  return value;
}

function badU64(value: number, what: string): never {
  throw new InvalidArgumentError(`${what} must be an integer in 0..2^53-1, got ${value}`);
}

function setU64(view: DataView, o: number, value: number): void {
  view.setUint32(o, value % TWO_32, true);
  view.setUint32(o + 4, Math.floor(value / TWO_32), true);
}

function socketIdOf(msg: CcpMessage): number {
  if (msg.type === 'ready') return 0;
  if (msg.type !== 'install' && msg.socketId === 0) throw new InvalidArgumentError(`${msg.type} needs a socket id >= 1`);
  return u32(msg.socketId, 'socketId');
}

function writeUpdates(view: DataView, o: number, updates: readonly UpdateField[]): void {
  for (let i = 0; i < updates.length; i++, o += UPDATE_FIELD_BYTES) {
    const u = updates[i]!;
    view.setUint8(o, u.regType);
    view.setUint32(o + 1, u32(u.regIndex, 'regIndex'), true);
    if (!isU64(u.value)) badU64(u.value, 'update value');
    setU64(view, o + 5, u.value);
  }
}

function writeMessage(view: DataView, off: number, msg: CcpMessage, len: number): void {
  view.setUint16(off, WIRE_TYPE[msg.type], true);
  view.setUint16(off + 2, len, true);
  view.setUint32(off + 4, socketIdOf(msg), true);
  const b = off + HEADER_BYTES;
  switch (msg.type) {
    case 'create': {
      view.setUint32(b, u32(msg.initCwnd, 'initCwnd'), true);
      view.setUint32(b + 4, u32(msg.mss, 'mss'), true);
      view.setUint32(b + 8, u32(msg.srcIp, 'srcIp'), true);
      view.setUint32(b + 12, u32(msg.srcPort, 'srcPort'), true);
      view.setUint32(b + 16, u32(msg.dstIp, 'dstIp'), true);
      view.setUint32(b + 20, u32(msg.dstPort, 'dstPort'), true);
      const name = utf8.encode(msg.algorithm);
      // Always leave a NUL: portus panics on names without one.
      if (name.length >= ALG_NAME_BYTES) throw new InvalidArgumentError(`algorithm name "${msg.algorithm}" is ${name.length} bytes: at most ${ALG_NAME_BYTES - 1}`);
      new Uint8Array(view.buffer, view.byteOffset + b + 24, ALG_NAME_BYTES).set(name);
      return;
    }
    case 'measure': {
      const { fields } = msg;
      view.setUint32(b, u32(msg.programUid, 'programUid'), true);
      view.setUint32(b + 4, fields.length, true);
      for (let i = 0, o = b + 8; i < fields.length; i++, o += 8) {
        const v = fields[i]!;
        if (!isU64(v)) badU64(v, `field ${i}`);
        setU64(view, o, v);
      }
      return;
    }
    case 'close':
      return; // uid 0, n 0: the buffer is zeroed
    case 'install': {
      const p = msg.program;
      try {
        checkProgram(p);
      } catch (err) {
        throw new InvalidArgumentError(`cannot encode program ${msg.programUid}: ${(err as Error).message}`);
      }
      view.setUint32(b, u32(msg.programUid, 'programUid'), true);
      view.setUint32(b + 4, p.events.length, true);
      view.setUint32(b + 8, p.instructions.length, true);
      encodeProgramBody(p, view, b + 12);
      return;
    }
    case 'updateFields':
      view.setUint32(b, msg.updates.length, true);
      writeUpdates(view, b + 4, msg.updates);
      return;
    case 'changeProg':
      view.setUint32(b, u32(msg.programUid, 'programUid'), true);
      view.setUint32(b + 4, msg.updates.length, true);
      writeUpdates(view, b + 8, msg.updates);
      return;
    case 'ready':
      view.setUint32(b, u32(msg.datapathId, 'datapathId'), true);
      return;
  }
}

/** `sizeOf`, refusing a message longer than its u16 length field. */
function checkedSize(msg: CcpMessage): number {
  const n = sizeOf(msg);
  if (n > MAX_MSG_BYTES) throw new MessageTooLargeError(n, MAX_MSG_BYTES, `${msg.type} message`);
  return n;
}

/**
 * Messages are written here, then copied out. A fresh small Uint8Array lives
 * on the JS heap, but a DataView over it (or a fresh ArrayBuffer) costs a
 * backing-store allocation several times the price of the whole encoding.
 */
const scratch = new Uint8Array(MAX_DATAGRAM_BYTES);
const scratchView = new DataView(scratch.buffer);

/** Encodes several messages back to back into one datagram. Throws `InvalidArgumentError` for values the wire cannot carry. */
export function encodeMessages(msgs: readonly CcpMessage[]): Uint8Array {
  let total = 0;
  for (let i = 0; i < msgs.length; i++) total += checkedSize(msgs[i]!);
  if (total > MAX_DATAGRAM_BYTES) throw new MessageTooLargeError(total, MAX_DATAGRAM_BYTES, 'IPC datagram');
  scratch.fill(0, 0, total);
  for (let i = 0, off = 0; i < msgs.length; i++) {
    const m = msgs[i]!;
    const len = sizeOf(m);
    writeMessage(scratchView, off, m, len);
    off += len;
  }
  return scratch.slice(0, total);
}

/** Encodes one message as a datagram of its own. */
export function encodeMessage(msg: CcpMessage): Uint8Array {
  const len = checkedSize(msg);
  scratch.fill(0, 0, len);
  writeMessage(scratchView, 0, msg, len);
  return scratch.slice(0, len); // a single message (< 64 KiB) always fits one datagram
}

/** Why one message is malformed; `decodeMessages` turns it into an `IpcDecodeError` that says where. */
class Malformed extends Error {}

function malformed(why: string): never {
  throw new Malformed(why);
}

/** Reads a u64, saturating at 2^53 − 1 (see `MAX_VALUE`). */
function readU64(view: DataView, o: number): number {
  const hi = view.getUint32(o + 4, true);
  const v = hi * TWO_32 + view.getUint32(o, true);
  return v > MAX_VALUE ? MAX_VALUE : v;
}

function readUpdates(view: DataView, o: number, n: number): UpdateField[] {
  const updates: UpdateField[] = [];
  for (let i = 0; i < n; i++, o += UPDATE_FIELD_BYTES) {
    const u: UpdateField = { regType: view.getUint8(o) as RegType, regIndex: view.getUint32(o + 1, true), value: readU64(view, o + 5) };
    try {
      checkUpdate(u);
    } catch (err) {
      malformed(`update ${i}: ${(err as Error).message}`);
    }
    updates.push(u);
  }
  return updates;
}

function wrongLength(len: number, want: number, what: string): never {
  return malformed(`length ${len} does not match ${want} bytes for ${what}`);
}

function flowId(socketId: number): number {
  if (socketId === 0) malformed('socket id 0: flows are numbered from 1');
  return socketId;
}

/** Decodes the message of `len` bytes at `off` (its length field already checked against the datagram). */
function decodeOne(bytes: Uint8Array, view: DataView, off: number, len: number): CcpMessage {
  const type = view.getUint16(off, true);
  const socketId = view.getUint32(off + 4, true);
  const b = off + HEADER_BYTES;
  switch (type) {
    case MsgType.Create: {
      if (len !== CREATE_BYTES) wrongLength(len, CREATE_BYTES, 'CREATE');
      flowId(socketId);
      const nameBytes = bytes.subarray(b + 24, b + 24 + ALG_NAME_BYTES);
      const nul = nameBytes.indexOf(0);
      let algorithm: string;
      try {
        algorithm = utf8Strict.decode(nul < 0 ? nameBytes : nameBytes.subarray(0, nul));
      } catch {
        return malformed('algorithm name is not valid UTF-8');
      }
      return {
        type: 'create',
        socketId,
        initCwnd: view.getUint32(b, true),
        mss: view.getUint32(b + 4, true),
        srcIp: view.getUint32(b + 8, true),
        srcPort: view.getUint32(b + 12, true),
        dstIp: view.getUint32(b + 16, true),
        dstPort: view.getUint32(b + 20, true),
        algorithm,
      };
    }
    case MsgType.Measure: {
      if (len < MEASURE_HEAD) malformed(`MEASURE of ${len} bytes is shorter than its ${MEASURE_HEAD}-byte head`);
      flowId(socketId);
      const programUid = view.getUint32(b, true);
      const n = view.getUint32(b + 4, true);
      if (n > Limits.maxReportRegisters) malformed(`MEASURE with ${n} fields: at most ${Limits.maxReportRegisters}`);
      const want = MEASURE_HEAD + 8 * n;
      if (len !== want) wrongLength(len, want, `MEASURE with ${n} fields`);
      if (n === 0) return { type: 'close', socketId };
      const fields: number[] = [];
      for (let i = 0, o = b + 8; i < n; i++, o += 8) fields.push(readU64(view, o));
      return { type: 'measure', socketId, programUid, fields };
    }
    case MsgType.InstallExpr: {
      if (len < INSTALL_HEAD) malformed(`INSTALL_EXPR of ${len} bytes is shorter than its ${INSTALL_HEAD}-byte head`);
      const programUid = view.getUint32(b, true);
      const numEvents = view.getUint32(b + 4, true);
      const numInstrs = view.getUint32(b + 8, true);
      if (numEvents > Limits.maxEvents) malformed(`INSTALL_EXPR with ${numEvents} events: at most ${Limits.maxEvents}`);
      if (numInstrs >= Limits.maxInstructions) malformed(`INSTALL_EXPR with ${numInstrs} instructions: at most ${Limits.maxInstructions - 1}`);
      const want = INSTALL_HEAD + EVENT_BYTES * numEvents + INSTRUCTION_BYTES * numInstrs;
      if (len !== want) wrongLength(len, want, `${numEvents} events and ${numInstrs} instructions`);
      try {
        const program = decodeProgramBody(view, b + 12, numEvents, numInstrs);
        checkProgram(program); // what the interpreter relies on beyond the wire format (DEF prologue, Report numbering)
        return { type: 'install', socketId, programUid, program };
      } catch (err) {
        if (!(err instanceof CcpError)) throw err;
        return malformed(`program ${programUid}: ${err.message}`);
      }
    }
    case MsgType.UpdateFields: {
      if (len < UPDATE_HEAD) malformed(`UPDATE_FIELDS of ${len} bytes is shorter than its ${UPDATE_HEAD}-byte head`);
      flowId(socketId);
      const n = view.getUint32(b, true);
      const want = UPDATE_HEAD + UPDATE_FIELD_BYTES * n;
      if (len !== want) wrongLength(len, want, `UPDATE_FIELDS with ${n} updates`);
      return { type: 'updateFields', socketId, updates: readUpdates(view, b + 4, n) };
    }
    case MsgType.ChangeProg: {
      if (len < CHANGE_HEAD) malformed(`CHANGE_PROG of ${len} bytes is shorter than its ${CHANGE_HEAD}-byte head`);
      flowId(socketId);
      const programUid = view.getUint32(b, true);
      const n = view.getUint32(b + 4, true);
      const want = CHANGE_HEAD + UPDATE_FIELD_BYTES * n;
      if (len !== want) wrongLength(len, want, `CHANGE_PROG with ${n} updates`);
      return { type: 'changeProg', socketId, programUid, updates: readUpdates(view, b + 8, n) };
    }
    case MsgType.Ready:
      if (len !== READY_BYTES) wrongLength(len, READY_BYTES, 'READY');
      return { type: 'ready', datapathId: view.getUint32(b, true) };
    default:
      return malformed(`unknown message type ${type}`);
  }
}

/**
 * Decodes every message of one datagram. Throws `IpcDecodeError` (and
 * nothing else) if any part is malformed; the whole datagram is then rejected.
 */
export function decodeMessages(bytes: Uint8Array): CcpMessage[] {
  const size = bytes.length;
  if (size > MAX_DATAGRAM_BYTES) throw new IpcDecodeError(`datagram of ${size} bytes exceeds ${MAX_DATAGRAM_BYTES}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, size);
  const msgs: CcpMessage[] = [];
  let off = 0;
  try {
    while (off < size) {
      if (size - off < HEADER_BYTES) malformed(`${size - off} bytes left, less than an ${HEADER_BYTES}-byte header`);
      const len = view.getUint16(off + 2, true);
      if (len < HEADER_BYTES) malformed(`length field ${len} is smaller than the header`);
      if (len > size - off) malformed(`length field ${len} runs past the end (${size - off} bytes left): truncated`);
      msgs.push(decodeOne(bytes, view, off, len));
      off += len;
    }
  } catch (err) {
    if (!(err instanceof Malformed)) throw err;
    throw new IpcDecodeError(`message ${msgs.length} at byte ${off}: ${err.message}; datagram of ${size} bytes dropped`);
  }
  if (msgs.length === 0) throw new IpcDecodeError('empty datagram');
  return msgs;
}
