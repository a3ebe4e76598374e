export * from './errors.js';
export type { CallOptions, Conn, ConnStats } from './conn/conn.js';
export { MessageQueue } from './conn/message-queue.js';
export { AbstractConn, iterateConn } from './conn/abstract-conn.js';
export { MappedConn, type Codec } from './conn/map-conn.js';
export * from './capability.js';
export type { AnyChunnel, Chunnel, InnerOf, NameOf, OuterOf, PickedInfo, Role, WrapContext } from './chunnel.js';
export type * from './base/transport.js';
