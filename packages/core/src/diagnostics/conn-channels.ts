/**
 * What core publishes on `node:diagnostics_channel` about connections. Each
 * message is built only when someone subscribes (`hasSubscribers`), so a
 * process that does not listen pays one property read per open and close.
 */
import { channel } from 'node:diagnostics_channel';
import type { Role } from '../chunnel.js';
import type { Conn } from '../conn/conn.js';
import type { BaseConn, TransportKind } from '../base/transport.js';

/** `bertha:conn:open`: a transport opened (`role: 'client'`) or accepted (`role: 'server'`) a base connection. */
export interface BaseConnOpenMessage {
  readonly layer: 'base';
  readonly conn: BaseConn;
  readonly transport: TransportKind;
  readonly role: Role;
}

/**
 * `bertha:conn:open`: `wrap()` built a stack over `inner`. Its end is the end
 * of the connection below (each Chunnel closes what it wraps), so it has no
 * close message of its own: a base `inner` publishes one.
 */
export interface StackOpenMessage {
  readonly layer: 'stack';
  readonly conn: Conn<unknown>;
  readonly inner: Conn<unknown>;
  /** Chunnel names, application side first. */
  readonly stack: readonly string[];
  readonly role: Role;
}

export type ConnOpenMessage = BaseConnOpenMessage | StackOpenMessage;

/** `bertha:conn:close`: a base connection closed, here (`close()`) or by the peer or the socket below. */
export interface ConnCloseMessage {
  readonly layer: 'base';
  readonly conn: BaseConn;
  readonly transport: TransportKind;
  /** `local`: `close()` was called on it; `peer`: the peer closed it or the socket failed. */
  readonly by: 'local' | 'peer';
  /** For `by: 'peer'`: what its reads end with (a `ConnClosedError` saying why). */
  readonly error: Error | undefined;
}

export const CONN_OPEN = 'bertha:conn:open';
export const CONN_CLOSE = 'bertha:conn:close';

const openChannel = channel(CONN_OPEN);
const closeChannel = channel(CONN_CLOSE);

export function publishBaseOpen(conn: BaseConn, transport: TransportKind, role: Role): void {
  if (openChannel.hasSubscribers) openChannel.publish({ layer: 'base', conn, transport, role } satisfies BaseConnOpenMessage);
}

export function publishStackOpen(conn: Conn<unknown>, inner: Conn<unknown>, stack: () => readonly string[], role: Role): void {
  if (openChannel.hasSubscribers) openChannel.publish({ layer: 'stack', conn, inner, stack: stack(), role } satisfies StackOpenMessage);
}

/** `error` may be a function that makes it: it is called only if someone listens. */
export function publishClose(conn: BaseConn, transport: TransportKind, by: 'local' | 'peer', error?: Error | (() => Error)): void {
  if (!closeChannel.hasSubscribers) return;
  closeChannel.publish({ layer: 'base', conn, transport, by, error: typeof error === 'function' ? error() : error } satisfies ConnCloseMessage);
}
