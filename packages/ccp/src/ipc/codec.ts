/**
 * Byte encoding of the IPC messages (spec §3), little-endian and packed, as
 * libccp and portus expect. Decoding checks every length and count before it
 * reads, so malformed input only ever raises `IpcDecodeError`.
 */
import { InvalidArgumentError, MessageTooLargeError } from '@bertha/core';
import { CcpError, IpcDecodeError } from '../errors.js';
import { Limits, type RegType } from '../program.js';
import { checkProgram, checkUpdate } from '../datapath/check.js';
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

function u32(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value >= TWO_32) throw new InvalidArgumentError(`${what} must be an integer in 0..2^32-1, got ${value}`);
  return value;
}

function u64(view: DataView, o: number, value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_VALUE) throw new InvalidArgumentError(`${what} must be an integer in 0..2^53-1, got ${value}`);
  view.setUint32(o, value % TWO_32, true);
  view.setUint32(o + 4, Math.floor(value / TWO_32), true);
}

function socketIdOf(msg: CcpMessage): number {
  if (msg.type === 'ready') return 0;
  if (msg.type !== 'install' && msg.socketId === 0) throw new InvalidArgumentError(`${msg.type} needs a socket id >= 1`);
  return u32(msg.socketId, 'socketId');
}

function writeUpdates(view: DataView, o: number, updates: readonly UpdateField[]): void {
  for (const u of updates) {
    view.setUint8(o, u.regType);
    view.setUint32(o + 1, u32(u.regIndex, 'regIndex'), true);
    u64(view, o + 5, u.value, 'update value');
    o += UPDATE_FIELD_BYTES;
  }
}

