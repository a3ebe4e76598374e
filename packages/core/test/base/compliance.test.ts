import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { mem, memNetwork, tcp, transport, udp, unix } from '@bertha/core';
import { describeTransportCompliance } from '@bertha/core/testing';

const dir = mkdtempSync(join(tmpdir(), 'bertha-unix-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

describeTransportCompliance('udp', () => udp(), { address: () => ({ host: '127.0.0.1', port: 0 }), connectionOriented: false });
describeTransportCompliance('udp over IPv6', () => transport('udp'), { address: () => ({ host: '::1', port: 0 }), connectionOriented: false });
describeTransportCompliance('tcp', () => tcp({ maxFrameSize: 1 << 20 }), { address: () => ({ host: '127.0.0.1', port: 0 }), connectionOriented: true });
describeTransportCompliance('unix', () => unix({ maxFrameSize: 1 << 20 }), { address: () => ({ path: join(dir, `s${++n}.sock`) }), connectionOriented: true });
describeTransportCompliance('mem', () => mem(memNetwork()), { address: () => ({ name: '' }), connectionOriented: true });
describeTransportCompliance('mem (shared network)', () => transport('mem'), { address: () => ({ name: `svc-${++n}` }), connectionOriented: true });
