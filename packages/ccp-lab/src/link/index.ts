export { TraceError } from './errors.js';
export { SHIPPED_TRACES, TRACE_MTU_BYTES, Trace, constantTrace, loadTrace, parseTrace, shippedTrace, type ShippedTraceName } from './trace.js';
export { Link, type LinkOptions, type LinkStats, type Packet, type QueueDelaySample } from './link.js';
export { Dumbbell, type DumbbellOptions, type FlowPacket } from './dumbbell.js';
export { EmulatedLinkConn, emulatedLink, type EmulatedLinkOptions } from './emulated-link.js';