function writeMessage(view: DataView, off: number, msg: CcpMessage, len: number): void {
  view.setUint16(off, WIRE_TYPE[msg.type], true);
  view.setUint16(off + 2, len, true);
  view.setUint32(off + 4, socketIdOf(msg), true);
  const b = off + HEADER_BYTES;
  switch (msg.type) {
    case 'create': {
      const fields = [msg.initCwnd, msg.mss, msg.srcIp, msg.srcPort, msg.dstIp, msg.dstPort];
      const names = ['initCwnd', 'mss', 'srcIp', 'srcPort', 'dstIp', 'dstPort'];
      fields.forEach((v, i) => view.setUint32(b + 4 * i, u32(v, names[i] ?? ''), true));
      const name = utf8.encode(msg.algorithm);
      // Always leave a NUL: portus panics on names without one.
      if (name.length >= ALG_NAME_BYTES) throw new InvalidArgumentError(`algorithm name "${msg.algorithm}" is ${name.length} bytes: at most ${ALG_NAME_BYTES - 1}`);
      new Uint8Array(view.buffer, view.byteOffset + b + 24, ALG_NAME_BYTES).set(name);
      return;
    }
    case 'measure':
      view.setUint32(b, u32(msg.programUid, 'programUid'), true);
      view.setUint32(b + 4, msg.fields.length, true);
      msg.fields.forEach((v, i) => u64(view, b + 8 + 8 * i, v, `field ${i}`));
      return;
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

/** Encodes several messages back to back into one datagram. Throws `InvalidArgumentError` for values the wire cannot carry. */
export function encodeMessages(msgs: readonly CcpMessage[]): Uint8Array {
  const sizes = msgs.map((m) => {
    const n = sizeOf(m);
    if (n > MAX_MSG_BYTES) throw new MessageTooLargeError(n, MAX_MSG_BYTES, `${m.type} message`);
    return n;
  });
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total > MAX_DATAGRAM_BYTES) throw new MessageTooLargeError(total, MAX_DATAGRAM_BYTES, 'IPC datagram');
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let off = 0;
  msgs.forEach((m, i) => {
    const len = sizes[i]!;
    writeMessage(view, off, m, len);
    off += len;
  });
  return out;
}

export function encodeMessage(msg: CcpMessage): Uint8Array {
  return encodeMessages([msg]);
}

/** Reads a u64, saturating at 2^53 − 1 (see `MAX_VALUE`). */
function readU64(view: DataView, o: number): number {
  const hi = view.getUint32(o + 4, true);
  const v = hi * TWO_32 + view.getUint32(o, true);
  return v > MAX_VALUE ? MAX_VALUE : v;
}

function readUpdates(view: DataView, o: number, n: number, fail: (why: string) => never): UpdateField[] {
  const updates: UpdateField[] = [];
  for (let i = 0; i < n; i++, o += UPDATE_FIELD_BYTES) {
    const u: UpdateField = { regType: view.getUint8(o) as RegType, regIndex: view.getUint32(o + 1, true), value: readU64(view, o + 5) };
    try {
      checkUpdate(u);
    } catch (err) {
      fail(`update ${i}: ${(err as Error).message}`);
    }
    updates.push(u);
  }
  return updates;
}

function expectLength(len: number, want: number, what: string, fail: (why: string) => never): void {
  if (len !== want) fail(`length ${len} does not match ${want} bytes for ${what}`);
}

/** Decodes one message; `view` spans exactly its `totalLen` bytes. */
function decodeOne(view: DataView, fail: (why: string) => never): CcpMessage {
  const type = view.getUint16(0, true);
  const len = view.byteLength;
  const socketId = view.getUint32(4, true);
  const b = HEADER_BYTES;
  const needsFlow = () => {
    if (socketId === 0) fail('socket id 0: flows are numbered from 1');
  };
  switch (type) {
    case MsgType.Create: {
      expectLength(len, CREATE_BYTES, 'CREATE', fail);
      needsFlow();
      const nameBytes = new Uint8Array(view.buffer, view.byteOffset + b + 24, ALG_NAME_BYTES);
      const nul = nameBytes.indexOf(0);
      let algorithm: string;
      try {
        algorithm = utf8Strict.decode(nul < 0 ? nameBytes : nameBytes.subarray(0, nul));
      } catch {
        fail('algorithm name is not valid UTF-8');
      }
      const f = (i: number) => view.getUint32(b + 4 * i, true);
      return { type: 'create', socketId, initCwnd: f(0), mss: f(1), srcIp: f(2), srcPort: f(3), dstIp: f(4), dstPort: f(5), algorithm };
    }
    case MsgType.Measure: {
      if (len < MEASURE_HEAD) fail(`MEASURE of ${len} bytes is shorter than its ${MEASURE_HEAD}-byte head`);
      needsFlow();
      const programUid = view.getUint32(b, true);
      const n = view.getUint32(b + 4, true);
      if (n > Limits.maxReportRegisters) fail(`MEASURE with ${n} fields: at most ${Limits.maxReportRegisters}`);
      expectLength(len, MEASURE_HEAD + 8 * n, `MEASURE with ${n} fields`, fail);
      if (n === 0) return { type: 'close', socketId };
      const fields: number[] = [];
      for (let i = 0; i < n; i++) fields.push(readU64(view, b + 8 + 8 * i));
      return { type: 'measure', socketId, programUid, fields };
    }
    case MsgType.InstallExpr: {
      if (len < INSTALL_HEAD) fail(`INSTALL_EXPR of ${len} bytes is shorter than its ${INSTALL_HEAD}-byte head`);
      const programUid = view.getUint32(b, true);
      const numEvents = view.getUint32(b + 4, true);
      const numInstrs = view.getUint32(b + 8, true);
      if (numEvents > Limits.maxEvents) fail(`INSTALL_EXPR with ${numEvents} events: at most ${Limits.maxEvents}`);
      if (numInstrs >= Limits.maxInstructions) fail(`INSTALL_EXPR with ${numInstrs} instructions: at most ${Limits.maxInstructions - 1}`);
      expectLength(len, INSTALL_HEAD + EVENT_BYTES * numEvents + INSTRUCTION_BYTES * numInstrs, `${numEvents} events and ${numInstrs} instructions`, fail);
      try {
        const program = decodeProgramBody(view, b + 12, numEvents, numInstrs);
        checkProgram(program); // what the interpreter relies on beyond the wire format (DEF prologue, Report numbering)
        return { type: 'install', socketId, programUid, program };
      } catch (err) {
        if (!(err instanceof CcpError)) throw err;
        return fail(`program ${programUid}: ${err.message}`);
      }
    }
    case MsgType.UpdateFields: {
      if (len < UPDATE_HEAD) fail(`UPDATE_FIELDS of ${len} bytes is shorter than its ${UPDATE_HEAD}-byte head`);
      needsFlow();
      const n = view.getUint32(b, true);
      expectLength(len, UPDATE_HEAD + UPDATE_FIELD_BYTES * n, `UPDATE_FIELDS with ${n} updates`, fail);
      return { type: 'updateFields', socketId, updates: readUpdates(view, b + 4, n, fail) };
    }
    case MsgType.ChangeProg: {
      if (len < CHANGE_HEAD) fail(`CHANGE_PROG of ${len} bytes is shorter than its ${CHANGE_HEAD}-byte head`);
      needsFlow();
      const programUid = view.getUint32(b, true);
      const n = view.getUint32(b + 4, true);
      expectLength(len, CHANGE_HEAD + UPDATE_FIELD_BYTES * n, `CHANGE_PROG with ${n} updates`, fail);
      return { type: 'changeProg', socketId, programUid, updates: readUpdates(view, b + 8, n, fail) };
    }
    case MsgType.Ready:
      expectLength(len, READY_BYTES, 'READY', fail);
      return { type: 'ready', datapathId: view.getUint32(b, true) };
    default:
      return fail(`unknown message type ${type}`);
  }
}

/**
 * Decodes every message of one datagram. Throws `IpcDecodeError` (and
 * nothing else) if any part is malformed; the whole datagram is then rejected.
 */
export function decodeMessages(bytes: Uint8Array): CcpMessage[] {
  if (bytes.length > MAX_DATAGRAM_BYTES) throw new IpcDecodeError(`datagram of ${bytes.length} bytes exceeds ${MAX_DATAGRAM_BYTES}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const msgs: CcpMessage[] = [];
  let off = 0;
  while (off < bytes.length) {
    const at = off;
    const fail = (why: string): never => {
      throw new IpcDecodeError(`message ${msgs.length} at byte ${at}: ${why}; datagram of ${bytes.length} bytes dropped`);
    };
    if (bytes.length - off < HEADER_BYTES) fail(`${bytes.length - off} bytes left, less than an ${HEADER_BYTES}-byte header`);
    const len = view.getUint16(off + 2, true);
    if (len < HEADER_BYTES) fail(`length field ${len} is smaller than the header`);
    if (len > bytes.length - off) fail(`length field ${len} runs past the end (${bytes.length - off} bytes left): truncated`);
    msgs.push(decodeOne(new DataView(bytes.buffer, bytes.byteOffset + off, len), fail));
    off += len;
  }
  if (msgs.length === 0) throw new IpcDecodeError('empty datagram');
  return msgs;
}
